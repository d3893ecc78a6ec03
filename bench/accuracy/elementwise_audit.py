#!/usr/bin/env python3
"""Are a block's element-wise kernels priced short? Every committed profiled step of a stock ZeRO-0/1/2 plan
beside the cost model (CPU only; issue 10).

    python bench/accuracy/elementwise_audit.py [--write [bench/results/elementwise_audit.md]]

Steps: each rank-0 trace under `bench/results/runtime/` (`<name>.rank0.digest.json.gz`, or
`traces/<name>.rank0.trace.json.gz`) with its RunReport (`<name>.profiled-run.json` or `<name>.run.json`), whose plan (found by RunReport.plan_hash: the plans beside it first, then the accuracy suite's) is a stock DeepSpeed
plan at ZeRO-0, 1 or 2 (a ZeRO-3 step's copies hold its gathers and offload traffic). Each is compared with
bench/accuracy/trace_compare.py compare on the profile of the GPU and node that ran it, for the kernels it recorded.

Backward element-wise is read together with DeepSpeed's gradient passes (trace_compare.BWD_WITH_PASSES):
AccumulateGrad's adds run among a block's backward kernels, which the trace's block rows count, while the model
prices them with DeepSpeed's passes. The GEMM and attention columns are in-situ time over the price (the loop's
clock: bench/results/runtime/gemm_power_S29/); the last column checks the clock emulation (gemm_share.py
clock_factor) on the step's own micro-batch window against the block GEMMs' traced factor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.gemm_share import clock_factor  # noqa: E402
from bench.accuracy.scoring import hardware_of  # noqa: E402
from bench.accuracy.trace_compare import BWD_WITH_PASSES, compare  # noqa: E402
from bench.accuracy.tables import publish, utc_minute  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "bench" / "results" / "runtime"
ACCURACY = ROOT / "bench" / "results" / "accuracy"
OUT = ROOT / "bench" / "results" / "elementwise_audit.md"
ROWS = {"fwd": "blocks fwd: element-wise", "bwd": "blocks bwd: element-wise",
        "passes": "DeepSpeed gradient passes (bucket copy, div_, partition)", "bwd_passes": BWD_WITH_PASSES,
        "edges": "head + loss + embedding: element-wise", "iteration": "iteration (trace: GPU span)"}
COMPUTE = ("blocks fwd: gemm", "blocks bwd: gemm", "blocks fwd: attention", "blocks bwd: attention")


def plan_by_hash(near: Path, plan_hash: str) -> Path | None:
    """The plan file beside the step, else in the accuracy suite, whose content hash is `plan_hash`."""
    for path in sorted(near.glob("*.plan.json")) + sorted(ACCURACY.glob("*.plan.json")):
        if Plan.load(path).without_prediction().content_hash() == plan_hash:
            return path
    return None


def run_of(trace: Path) -> Path | None:
    """The RunReport of a step's trace: <stem>.profiled-run.json or <stem>.run.json beside it or a folder up."""
    stem = trace.name.split(".rank0.")[0]
    for folder in (trace.parent, trace.parent.parent):
        for suffix in (".profiled-run.json", ".run.json"):
            if (folder / f"{stem}{suffix}").exists():
                return folder / f"{stem}{suffix}"
    return None


def steps(runtime: Path = RUNTIME) -> list[tuple[Path, Path, Path]]:
    """(trace, plan, run) of every committed profiled step of a stock ZeRO-0/1/2 plan (module docstring)."""
    out = []
    traces = sorted(runtime.glob("*/*.rank0.digest.json.gz")) + sorted(runtime.glob("*/traces/*.rank0.trace.json.gz"))
    for trace in traces:
        run_path = run_of(trace)
        plan = plan_by_hash(run_path.parent, RunReport.load(run_path).plan_hash) if run_path else None
        if plan is None:
            continue
        loaded = Plan.load(plan)
        if loaded.executor == "deepspeed" and loaded.memory.zero_stage <= 2:
            out.append((trace, plan, run_path))
    return out


def window_clock(trace: dict) -> dict:
    """The micro-batches' window in the trace (the step's phase taken out): GEMM, other kernels and idle ms, and the
    GEMM time factor bench/accuracy/gemm_share.py clock_factor gives such a window (NCCL left out: another stream)."""
    every, step = trace["all"], trace["step"]
    kernel = lambda phase, keep: sum(v for c, v in phase["kernel_ms"].items() if keep(c))  # noqa: E731
    gemm = kernel(every, lambda c: c == "gemm") - kernel(step, lambda c: c == "gemm")
    rest = lambda c: c not in ("gemm", "nccl", "count", "recompute")  # noqa: E731
    other = kernel(every, rest) - kernel(step, rest)
    idle = every["idle_ms"] - step["idle_ms"]
    return {"window_gemm_share": gemm / (gemm + other + idle), "clock_factor": clock_factor(gemm, other, idle)[1]}


