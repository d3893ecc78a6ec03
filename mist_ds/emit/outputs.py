"""Render every output file of a tuned plan in memory, then write them atomically."""

from __future__ import annotations

import json
from pathlib import Path

from mist_ds.config import HardwareProfile, Plan, TuneRequest
from mist_ds.emit.ds_config import build_ds_config
from mist_ds.emit.launch import hostfile_text, launch_script
from mist_ds.emit.plot import plan_png
from mist_ds.emit.report import report_markdown
from mist_ds.fileio import write_files_atomic
from mist_ds.search import Candidate, SearchResult

OUTPUT_FILES = ("ds_config.json", "hostfile", "launch.sh", "report.md", "plan.png", "plan.json")


def ds_config_text(plan: Plan) -> str:
    """ds_config.json text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(build_ds_config(plan), indent=2, sort_keys=True) + "\n"


def render_outputs(out_dir: Path, request: TuneRequest, hardware: HardwareProfile,
                   ranked: list[tuple[Candidate, Plan]], result: SearchResult,
                   with_png: bool = True) -> dict[str, bytes]:
    """File name -> bytes for the winner (ranked[0]); plan.json last, so it marks a complete folder.
    Raises (UnsupportedPlanError, ...) before anything is written."""
    candidate, plan = ranked[0]
    folder = Path(out_dir).resolve()
    files = {
        "ds_config.json": ds_config_text(plan).encode(),
        "hostfile": hostfile_text(plan.cluster).encode(),
        "launch.sh": launch_script(plan.cluster, folder / "hostfile", folder / "plan.json").encode(),
        "report.md": report_markdown(request, hardware, ranked, result).encode(),
    }
    if with_png:
        files["plan.png"] = plan_png(plan, result.memory_cap_bytes, list(candidate.partition.stable_s),
                                     list(candidate.partition.delta_s))
    files["plan.json"] = plan.to_json().encode()
    return files


def write_outputs(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write the rendered files (each atomically; launch.sh executable)."""
    write_files_atomic(Path(out_dir), files, executable=frozenset({"launch.sh"}))
