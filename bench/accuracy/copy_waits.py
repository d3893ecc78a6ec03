#!/usr/bin/env python3
"""Where a profiled step's compute waited on a side stream's host-to-device copy, per forward block (CPU only).

    python bench/accuracy/copy_waits.py TRACE [TRACE ...]     (chrome traces or trace digests)

A ZeRO-3 fetch at dp 1 synchronises the all-gather stream (DeepSpeed 0.19.8 partition_parameters.py
NoGatherHandle.wait runs current_stream().synchronize() inside fetch_sub_module's
`with stream(__allgather_stream)`), so the training thread waits for every copy queued there, prefetches
included, before it launches the module's kernels. In the GPU side of a step that shows as a compute kernel
starting within WAKE_US of the end of a side-stream copy after an idle gap: the host launched it as soon as
the copy ended. Per forward block (one attention forward kernel to the next, spans under MAX_BLOCK_US) this
prints the span, the compute stream's busy time, the side streams' host-to-device copy time and the
'blocked' time: for each such kernel, the part of the idle gap before it that the copy covers. An upper
bound of the host's wait (the host may have done its own work in part of the gap), and a lower bound of
nothing else: a wait that ends before the next launch's own host work is not seen.
"""

from __future__ import annotations

import bisect
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import Kernel, TraceError, attention_pass, load_kernels  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402

WAKE_US = 20.0
"""A kernel starting this soon after a copy's end was launched by a host that waited for the copy
(a launch's own latency is 5-10 us on the traced nodes)."""
MAX_BLOCK_US = 20000.0
"""Longer spans between two forward attention kernels are not one block (a micro-batch boundary)."""


def _covered(lo: float, hi: float, events: list[Kernel]) -> float:
    return sum(max(0.0, min(e.end, hi) - max(e.start, lo)) for e in events)


def block_waits(kernels: list[Kernel]) -> list[dict[str, float]]:
    """Per forward block: span, busy, h2d and blocked microseconds (module docstring)."""
    compute = [k for k in kernels if k.category != "side_stream" and k.category != "nccl"]
    copies = sorted((k for k in kernels if k.category == "side_stream" and "HtoD" in k.name), key=lambda c: c.end)
    copy_ends = [c.end for c in copies]
    starts = [k.start for k in compute if attention_pass(k.name) == "fwd"]
    out = []
    for a, b in zip(starts, starts[1:]):
        if b - a >= MAX_BLOCK_US:
            continue
        inside = [k for k in compute if a <= k.start < b]
        blocked, prev_end = 0.0, inside[0].end
        for k in inside[1:]:
            i = bisect.bisect_right(copy_ends, k.start) - 1
            if i >= 0 and k.start - copy_ends[i] < WAKE_US and k.start > prev_end:
                blocked += max(0.0, copies[i].end - max(prev_end, copies[i].start))
            prev_end = max(prev_end, k.end)
        out.append({"span": b - a, "busy": _covered(a, b, inside), "h2d": _covered(a, b, copies),
                    "blocked": blocked})
    return out


def summary(blocks: list[dict[str, float]]) -> dict[str, float]:
    """Blocks counted and the median of each field, in milliseconds."""
    return {"blocks": len(blocks), **{k: statistics.median(b[k] for b in blocks) / 1e3
                                      for k in ("span", "busy", "h2d", "blocked")}}


def main(argv=None) -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("traces", nargs="+", type=Path)
    args = ap.parse_args(argv)
    print("| trace | forward blocks | span ms | compute busy | h2d beside | blocked on a copy |\n|---|---|---|---|---|---|")
    for path in args.traces:
        try:
            blocks = block_waits(load_kernels(path))
        except TraceError as err:
            ap.error(str(err))
        if not blocks:
            ap.error(f"{path}: no forward blocks (no attention forward kernels)")
        s = summary(blocks)
        print(f"| {path.name} | {s['blocks']} | {s['span']:.2f} | {s['busy']:.2f} | {s['h2d']:.2f} | {s['blocked']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
