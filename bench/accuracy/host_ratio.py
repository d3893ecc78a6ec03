#!/usr/bin/env python3
"""Do mistpipe plans priced near or past host pacing miss their time more? (CPU only)

    python bench/accuracy/host_ratio.py

For every committed run of a 1-stage mistpipe plan that ran (bench/results/accuracy.json), the cost model's host
work per pass over its GPU window (MistpipeStageCostModel.micro_batch_parts via bench/engine/mistpipe_compare.py
model_parts, with the run's conditions; the larger of forward and backward) beside the run's time error, sorted,
and the |error| median / max below and from RATIO_EDGE (bench/results/runtime/qwen3_S36/README.md)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.engine.mistpipe_compare import model_parts  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost import RunConditions  # noqa: E402

RATIO_EDGE = 0.8


def host_ratio(run: dict, hardware: dict) -> float:
    """Host work over GPU window per pass, the larger of forward and backward, of the run's plan."""
    plan = Plan.load(ROOT / run["plan_path"])
    hw = hardware.setdefault(run["hardware"], load_hardware(run["hardware"]))
    m = model_parts(plan, hw, 0, RunConditions.of_run(plan, RunReport.load(ROOT / run["run_path"])))
    return max(m["host_forward"] / m["mb_forward_wall"], m["host_backward"] / m["mb_backward_wall"])


def main() -> int:
    runs = json.loads((ROOT / "bench/results/accuracy.json").read_text())["runs"]
    hardware: dict = {}
    rows = sorted((host_ratio(r, hardware), r["time_error"], r["name"]) for r in runs
                  if r["status"] == "ok" and r["family"] == "mistpipe" and r["time_error"] is not None
                  and Plan.load(ROOT / r["plan_path"]).num_stages == 1)
    for ratio, error, name in rows:
        print(f"{ratio:5.2f} {100 * error:+6.1f}% {name}")
    for label, part in (("below", [e for q, e, _ in rows if q < RATIO_EDGE]),
                        ("from", [e for q, e, _ in rows if q >= RATIO_EDGE])):
        errors = [abs(e) for e in part]
        print(f"host / GPU {label} {RATIO_EDGE}: {len(errors)} runs, |time error| median "
              f"{100 * statistics.median(errors):.1f}%, max {100 * max(errors):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
