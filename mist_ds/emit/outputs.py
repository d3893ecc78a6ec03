"""Render every output file of predicted plans in memory, then write them atomically.

Works for any plan — the winner of a search (autotune) or a hand-written one (predict --out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mist_ds.config import HardwareProfile, Plan
from mist_ds.emit.ds_config import build_ds_config
from mist_ds.emit.launch import hostfile_text, launch_script
from mist_ds.emit.plot import plan_png
from mist_ds.emit.report import memory_cap, report_markdown
from mist_ds.fileio import write_files_atomic
from mist_ds.search import SearchStats

OUTPUT_FILES = ("ds_config.json", "hostfile", "launch.sh", "report.md", "plan.png", "plan.json")


def ds_config_text(plan: Plan) -> str:
    """ds_config.json text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(build_ds_config(plan), indent=2, sort_keys=True) + "\n"


def render_outputs(out_dir: Path, plans: Sequence[Plan], hardware: HardwareProfile,
                   stats: SearchStats | None = None, with_png: bool = True) -> dict[str, bytes]:
    """File name -> bytes for plans[0] (the others are listed in report.md); plan.json last, so it marks
    a complete folder. Raises before anything is written."""
    plan = plans[0]
    folder = Path(out_dir).resolve()
    files = {
        "ds_config.json": ds_config_text(plan).encode(),
        "hostfile": hostfile_text(plan.cluster).encode(),
        "launch.sh": launch_script(plan.cluster, folder / "hostfile", folder / "plan.json").encode(),
        "report.md": report_markdown(plans, hardware, stats).encode(),
    }
    if with_png:
        files["plan.png"] = plan_png(plan, memory_cap(plan, hardware))
    files["plan.json"] = plan.to_json().encode()
    return files


def write_outputs(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write the rendered files (each atomically; launch.sh executable)."""
    write_files_atomic(Path(out_dir), files, executable=frozenset({"launch.sh"}))


# --- Hugging Face Trainer / accelerate files (emit/hf.py); added by the ecosystem branch -------------------
HF_FOLDER = "hf"


def hf_output_files(plan: Plan) -> dict[str, bytes]:
    """'hf/<name>' -> bytes of the Hugging Face files for a plan the Trainer can express ({} when the plan
    needs mist_ds's runtime: emit.hf.hf_trainer_blocker says why, and report.md says it too)."""
    from mist_ds.emit.hf import hf_files

    return {f"{HF_FOLDER}/{name}": text.encode() for name, text in hf_files(plan).items()}
