#!/usr/bin/env python3
"""Predicted host wait against measured spread, per plan run at least three times (CPU only; prints
markdown). Where HOST_PACED_SHARE (mist_ds/emit/report.py) comes from.

    PYTHONPATH=$PWD python bench/accuracy/host_paced.py   # after `make accuracy`

For every plan (accuracy.json plan_id, copies in several folders are one plan) with >= 3 scored runs that
ran: the share of the predicted iteration its most host-bound stage's GPU waits for the training thread
(TimeBreakdown.host_wait_s, predicted for its first run's node profile and kernels, as `make accuracy`
predicts it), and the measured spread of its runs, (slowest - fastest) / median. Runs of one plan in
different machine calls may differ in kernels or engine version too (the kernels column), so a spread
is an upper bound of what the host alone moved.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.report import RESULTS  # noqa: E402
from bench.accuracy.scoring import hardware_of  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.cost import predict_plan  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MIN_RUNS = 3


def scored_runs(accuracy: Path) -> dict[str, list[dict]]:
    """accuracy.json's scored runs that ran, by plan."""
    by_plan: dict[str, list[dict]] = defaultdict(list)
    for row in json.loads(accuracy.read_text())["runs"]:
        if row["status"] == "ok" and row["targeted"]:
            by_plan[row["plan_id"]].append(row)
    return by_plan


def host_share(row: dict, cache: dict) -> float:
    """Largest stage host_wait_s / predicted iteration, for the run's profile and conditions."""
    plan = Plan.load(ROOT / row["plan_path"]).without_prediction()
    run_path = ROOT / row["run_path"]
    run = RunReport.load(run_path)
    pred = predict_plan(plan, hardware_of(run, cache, run_path), RunConditions.of_run(plan, run))
    return max(s.time_breakdown.host_wait_s for s in pred.stages) / pred.iteration_time_s


def table(accuracy: Path) -> list[str]:
    cache: dict = {}
    rows = []
    for runs in scored_runs(accuracy).values():
        if len(runs) < MIN_RUNS:
            continue
        times = [r["measured_s"] for r in runs]
        spread = (max(times) - min(times)) / statistics.median(times)
        kernels = len({r["kernel_set"] for r in runs})
        rows.append((host_share(runs[0], cache), spread, len(runs), kernels, runs[0]["name"]))
    lines = ["| plan (first run) | predicted host wait / iteration | runs | kernel sets | measured spread |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {share:.0%} | {n} | {kernels} | {spread:.0%} |"
              for share, spread, n, kernels, name in sorted(rows)]
    return lines


if __name__ == "__main__":
    print("\n".join(table(RESULTS / "accuracy.json")))
