#!/usr/bin/env python3
"""Each scored run's exposed GEMM share, predicted, against its time error (issue 10, the GEMM clock).

    python bench/accuracy/gemm_share.py [--accuracy bench/results/accuracy.json] [--out FILE.json]

The GEMM share is the fraction of the predicted iteration that moves with GEMM speed: the plan is predicted
twice, on its shipped profile and on a copy whose matmul table is SPEEDUP faster, and the difference is the
exposed GEMM time times (1 - 1/SPEEDUP). The power-cap sweeps (bench/results/runtime/gemm_power_S29/) price a
GEMM loop at the cap's clock and GEMMs mixed with lower-power work faster, so a model that prices the clock
should leave a run's error trending with its non-GEMM share; this script measures that trend on the
committed runs before any model change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.scoring import hardware_of  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.plan_predict import predict_plan  # noqa: E402

SPEEDUP = 1.1


def faster_gemms(hw):
    """The profile with every matmul sample SPEEDUP times faster."""
    samples = tuple(s.model_copy(update={"tflops": s.tflops * SPEEDUP}) for s in hw.matmul_samples)
    return hw.model_copy(update={"matmul_samples": samples, "matmul_tflops": hw.matmul_tflops * SPEEDUP})


def gemm_share(plan: Plan, run: RunReport, hw) -> tuple[float, float]:
    """(predicted s/iter, exposed GEMM share of it)."""
    bare = plan.without_prediction()
    conditions = RunConditions.of_run(bare, run)
    base = predict_plan(bare, hw, conditions).iteration_time_s
    fast = predict_plan(bare, faster_gemms(hw), conditions).iteration_time_s
    return base, (base - fast) / (1 - 1 / SPEEDUP) / base


def spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(v):
        order = sorted(range(len(v)), key=v.__getitem__)
        r = [0.0] * len(v)
        for i, j in enumerate(order):
            r[j] = float(i)
        return r
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy", default="bench/results/accuracy.json")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    rows, cache = [], {}
    for r in json.loads(Path(args.accuracy).read_text())["runs"]:
        if r["status"] != "ok" or r.get("rejected") or r.get("time_error") is None:
            continue
        plan, run = Plan.load(r["plan_path"]), RunReport.load(r["run_path"])
        predicted, share = gemm_share(plan, run, hardware_of(run, cache, Path(r["run_path"])))
        rows.append({"name": r["name"], "family": r["family"], "workload": r["workload"], "hardware": r["hardware"],
                     "predicted_s": predicted, "time_error": r["time_error"], "gemm_share": share})
    errors, shares = [r["time_error"] for r in rows], [r["gemm_share"] for r in rows]
    print(f"{len(rows)} runs; Spearman(time error, GEMM share) {spearman(errors, shares):+.2f}")
    edges = (0.0, 0.3, 0.45, 0.6, 0.7, 1.01)
    for lo, hi in zip(edges, edges[1:]):
        band = [r["time_error"] for r in rows if lo <= r["gemm_share"] < hi]
        if band:
            print(f"share {lo:.2f}-{hi:.2f}: {len(band):3d} runs, median error {statistics.median(band):+.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
