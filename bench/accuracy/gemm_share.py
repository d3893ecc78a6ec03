#!/usr/bin/env python3
"""Each scored run's exposed GEMM share, predicted, against its time error (issue 10, the GEMM clock).

    python bench/accuracy/gemm_share.py [--accuracy bench/results/accuracy.json] [--out FILE.json]

The GEMM share is the fraction of the predicted iteration that moves with GEMM speed: the plan is predicted
twice, on its shipped profile and on a copy whose matmul table is SPEEDUP faster, and the difference is the
exposed GEMM time times (1 - 1/SPEEDUP). The power-cap sweeps (bench/results/runtime/gemm_power_S29/) price a
GEMM loop at the cap's clock and GEMMs mixed with lower-power work faster, so a model that prices the clock
should leave a run's error trending with its non-GEMM share; this script measures that trend on the
committed runs before any model change.

It also emulates a clock-aware GEMM price on each run, after the fact (nothing in the cost model changes): the
passes' window mixes the exposed GEMM time G, the rest of the passes' kernels K (compute_s + recompute_s - G,
drawn as bandwidth-bound kernels) and the host's waits I (host_wait_s); the SM clock f solves
G x P_gemm(f) + K x P_MEMORY_W + I x P_IDLE_W = P_CAP_W over G + K + I (clamped to F_LOOP..F_MAX), and the GEMMs
take t(f) / t(F_LOOP) of their price, t(f) = T_A + T_B / f: the S29-2 sweep's fits
(bench/results/runtime/gemm_power_S29/README.md).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.scoring import hardware_of, spearman  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.plan_predict import predict_plan  # noqa: E402

SPEEDUP = 1.1
P_CAP_W, P_IDLE_W, P_MEMORY_W = 690.0, 120.0, 560.0
F_LOOP, F_MAX, GEMM_W_PER_MHZ = 1500.0, 1980.0, 0.63
T_A, T_B = 4.01, 11260.0
"""S29-2's Llama 3.2 1B sweep: power at the cap, idle, of bandwidth-bound kernels; the loop's and the card's
clocks; the GEMMs' draw, the cap at F_LOOP (a loop of them sets the cap's clock) rising GEMM_W_PER_MHZ; their
time a + b / f (ms, MHz)."""


def clock_factor(gemm_s: float, other_s: float, idle_s: float) -> tuple[float, float]:
    """(SM clock, GEMM time factor against the loop's) of a window with these seconds of each."""
    window = gemm_s + other_s + idle_s
    if gemm_s <= 0 or window <= 0:
        return F_MAX, (T_A + T_B / F_MAX) / (T_A + T_B / F_LOOP)
    g, m, i = gemm_s / window, other_s / window, idle_s / window
    loop_draw = g * P_CAP_W + m * P_MEMORY_W + i * P_IDLE_W  # the GEMMs at F_LOOP draw the cap
    f = min(F_MAX, max(F_LOOP, F_LOOP + (P_CAP_W - loop_draw) / (g * GEMM_W_PER_MHZ)))
    return f, (T_A + T_B / f) / (T_A + T_B / F_LOOP)


def clocked(hw, factor: float):
    """The profile with every GEMM taking `factor` of its table time (samples and scalar 1 / factor faster)."""
    samples = tuple(s.model_copy(update={"tflops": s.tflops / factor}) for s in hw.matmul_samples)
    return hw.model_copy(update={"matmul_samples": samples, "matmul_tflops": hw.matmul_tflops / factor})


def faster_gemms(hw):
    """The profile with every matmul sample SPEEDUP times faster."""
    return clocked(hw, 1 / SPEEDUP)


def gemm_share(plan: Plan, run: RunReport, hw) -> dict:
    """Predicted s/iter, its exposed GEMM share, and the emulated clock's SM MHz and s/iter."""
    bare = plan.without_prediction()
    conditions = RunConditions.of_run(bare, run)
    pred = predict_plan(bare, hw, conditions)
    base = pred.iteration_time_s
    fast = predict_plan(bare, faster_gemms(hw), conditions).iteration_time_s
    gemm = (base - fast) / (1 - 1 / SPEEDUP)
    parts = pred.stages[0].time_breakdown
    other = max(0.0, parts.compute_s + parts.recompute_s - gemm)
    mhz, factor = clock_factor(gemm, other, parts.host_wait_s or 0.0)
    return {"predicted_s": base, "gemm_share": gemm / base, "clock_mhz": mhz, "clock_s": base - gemm * (1 - factor)}


def gpu_bound(row: dict) -> bool:
    """Not a ZeRO-3 or weight-offload family (host-paced on these machines, bench/accuracy/HOST_JITTER.md)."""
    return row["family"] not in ("zero3", "zero3-offload", "weight-offload")


def spread(errors) -> str:
    errors = list(errors)
    med = statistics.median(errors)
    return (f"{len(errors):3d} runs: median |error| {statistics.median(abs(e) for e in errors):.1%}, signed median "
            f"{med:+.1%}, median |error - median| {statistics.median(abs(e - med) for e in errors):.1%}")


def share_rows(accuracy: Path) -> list[dict]:
    """gemm_share of every scored run of the accuracy report, with its errors as priced and as emulated."""
    rows, cache = [], {}
    for r in json.loads(accuracy.read_text())["runs"]:
        if r["status"] != "ok" or r.get("rejected") or r.get("time_error") is None:
            continue
        plan, run = Plan.load(r["plan_path"]), RunReport.load(r["run_path"])
        row = gemm_share(plan, run, hardware_of(run, cache, Path(r["run_path"])))
        rows.append({"name": r["name"], "family": r["family"], "workload": r["workload"], "hardware": r["hardware"],
                     "measured_s": r["measured_s"], "time_error": r["time_error"], **row,
                     "clock_error": row["clock_s"] / r["measured_s"] - 1})
    return rows


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/gemm_share.py", description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy", default="bench/results/accuracy.json")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    try:
        rows = share_rows(Path(args.accuracy))
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    if not rows:
        print(f"error: {args.accuracy} holds no scored run", file=sys.stderr)
        return 2
    errors, shares = [r["time_error"] for r in rows], [r["gemm_share"] for r in rows]
    print(f"{len(rows)} runs; Spearman(time error, GEMM share) {spearman(errors, shares):+.2f}")
    edges = (0.0, 0.3, 0.45, 0.6, 0.7, 1.01)
    for lo, hi in zip(edges, edges[1:]):
        band = [r["time_error"] for r in rows if lo <= r["gemm_share"] < hi]
        if band:
            print(f"share {lo:.2f}-{hi:.2f}: {len(band):3d} runs, median error {statistics.median(band):+.3f}")
    print(f"emulated clock: median {statistics.median(r['clock_mhz'] for r in rows):.0f} MHz")
    for key, label in (("time_error", "as priced"), ("clock_error", "clock emulated")):
        for name, subset in (("all", rows), ("GPU-bound", [r for r in rows if gpu_bound(r)])):
            print(f"{label:15s} {name:9s} {spread(r[key] for r in subset)}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    from mist_ds.cli import run_cli

    run_cli(main)
