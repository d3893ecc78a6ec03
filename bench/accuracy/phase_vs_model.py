#!/usr/bin/env python3
"""Measured forward and backward of a micro-batch beside the cost model's, from unprofiled steps (CPU only).

    python bench/accuracy/phase_vs_model.py CASE_DIR/rank0.phases.json [...] [--hardware h200-1gpu-node]

Each argument is a bench/runtime/phase_train.py output folder's rank file, the folder named after the suite case
it ran (bench/results/accuracy/<case>.plan.json, else a plans/ folder beside or above it; the accuracy folder's
<case>.run.json, when committed, gives the run's conditions: cost/plan_predict.py predict_as_run). Steady
micro-batches only: each step's first forward (its fetches start cold after the optimizer step) and last backward
(it carries the step's boundary work) are left out, as are the warm-up steps. Prints a markdown row per case: the
medians in ms against StagePrediction.microbatch_forward_s / _backward_s, and their sums (phase_train.py
synchronises the device after each phase, so the host cannot run ahead from one into the next: the split is the
runtime's under that barrier, the sum the closer check).
Exit 2 on bad input, with one line.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.accuracy.writeback_rate import PLANS, WARMUP  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.plan_predict import RunConditions, predict_plan  # noqa: E402


def steady_phases(phases_path: Path, warmup: int = WARMUP) -> tuple[list[float], list[float]]:
    """(forwards, backwards) of the timed steps' steady micro-batches, seconds."""
    steps = json.loads(phases_path.read_text())["steps"][warmup:]
    forwards = [float(mb["forward"]) for step in steps for mb in step[1:]]
    backwards = [float(mb["backward"]) for step in steps for mb in step[:-1]]
    if not forwards or not backwards:
        raise ValueError(f"{phases_path}: no timed step of two or more micro-batches")
    return forwards, backwards


def plan_path(phases_path: Path) -> Path:
    """The case's plan: in the accuracy folder, else in a plans/ folder one or two levels above the case's."""
    name = f"{phases_path.parent.name}.plan.json"
    for folder in (PLANS, phases_path.parents[1] / "plans", phases_path.parents[2] / "plans"):
        if (folder / name).exists():
            return folder / name
    raise ValueError(f"no {name} in {PLANS} or a plans/ folder above {phases_path.parent}")


def model_phases(phases_path: Path, hw_name: str) -> tuple[float, float]:
    """The model's (forward, backward) of one micro-batch of the case's first stage, seconds."""
    case = phases_path.parent.name
    plan = Plan.load(plan_path(phases_path))
    run_path = PLANS / f"{case}.run.json"
    conditions = RunConditions.of_run(plan, RunReport.load(run_path)) if run_path.exists() else RunConditions()
    stage = predict_plan(plan, load_hardware(hw_name), conditions).stages[0]
    return stage.microbatch_forward_s, stage.microbatch_backward_s


def row(phases_path: Path, hw_name: str) -> str:
    forwards, backwards = steady_phases(phases_path)
    model_f, model_b = model_phases(phases_path, hw_name)
    cells = [phases_path.parent.name]
    for measured, model in ((statistics.median(forwards), model_f), (statistics.median(backwards), model_b)):
        cells += [f"{1e3 * measured:.1f}", f"{1e3 * model:.1f}", f"{model / measured - 1:+.1%}"]
    both = statistics.median(forwards) + statistics.median(backwards)
    cells += [f"{1e3 * both:.1f}", f"{1e3 * (model_f + model_b):.1f}", f"{(model_f + model_b) / both - 1:+.1%}"]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("phases", nargs="+", type=Path, help="<case>/rank0.phases.json from phase_train.py")
    ap.add_argument("--hardware", default="h200-1gpu-node")
    args = ap.parse_args()
    table = ["| case | forward ms | model | error | backward ms | model | error | both ms | model | error |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    try:
        table += [row(p, args.hardware) for p in args.phases]
    except (OSError, ValueError, KeyError) as e:
        ap.error(f"{type(e).__name__}: {e}")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