def audit(digest: Path, plan: Path, run_path: Path) -> dict:
    """One step's element-wise rows (model, trace ms per iteration), its GEMM / attention time ratios and the
    clock emulation's GEMM factor for its window."""
    hw = hardware_of(RunReport.load(run_path), {}, run_path)
    result = compare(digest, plan, hw.name, 0, run_path)
    rows = {name: (model, trace) for name, model, trace in result["rows"]}
    out = {key: rows[name] for key, name in ROWS.items()}
    for name in COMPUTE:
        out[name] = rows[name][1] / rows[name][0]
    gemm = [rows[name] for name in COMPUTE[:2]]
    out["gemm_factor"] = sum(t for _, t in gemm) / sum(m for m, _ in gemm)
    out.update(window_clock(result["trace"]))
    out.update(step=f"{digest.parent.relative_to(RUNTIME)}/{digest.name.split('.rank0.')[0]}", plan=Plan.load(plan).describe(),
               model=Plan.load(plan).model.name, hardware=hw.name,
               kernels=", ".join(f"{k} {v}" for k, v in RunReport.load(run_path).kernels.items()
                                 if k in ("activation", "rope", "loss")))
    return out


def net_share(row: dict) -> float:
    """Trace minus model of the forward and the backward-with-passes element-wise, as a share of the step."""
    gap = sum(row[k][1] - row[k][0] for k in ("fwd", "bwd_passes"))
    return gap / row["iteration"][1]


def render(rows: list[dict], when: str) -> str:
    pair = lambda v: f"{v[0]:.1f} / {v[1]:.1f}"  # noqa: E731
    lines = [
        "# Block element-wise pricing against profiled steps", "",
        f"Written by `python bench/accuracy/elementwise_audit.py --write` on {when} (CPU only): every committed "
        "profiled step of a stock ZeRO-0/1/2 plan beside the current cost model (`bench/accuracy/trace_compare.py`), "
        "on the profile of the node that ran it, for the kernels it recorded. Milliseconds per iteration, model / "
        "trace. AccumulateGrad's adds into `.grad` (ZeRO-0/1 with accumulation) run among a block's backward "
        "kernels, so the trace counts them as block element-wise while the model prices them with DeepSpeed's "
        "gradient passes (`cost/work.py mb_copy_bytes`): read backward element-wise with the passes. 'net' is "
        "trace minus model of forward element-wise plus backward element-wise with the passes, as a share of the "
        "step's GPU span. GEMM and attention: in-situ time over the price, forward and backward. Window GEMM share: "
        "GEMM kernel time over the micro-batches' span less the step (GEMM, other kernels, idle; NCCL on its own "
        "stream left out); the clock emulation (`bench/accuracy/gemm_share.py clock_factor`, session 29's power "
        "fits) turns it into the factor a clock-aware price would give the GEMMs, beside the block GEMMs' traced "
        "time over price.", "",
        "| step | model | plan | kernels (activation, rope, loss) | fwd element-wise | bwd element-wise | "
        "DeepSpeed passes | bwd + passes | net | head element-wise | GEMM fwd / bwd | attention fwd / bwd | "
        "window GEMM share | GEMM factor: clock emulation / trace |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['step']} | {r['model']} | {r['plan']} | {r['kernels']} | {pair(r['fwd'])} | {pair(r['bwd'])} | "
            f"{pair(r['passes'])} | {pair(r['bwd_passes'])} | {100 * net_share(r):+.1f}% | {pair(r['edges'])} | "
            f"{r[COMPUTE[0]]:.2f} / {r[COMPUTE[1]]:.2f} | {r[COMPUTE[2]]:.2f} / {r[COMPUTE[3]]:.2f} | "
            f"{r['window_gemm_share']:.2f} | {r['clock_factor']:.2f} / {r['gemm_factor']:.2f} |")
    nets = [net_share(r) for r in rows]
    bwd_alone = [r["bwd"][1] / r["bwd"][0] - 1 for r in rows]
    gemm = [r[c] for r in rows for c in COMPUTE[:2]]
    miss = [r["clock_factor"] - r["gemm_factor"] for r in rows]
    lines += ["", f"{len(rows)} steps. Backward element-wise alone reads {100 * min(bwd_alone):+.0f}% .. "
              f"{100 * max(bwd_alone):+.0f}% (median {100 * statistics.median(bwd_alone):+.0f}%) of the model; with "
              f"the gradient passes the element-wise gap is {100 * min(nets):+.1f}% .. {100 * max(nets):+.1f}% of a "
              f"step (median {100 * statistics.median(nets):+.1f}%). Block GEMMs ran {min(gemm):.2f} .. "
              f"{max(gemm):.2f} of their price (median {statistics.median(gemm):.2f}); the clock emulation of their "
              f"micro-batch window (GEMM, other kernels and idle time as traced) gives factors that miss the traced "
              f"block GEMM factor by {statistics.mean(miss):+.3f} on average (standard deviation "
              f"{statistics.pstdev(miss):.3f})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", nargs="?", type=Path, const=OUT, default=None, help="write the table here")
    args = ap.parse_args(argv)
    try:
        rows = [audit(*step) for step in steps()]
    except (ValueError, OSError) as err:      # a trace that does not match its plan, an unreadable file
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    if not rows:
        print("error: no profiled step of a stock ZeRO-0/1/2 plan found", file=sys.stderr)
        return 2
    return publish(render(rows, utc_minute()), args.write)


if __name__ == "__main__":
    sys.exit(main())
