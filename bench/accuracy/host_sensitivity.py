#!/usr/bin/env python3
"""Does a plan's predicted sensitivity to a slower host thread tell its time error better than its predicted host
wait? (CPU only; prints markdown; a what-if, nothing in mist_ds changes.)

    PYTHONPATH=$PWD python bench/accuracy/host_sensitivity.py [FACTOR]   # after `make accuracy`; FACTOR 1.33

Per plan scored by `make accuracy` (bench/accuracy/host_paced.py scored_runs): its sensitivity, the prediction with
every host-thread term of its run's profile (HOST_TERMS) multiplied by FACTOR over the prediction as shipped, minus 1
(1.33: the slow end of what host speed did to host-paced plans, mist_ds/emit/report.py HOST_SPREAD), beside its
predicted host-wait share (host_paced.py host_share, what emit/report.py host_paced_line warns from) and its largest
|time error|. A plan whose host work is about as long as its GPU passes has no predicted wait yet a large
sensitivity (session 53's Qwen2-1.5B winner, bench/accuracy/HOST_JITTER.md).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.host_paced import ROOT, host_share, scored_runs  # noqa: E402
from bench.accuracy.report import RESULTS  # noqa: E402
from bench.accuracy.scoring import hardware_of, spearman  # noqa: E402
from mist_ds.config import HardwareProfile, Plan, RunReport  # noqa: E402
from mist_ds.config.hardware import HOST_THREAD_FIELDS  # noqa: E402
from mist_ds.cost import predict_plan  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.emit.report import HOST_PACED_SHARE  # noqa: E402

HOST_TERMS = (*HOST_THREAD_FIELDS, "zero3_fetch_overhead_s", "zero3_param_overhead_s", "mistpipe_microbatch_overhead_s",
              "mistpipe_layer_overhead_s", "mistpipe_streamed_layer_overhead_s")
"""The profile's run-derived host-thread seconds the what-if scales: the stock engine's (config/hardware.py
HOST_THREAD_FIELDS), ZeRO-3's per-fetch and per-parameter ones and mistpipe's own."""
FLAG = 0.06
"""Sensitivity from which the table counts a plan as host-sensitive."""


def scaled_profile(hw: HardwareProfile, factor: float) -> HardwareProfile:
    """`hw` with every HOST_TERMS term that is set multiplied by `factor`."""
    return hw.model_copy(update={t: getattr(hw, t) * factor for t in HOST_TERMS if getattr(hw, t) is not None})


def iteration_s(row: dict, factor: float, cache: dict) -> float:
    """The report row's plan predicted as its run ran, on its profile with the host terms x factor."""
    plan = Plan.load(ROOT / row["plan_path"]).without_prediction()
    run_path = ROOT / row["run_path"]
    run = RunReport.load(run_path)
    hw = scaled_profile(hardware_of(run, cache, run_path), factor)
    return predict_plan(plan, hw, RunConditions.of_run(plan, run)).iteration_time_s


def sensitivity(row: dict, factor: float, cache: dict) -> float:
    """Predicted iteration with the host terms x factor over the prediction as shipped, minus 1."""
    return iteration_s(row, factor, cache) / iteration_s(row, 1.0, cache) - 1


def table(accuracy: Path, factor: float) -> list[str]:
    cache: dict = {}
    rows = []
    for runs in scored_runs(accuracy).values():
        worst = max(abs(r["time_error"]) for r in runs)
        rows.append((sensitivity(runs[0], factor, cache), host_share(runs[0], cache), worst))
    sens, share, worst = (list(col) for col in zip(*rows))
    warned = HOST_PACED_SHARE
    quiet = [r for r in rows if r[1] < warned]
    groups = {f"host wait >= {warned:.0%} (warned today)": [r for r in rows if r[1] >= warned],
              f"sensitivity >= {FLAG:.0%}, host wait < {warned:.0%}": [r for r in quiet if r[0] >= FLAG],
              "neither": [r for r in quiet if r[0] < FLAG]}
    lines = [f"{len(rows)} plans; host terms x {factor}. Spearman with the largest |time error|: sensitivity "
             f"{spearman(sens, worst):.2f}, host-wait share {spearman(share, worst):.2f}.", "",
             "| plans | count | largest |time error|: median | 90th percentile | max |", "|---|---|---|---|---|"]
    for name, group in groups.items():
        errs = [r[2] for r in group]
        if errs:
            lines.append(f"| {name} | {len(errs)} | {statistics.median(errs):.1%} | {np.percentile(errs, 90):.1%} "
                         f"| {max(errs):.1%} |")
    return lines


if __name__ == "__main__":
    print("\n".join(table(RESULTS / "accuracy.json", float(sys.argv[1]) if len(sys.argv) > 1 else 1.33)))
