"""Render every output file of predicted plans in memory, then write them atomically.

Works for any plan — the winner of a search (autotune, with its ranking and fallback plans) or a
hand-written one (predict --out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mist_ds.config import HardwareProfile, Plan
from mist_ds.config.request import HostLimits
from mist_ds.config.search_stats import SearchStats
from mist_ds.emit.ds_config import build_ds_config
from mist_ds.emit.launch import hostfile_text, launch_script
from mist_ds.emit.plot import plan_png
from mist_ds.emit.ranking import Ranking, ranking_markdown
from mist_ds.emit.report import memory_cap, report_markdown
from mist_ds.fileio import write_files_atomic

OUTPUT_FILES = ("ds_config.json", "hostfile", "launch.sh", "report.md", "plan.png", "plan.json")
OUTPUT_FOLDERS = ("fallback", "hf")
"""Folders autotune writes: fallback/K/ holds the K-th fallback plan (FALLBACK_FILES)."""
FALLBACK_FILES = ("ds_config.json", "hostfile", "report.md", "plan.json")


def ds_config_text(plan: Plan, hardware: HardwareProfile | None = None) -> str:
    """ds_config.json text: sorted keys, two-space indent, trailing newline (`hardware`: the profile the plan
    was predicted on, build_ds_config)."""
    return json.dumps(build_ds_config(plan, hardware=hardware), indent=2, sort_keys=True) + "\n"


def fallback_folder(index: int) -> str:
    """Folder (relative to the output folder) of the index-th fallback plan, 1-based."""
    return f"fallback/{index}"


def _fallback_files(index: int, plan: Plan, hardware: HardwareProfile) -> dict[str, bytes]:
    prefix = fallback_folder(index) + "/"
    return {prefix + "ds_config.json": ds_config_text(plan, hardware).encode(),
            prefix + "hostfile": hostfile_text(plan.cluster).encode(),
            prefix + "report.md": report_markdown([plan], hardware).encode(),
            prefix + "plan.json": plan.to_json().encode()}


def render_outputs(out_dir: Path, plans: Sequence[Plan], hardware: HardwareProfile,
                   stats: SearchStats | None = None, with_png: bool = True, *, ranking: Ranking | None = None,
                   fallbacks: Sequence[Plan] = (), host: HostLimits | None = None) -> dict[str, bytes]:
    """File name -> bytes for plans[0] (the others are listed in report.md) and for each fallback
    plan (fallback/K/...); plan.json last, so it marks a complete folder. Raises before anything is
    written. launch.sh finds its files relative to itself, so `out_dir` does not enter any file."""
    plan = plans[0]
    report = report_markdown(plans, hardware, stats, host)
    if ranking is not None:
        named = [(fallback_folder(i), fb) for i, fb in enumerate(fallbacks, start=1)]
        report += "\n" + ranking_markdown(plans, hardware, ranking, named)
    files = {
        "ds_config.json": ds_config_text(plan, hardware).encode(),
        "hostfile": hostfile_text(plan.cluster).encode(),
        "launch.sh": launch_script(plan.cluster).encode(),
        "report.md": report.rstrip("\n").encode() + b"\n",
    }
    if with_png:
        files["plan.png"] = plan_png(plan, memory_cap(plan, hardware))
    for index, fallback in enumerate(fallbacks, start=1):
        files.update(_fallback_files(index, fallback, hardware))
    files.update(hf_output_files(plan))
    files["plan.json"] = plan.to_json().encode()
    return files


def write_outputs(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write the rendered files (each atomically; launch.sh executable)."""
    write_files_atomic(Path(out_dir), files, executable=frozenset({"launch.sh"}))


# --- Hugging Face Trainer / accelerate files (emit/hf.py) ---------------------------------------------------
HF_FOLDER = OUTPUT_FOLDERS[1]  # "hf"


def hf_output_files(plan: Plan) -> dict[str, bytes]:
    """'hf/<name>' -> bytes of the Hugging Face files for a plan the Trainer can express ({} when the plan
    needs mist_ds's runtime: emit.hf.hf_trainer_blocker says why, and report.md says it too)."""
    from mist_ds.emit.hf import hf_files

    return {f"{HF_FOLDER}/{name}": text.encode() for name, text in hf_files(plan).items()}
