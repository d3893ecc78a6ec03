#!/usr/bin/env python3
"""Per micro-batch, how a profiled step's backward shares its time between the compute stream and the
side streams (CPU only): what the cost model's ZeRO-3 optimizer-offload coupling (cost/stage_time.py
coupling_s) stands for, measured.

    python bench/accuracy/backward_streams.py DIGEST --layers L [--json]

DIGEST is a trace digest (bench/engine/trace_digest.py) or a filtered chrome trace; L the traced
stage's blocks, which cut the step into micro-batches (trace_kernels.micro_batches). A micro-batch's
forward runs from its first forward attention kernel to its first backward one, its backward from
there to the next micro-batch's first forward attention kernel (the last one's: to its last GPU event
before the optimizer step's first kernel named Adam; where none is, as in a digest whose names are cut
to 60 characters, to the trace's end, so that row holds the step too). Per pass: the wall, the compute
stream's busy time (trace_kernels.load_kernels: the stream with the most kernels), the side streams'
(ZeRO-3's reduce_and_partition_stream: bucket copies, the 16-bit round trip, the partition kernels),
the time both were busy, their union, and the host's blocking waits (the digest's cuda_runtime rows:
event synchronize is DeepSpeed's back-pressure on outstanding reductions, stream synchronize its
epilogue). S38-1's Mistral-7B step: compute 540 ms, side 584, both 330 of an 800 ms backward
(bench/results/runtime/coupling_S38/README.md). Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import Kernel, TraceError, load_kernels, micro_batches  # noqa: E402
from mist_ds.runtime.mistpipe.trace import intersection, measure, union  # noqa: E402


def host_waits(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, name) of the runtime calls a digest kept (its 'cpu' rows of cat cuda_runtime or
    cuda_driver: the blocking ones, trace_digest.py --min-sync-us); a chrome trace's, likewise."""
    raw = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
    if "events" in raw and "columns" in raw:
        rows = [(start, dur, name) for stream, start, dur, cat, _b, name in raw["events"]
                if stream == "cpu" and cat in ("cuda_runtime", "cuda_driver")]
    else:
        rows = [(e["ts"], e.get("dur", 0.0), e.get("name", "")) for e in raw.get("traceEvents", [])
                if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver")]
    return [(float(s), float(s) + float(d), n) for s, d, n in rows]     # the GPU events' time frame


def _clip(kernels: list[Kernel], lo: float, hi: float) -> list[tuple[float, float]]:
    return [(max(k.start, lo), min(k.end, hi)) for k in kernels if k.end > lo and k.start < hi]


def window(kernels: list[Kernel], waits, lo: float, hi: float) -> dict[str, float]:
    """The window [lo, hi)'s wall, busy times and host waits, in milliseconds."""
    compute = union(_clip([k for k in kernels if k.category != "side_stream"], lo, hi))
    side = union(_clip([k for k in kernels if k.category == "side_stream"], lo, hi))
    out = {"wall": hi - lo, "compute": measure(compute), "side": measure(side),
           "both": intersection(compute, side), "union": measure(union(compute + side))}
    for name, key in (("cudaEventSynchronize", "event_waits"), ("cudaStreamSynchronize", "stream_waits")):
        out[key] = sum(min(end, hi) - max(start, lo) for start, end, n in waits
                       if n.startswith(name) and end > lo and start < hi)
    return {k: v / 1e3 for k, v in out.items()}


def backward_streams(path: Path, layers: int) -> list[dict]:
    """One row per micro-batch: its forward's and backward's window (module docstring)."""
    kernels = load_kernels(path)
    mbs = micro_batches(kernels, layers)
    waits = host_waits(path)
    adam = [k.start for k in kernels if "adam" in k.name.lower() and k.start > mbs[-1].bwd[-1]]
    last_end = max(k.end for k in kernels if k.start < (min(adam) if adam else float("inf")))
    rows = []
    for i, mb in enumerate(mbs):
        end = mbs[i + 1].fwd[0] if i + 1 < len(mbs) else last_end
        rows.append({"micro_batch": i, "recomputed": mb.recompute,
                     "forward": window(kernels, waits, mb.fwd[0], mb.bwd[0]),
                     "backward": window(kernels, waits, mb.bwd[0], end)})
    return rows


def table(rows: list[dict]) -> str:
    head = ("| micro-batch | forward wall | backward wall | compute | side | both | union | event waits | "
            "stream waits |\n|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['micro_batch']} | {r['forward']['wall']:.1f} | {r['backward']['wall']:.1f} | "
             f"{r['backward']['compute']:.1f} | {r['backward']['side']:.1f} | {r['backward']['both']:.1f} | "
             f"{r['backward']['union']:.1f} | {r['backward']['event_waits']:.1f} | "
             f"{r['backward']['stream_waits']:.1f} |" for r in rows]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path, help="a trace digest or a filtered chrome trace")
    parser.add_argument("--layers", type=int, required=True, help="the traced stage's blocks")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        rows = backward_streams(args.trace, args.layers)
    except (TraceError, OSError, ValueError, KeyError) as exc:
        print(f"error: {args.trace}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
