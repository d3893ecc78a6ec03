#!/usr/bin/env python3
"""Measured forward and backward of a micro-batch beside the cost model's, from unprofiled steps (CPU only).

    python bench/accuracy/phase_vs_model.py CASE_DIR/rank0.phases.json [...] [--hardware h200-1gpu-node]

Each argument is a bench/runtime/phase_train.py output folder's rank file, the folder named after the suite case
it ran (bench/results/accuracy/<case>.plan.json, else a plans/ folder beside or above it; the run's own report
beside the phases, DIR/run.json, else the accuracy folder's <case>.run.json, gives the run's conditions:
RunConditions.of_run). Steady micro-batches only: each step's first forward (its fetches start cold after the
optimizer step) and last backward (it carries the step's boundary work) are left out, as are the warm-up steps.
Prints a markdown row per case: the medians in ms against StagePrediction.microbatch_forward_s / _backward_s, and
their sums (phase_train.py synchronises the device after each phase, so the host cannot run ahead from one into the
next: the split is the runtime's under that barrier, the sum the closer check); then the optimizer step (the last
engine.step) against StagePrediction.step_s less the boundary term, and what the last backward takes beyond the
others against that term (cost/stage_time.py boundary_window), with the two the term is made of: the boundary's
copies alone and the backward's slack beyond the 16-bit round trip that the model hides them in, and how much of
that slack the run hid them in ((copies - extra) / slack; the model says 1); last, the model's GPU compute of a
micro-batch alone against the measured forward + backward.
Exit 2 on bad input, with one line.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.accuracy.writeback_rate import PLANS, WARMUP, optimizer_steps  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.plan_predict import RunConditions, plan_cost_model, predict_plan  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402


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


def boundary_extras(phases_path: Path, warmup: int = WARMUP) -> list[float]:
    """Per timed step: its last backward (the accumulation boundary's) less the median of its other backwards."""
    steps = json.loads(phases_path.read_text())["steps"][warmup:]
    return [s[-1]["backward"] - statistics.median(mb["backward"] for mb in s[:-1]) for s in steps if len(s) > 1]


def run_conditions(phases_path: Path, plan: Plan) -> RunConditions:
    """The conditions the phased run ran under: its own RunReport (phase_train.py's --report, DIR/run.json), else
    the case's committed run, else the runtime's defaults."""
    for run_path in (phases_path.parent / "run.json", PLANS / f"{phases_path.parent.name}.run.json"):
        if run_path.exists():
            return RunConditions.of_run(plan, RunReport.load(run_path))
    return RunConditions()


class ModelPhases(NamedTuple):
    """The model's numbers for a phased case's first stage, seconds."""

    forward: float
    """One micro-batch's forward (StagePrediction.microbatch_forward_s)."""
    backward: float
    """One micro-batch's backward (StagePrediction.microbatch_backward_s)."""
    step: float
    """The optimizer step without the boundary term (StagePrediction.step_s less `boundary`)."""
    boundary: float
    """What the step's last backward adds (cost/stage_time.py: max(copies - slack, 0))."""
    copies: float
    """The boundary's copies and passes alone (cost/stage_time.py boundary_window)."""
    slack: float
    """The backward beyond the 16-bit round trip, where the model hides `copies`."""
    compute: float
    """The micro-batch's GPU compute alone (busy_compute_mb + recompute_mb: no copies, couplings or host time)."""


def model_phases(phases_path: Path, hw_name: str) -> ModelPhases:
    """The model's phases of the case the phases file ran, under the run's conditions (run_conditions)."""
    plan = Plan.load(plan_path(phases_path))
    hw, conditions = load_hardware(hw_name), run_conditions(phases_path, plan)
    stage = predict_plan(plan, hw, conditions).stages[0]
    parts = plan_cost_model(plan, hw, conditions).time_parts(plan_stage_args(plan, 0))
    boundary, copies, slack = (float(parts.get(key, 0.0)) for key in
                               ("boundary_mb", "boundary_copies_mb", "boundary_slack_mb"))
    return ModelPhases(stage.microbatch_forward_s, stage.microbatch_backward_s, stage.step_s - boundary, boundary,
                       copies, slack, float(parts["busy_compute_mb"] + parts["recompute_mb"]))


def hidden_share(extra: float, copies: float, slack: float) -> str:
    """How much of the model's slack the boundary's copies hid in the run: (copies - measured extra) / slack;
    '-' without slack or copies."""
    return f"{(copies - extra) / slack:.2f}" if slack > 0 and copies > 0 else "-"


def _cells(measured: float, model: float) -> list[str]:
    return [f"{1e3 * measured:.1f}", f"{1e3 * model:.1f}", f"{model / measured - 1:+.1%}"]


def row(phases_path: Path, hw_name: str) -> str:
    forwards, backwards = steady_phases(phases_path)
    model = model_phases(phases_path, hw_name)
    forward, backward = statistics.median(forwards), statistics.median(backwards)
    extra = statistics.median(boundary_extras(phases_path))
    cells = [phases_path.parent.name, *_cells(forward, model.forward), *_cells(backward, model.backward),
             *_cells(forward + backward, model.forward + model.backward),
             *_cells(statistics.median(optimizer_steps(phases_path)), model.step),
             f"{1e3 * extra:.1f}", f"{1e3 * model.boundary:.1f}", f"{1e3 * model.copies:.1f}",
             f"{1e3 * model.slack:.1f}", hidden_share(extra, model.copies, model.slack),
             *_cells(forward + backward, model.compute)[1:]]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("phases", nargs="+", type=Path, help="<case>/rank0.phases.json from phase_train.py")
    ap.add_argument("--hardware", default="h200-1gpu-node")
    args = ap.parse_args()
    table = ["| case | forward ms | model | error | backward ms | model | error | both ms | model | error "
             "| optimizer step ms | model | error | last backward's extra ms | model's boundary ms "
             "| boundary copies ms | slack ms | slack hidden | model's compute alone ms | error |",
             "|---" * 20 + "|"]
    try:
        table += [row(p, args.hardware) for p in args.phases]
    except (OSError, ValueError, KeyError) as e:
        ap.error(f"{type(e).__name__}: {e}")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
