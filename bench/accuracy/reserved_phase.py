#!/usr/bin/env python3
"""The allocator-hole samples of bench/accuracy/reserved_fit.py split by the phase of the predicted peak (CPU
only; prints markdown). bench/accuracy/RESERVED.md, section "Session 21", is its output.

    PYTHONPATH=$PWD python bench/accuracy/reserved_phase.py   # after `make accuracy`

Per stage of one run per distinct stock-DeepSpeed plan (reserved_fit.samples' selection): its class
(cost/reserved.py allocator_class), the phase cost/stage.py picks as its peak ('forward/backward' when activations
are live at it, else 'step or build'; predicted on the run's node profile and conditions, as `make accuracy`
predicts), and (measured max_memory_reserved - predicted allocated peak) / the class's unit (cost/reserved.py
hole_unit_bytes: the 16-bit partition; since session 69 one fp32 vocabulary matrix for the offload classes).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.report import RESULTS  # noqa: E402
from bench.accuracy.reserved_fit import load_plans, stock_stages, targeted  # noqa: E402
from bench.accuracy.scoring import hardware_of  # noqa: E402
from mist_ds.config import RunReport  # noqa: E402
from mist_ds.cost import predict_plan  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.reserved import allocator_class  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PHASES = ("forward/backward", "step or build")


def samples(report: dict) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """(class, phase) -> [(hole in the class's unit, 'run/stage')]."""
    out: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    runs = targeted(report)
    cache: dict = {}
    for run, plan, stage, hole in stock_stages(runs, load_plans(runs)):
        plan, index, report_path = plan.without_prediction(), stage["stage"], ROOT / run["run_path"]
        measured = RunReport.load(report_path)
        pred = predict_plan(plan, hardware_of(measured, cache, report_path), RunConditions.of_run(plan, measured))
        phase = PHASES[0] if pred.stages[index].memory_breakdown.activations_bytes > 0 else PHASES[1]
        out[(allocator_class(plan.stage_memory(index), plan.dp, plan.num_stages), phase)].append(
            (hole, f"{run['name']}/{index}"))
    return out


def table(report: dict) -> list[str]:
    by_key = samples(report)
    lines = ["| class | " + " | ".join(f"{p} peak: stages, median (range)" for p in PHASES) + " |", "|---|---|---|"]
    for name in sorted({c for c, _ in by_key}):
        cells = []
        for phase in PHASES:
            holes = sorted(h for h, _ in by_key.get((name, phase), []))
            cells.append(f"{len(holes)}, {statistics.median(holes):.2f} ({holes[0]:.2f} to {holes[-1]:.2f})"
                         if holes else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    print("\n".join(table(json.loads((RESULTS / "accuracy.json").read_text()))))
