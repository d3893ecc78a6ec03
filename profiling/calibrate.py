"""Calibrate a hardware profile's two run-derived terms from committed GPU measurements.

    python profiling/calibrate.py --profile h100-sxm-80gb --memory-probe bench/results/cost_memory_h100.json \
        --zero3-run bench/results/gpu_plans/llama-7b-2gpu-zero3.json:bench/results/runs_h200x2_llama-7b-zero3.json

- allocator_overhead_fraction: the smallest max_memory_reserved / max_memory_allocated - 1 over the
  memory-probe runs (the caching allocator never needed less than this on top of the live tensors).
- zero3_fetch_overhead_s: for each (plan, RunReport) pair of an ok ZeRO-3 run, the per-fetch cost that makes
  predict_plan match the measured median iteration time (predicted time is linear in it); the median.
The profile is rewritten in place (atomically) with a note in its provenance saying what was used.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from mist_ds.cli import OneLineParser, run_cli
from mist_ds.config import HardwareProfile, Plan, RunReport
from mist_ds.config.profiles import load_hardware, profile_dirs
from mist_ds.cost import predict_plan

PROBE = 1e-3


def allocator_fraction(probe_file: Path) -> float:
    """Smallest reserved/allocated excess among the memory-probe rows."""
    try:
        rows = json.loads(probe_file.read_text())["plans"]
    except (OSError, json.JSONDecodeError, KeyError) as err:
        raise ValueError(f"cannot read memory-probe rows from {probe_file}: {err}") from None
    return round(min(row["max_reserved_over_max_allocated"] for row in rows) - 1.0, 4)


def zero3_overhead(hw: HardwareProfile, pairs: list[tuple[Path, Path]]) -> float:
    """Median per-fetch overhead implied by ok ZeRO-3 runs."""
    implied = []
    for plan_path, run_path in pairs:
        plan = Plan.load_checked(plan_path, "plan")
        run = RunReport.load_checked(run_path, "run report")
        if run.status != "ok" or run.median_iteration_time_s is None:
            raise ValueError(f"{run_path}: not an ok run")
        if any(stage.zero_stage != 3 for stage in plan.stages):
            raise ValueError(f"{plan_path}: not a ZeRO-3 plan")
        base = predict_plan(plan, hw.model_copy(update={"zero3_fetch_overhead_s": 0.0}))
        probe = predict_plan(plan, hw.model_copy(update={"zero3_fetch_overhead_s": PROBE}))
        per_unit = (probe.iteration_time_s - base.iteration_time_s) / PROBE
        implied.append(max(0.0, (run.median_iteration_time_s - base.iteration_time_s) / per_unit))
    return float(f"{statistics.median(implied):.3g}")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="profiling/calibrate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", required=True, help="profile name (rewritten in place)")
    parser.add_argument("--memory-probe", type=Path, required=True)
    parser.add_argument("--zero3-run", action="append", default=[], help="PLAN.json:RUN.json")
    args = parser.parse_args(argv)
    hw = load_hardware(args.profile)
    pairs = [tuple(Path(p) for p in item.split(":", 1)) for item in args.zero3_run]
    fraction = allocator_fraction(args.memory_probe)
    overhead = zero3_overhead(hw, pairs) if pairs else hw.zero3_fetch_overhead_s
    note = (f" Calibrated (profiling/calibrate.py): allocator_overhead_fraction={fraction} = smallest "
            f"reserved/allocated excess in {args.memory_probe}; zero3_fetch_overhead_s={overhead} from "
            f"{', '.join(item for item in args.zero3_run) or 'no run'} (one 2xH200 run near its memory cap "
            "with allocator cache flushes: an upper estimate).")
    provenance = hw.provenance.model_copy(update={"notes": hw.provenance.notes.split(" Calibrated")[0] + note})
    calibrated = hw.model_copy(update={"allocator_overhead_fraction": fraction,
                                       "zero3_fetch_overhead_s": overhead, "provenance": provenance})
    target = next(d / f"{args.profile}.json" for d in profile_dirs() if (d / f"{args.profile}.json").exists())
    HardwareProfile.model_validate(calibrated.model_dump()).save(target)
    print(f"{target}: allocator_overhead_fraction={fraction}, zero3_fetch_overhead_s={overhead}")
    return 0


if __name__ == "__main__":
    run_cli(main)
