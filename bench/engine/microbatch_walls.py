#!/usr/bin/env python3
"""Each micro-batch of a profiled step, pass by pass: wall, GPU busy, idle, and what the host did (CPU only).

    python bench/engine/microbatch_walls.py DIGEST PLAN [--stage I] [--json]

DIGEST is a trace digest (bench/engine/trace_digest.py) of one profiled step, PLAN the plan that ran (its stage's
layer count cuts the step: bench/accuracy/trace_kernels.py micro_batches). bench/engine/mistpipe_compare.py compares
the median micro-batch with the model; this lists every one, so passes that run longer than the others show, and
where the digest carries host_buckets, how much host work fell in each pass (the buckets whose start lies in it, so
to HOST_BUCKET_US): the busiest thread's outermost ops (the forward's Python thread, the backward's autograd device
thread), every thread's kernel launches, and the other threads' ops. Found this way (session 48,
bench/results/runtime/h100_swap_trace_S48/): the last three forwards of two H100 mistpipe steps idled the GPU 12-59 ms
each in sub-millisecond gaps; with host buckets (session 50, bench/results/runtime/h100_partial_S50/), the forwards'
Python thread spent as long on its ops as the GPU on the pass. The last micro-batch's backward runs to its last
backward attention kernel. Exit 2 on bad input.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import TraceError, load_kernels, micro_batches  # noqa: E402
from bench.engine.mistpipe_compare import busy_ms  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config import Plan  # noqa: E402


def host_in(buckets: dict | None, lo_us: float, hi_us: float) -> dict | None:
    """Over the buckets that start in [lo_us, hi_us): the thread with the most op time there (a forward's is the
    Python thread, a backward's autograd's device thread), its outermost ops (count, ms), every thread's kernel
    launches (count, ms) and the other threads' op ms; None where the digest has no host_buckets."""
    if not buckets:
        return None
    width, per_thread = buckets["width_us"], {}
    out = {"thread": None, "ops": 0, "ops_ms": 0.0, "launches": 0, "launch_ms": 0.0, "other_ops_ms": 0.0}
    for bucket, thread, ops, ops_us, launches, launch_us in buckets["rows"]:
        if lo_us <= bucket * width < hi_us:
            cell = per_thread.setdefault(thread, [0, 0.0])
            cell[0] += ops
            cell[1] += ops_us / 1e3
            out["launches"] += launches
            out["launch_ms"] += launch_us / 1e3
    if per_thread:
        out["thread"] = max(per_thread, key=lambda t: per_thread[t][1])
        out["ops"], out["ops_ms"] = per_thread[out["thread"]]
        out["other_ops_ms"] = sum(ms for t, (_, ms) in per_thread.items() if t != out["thread"])
    return out


def passes(digest_path: Path, num_layers: int) -> list[dict]:
    """Per micro-batch and pass: wall, compute-stream and any-stream busy, idle (ms) and host_in."""
    kernels = load_kernels(digest_path)
    digest = json.loads(gzip.decompress(digest_path.read_bytes()) if digest_path.suffix == ".gz"
                        else digest_path.read_bytes())
    buckets = digest.get("host_buckets") if isinstance(digest, dict) else None
    mbs = micro_batches(kernels, num_layers)
    out = []
    for i, mb in enumerate(mbs):
        end = mbs[i + 1].fwd[0] if i + 1 < len(mbs) else mb.bwd[-1]
        for name, lo, hi in (("forward", mb.fwd[0], mb.bwd[0]), ("backward", mb.bwd[0], end)):
            busy = busy_ms(kernels, lo, hi)
            wall = (hi - lo) / 1e3
            out.append({"micro_batch": i, "pass": name, "wall_ms": wall, "compute_ms": busy["compute"],
                        "idle_ms": wall - busy["any"], "host": host_in(buckets, lo, hi)})
    return out


def render(rows: list[dict]) -> str:
    """The passes as a markdown table."""
    lines = ["| micro-batch | pass | wall ms | compute ms | GPU idle ms | busiest thread | its ops (ms) "
             "| launches (ms) | other threads' ops ms |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h = r["host"]
        host = (f"{h['thread']} | {h['ops']} ({h['ops_ms']:.1f}) | {h['launches']} ({h['launch_ms']:.1f}) | "
                f"{h['other_ops_ms']:.1f}" if h else "- | - | - | -")
        lines.append(f"| {r['micro_batch']} | {r['pass']} | {r['wall_ms']:.1f} | {r['compute_ms']:.1f} | "
                     f"{r['idle_ms']:.1f} | {host} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="bench/engine/microbatch_walls.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("digest", type=Path, help="a trace digest of one profiled step")
    parser.add_argument("plan", type=Path, help="the plan that ran")
    parser.add_argument("--stage", type=int, default=0, help="the traced rank's pipeline stage")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        plan = Plan.load(args.plan)
        if not 0 <= args.stage < plan.num_stages:
            raise TraceError(f"plan has {plan.num_stages} stage(s), not stage {args.stage}")
        rows = passes(args.digest, plan.stages[args.stage].num_layers)
    except (TraceError, OSError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=1) if args.json else render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
