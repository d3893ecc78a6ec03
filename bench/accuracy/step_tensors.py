#!/usr/bin/env python3
"""The ZeRO-0 optimizer step's time beyond its modelled kernels, per parameter tensor (CPU only; session 70).

    PYTHONPATH=$PWD python bench/accuracy/step_tensors.py CASE_DIR/rank0.phases.json [...] [--hardware h100-1gpu-node]

Each argument is a phased run (bench/runtime/phase_train.py) of a stock ZeRO-0 plan, read as
bench/accuracy/phase_vs_model.py reads it. Per run: the measured optimizer step (median over the timed steps'
engine.step), the model's step priced without the profile's per-tensor term (host_step_tensor_overhead_s set to
0), the stage's parameter tensors the model charges it for (its 'param_tensors' term) and the excess per tensor;
last, the median excess per tensor, the value config/hardware.py host_step_tensor_overhead_s takes from these runs.
Exit 2 on bad input, with one line.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.accuracy.phase_vs_model import plan_path, run_conditions  # noqa: E402
from bench.accuracy.writeback_rate import WARMUP  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config import Plan  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.plan_predict import plan_cost_model, predict_plan  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402


def measured_step(phases_path: Path) -> float:
    """Median engine.step of the timed steps (the last micro-batch's), seconds."""
    steps = json.loads(phases_path.read_text())["steps"][WARMUP:]
    if not steps:
        raise ValueError(f"{phases_path}: no timed step")
    return statistics.median(float(step[-1]["step"]) for step in steps)


def excess_per_tensor(phases_path: Path, hw_name: str) -> tuple[str, float, float, int, float]:
    """(case, measured step, model step without the per-tensor term, tensors, excess per tensor)."""
    plan = Plan.load(plan_path(phases_path))
    if plan.memory.zero_stage != 0 or plan.executor != "deepspeed" or len(plan.stages) != 1:
        raise ValueError(f"{phases_path.parent.name}: not a one-stage stock ZeRO-0 plan")
    hw = load_hardware(hw_name).model_copy(update={"host_step_tensor_overhead_s": 0.0})
    conditions = run_conditions(phases_path, plan)
    model = predict_plan(plan, hw, conditions).stages[0].step_s
    tensors = int(plan_cost_model(plan, hw, conditions).terms(plan_stage_args(plan, 0))["param_tensors"])
    step = measured_step(phases_path)
    return phases_path.parent.name, step, model, tensors, (step - model) / tensors


def main(argv: list[str] | None = None) -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("phases", nargs="+", type=Path, help="rank0.phases.json of a phased ZeRO-0 run")
    ap.add_argument("--hardware", default="h100-1gpu-node", help="profile the runs ran on")
    args = ap.parse_args(argv)
    try:
        rows = [excess_per_tensor(path, args.hardware) for path in args.phases]
    except (ValueError, OSError, KeyError) as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    print("| case | step ms | model ms (no per-tensor term) | tensors | excess us per tensor |")
    print("|---|---|---|---|---|")
    for case, step, model, tensors, per in rows:
        print(f"| {case} | {1e3 * step:.1f} | {1e3 * model:.1f} | {tensors} | {1e6 * per:.1f} |")
    print(f"\nmedian excess per tensor: {1e6 * statistics.median(r[4] for r in rows):.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
