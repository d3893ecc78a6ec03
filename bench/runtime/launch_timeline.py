#!/usr/bin/env python3
"""What paces a profiled step, from the launch rows trace_summary.launch_rows writes (MIST_DS_TRACE_LAUNCHES=1).

    python bench/runtime/launch_timeline.py RUN.rank0.launches.json.gz [--window-ms 50]

Rows are [cat, name[:48], ts_us, dur_us, correlation, stream]; a GPU event and the runtime call that issued it share
the correlation id. The compute stream is the one with the most GPU events. Three tables:
  windows - per window of the step: the compute stream's busy and idle ms, the part of the idle that is host-bound
      (the kernel after a gap was launched after the previous kernel had ended: min(gap, launch end - previous end)),
      and the ms of host-to-device copies on other streams;
  blocks - per sixteenth of the step, medians over the forward blocks there (from one flash forward attention kernel
      to the next, spans under 5 ms): the span, the compute stream's busy ms and the other streams' host-to-device
      copy ms inside it (a weight-streamed block's fill runs beside it: stage.py _forward_begin), and the ms the host
      spent in stream / event / device synchronisation between the two kernels' launches (a ZeRO-3 fetch at dp 1
      synchronises the all-gather stream: partition_parameters.py NoGatherHandle.wait);
  pace - the host's and the GPU's median spacing between consecutive attention kernels, forward to forward and
      backward to backward (a block pass each), and how far the GPU's start trailed the host's launch: where the
      host spacing is below the GPU's the host runs ahead, and its spacing is its own cost of a block pass (with the
      profiler's per-call cost in it).
CPU only.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import statistics
import sys

GPU_CATS = ("kernel", "gpu_memcpy", "gpu_memset")
ATTENTION_FORWARD = "flash_fpro"  # cuDNN's and flash-attn's forward kernels, as launch_rows truncates them
ATTENTION_BACKWARD = "flash_bpro"
LAUNCH_CATS = ("cuda_runtime", "cuda_driver")  # cuDNN launches through the driver (cuLaunchKernelEx)
MAX_BLOCK_US = 5000.0
SYNC_CALLS = ("cudaStreamSynchronize", "cudaEventSynchronize", "cudaDeviceSynchronize")  # where the host waits


def load(path: str) -> list[list]:
    with gzip.open(path, "rt") as f:
        return json.load(f)


def compute_stream(rows: list[list]):
    return collections.Counter(r[5] for r in rows if r[0] in GPU_CATS).most_common(1)[0][0]


def _compute_side(rows: list[list]) -> tuple[list[list], list[list]]:
    """(the compute stream's GPU events by start, the host-to-device copies on the other streams)."""
    stream = compute_stream(rows)
    kernels = sorted((r for r in rows if r[0] in GPU_CATS and r[5] == stream), key=lambda r: r[2])
    return kernels, [r for r in rows if r[0] == "gpu_memcpy" and r[5] != stream and "HtoD" in r[1]]


def _overlap_us(events: list[list], lo: float, hi: float) -> float:
    return sum(max(0.0, min(e[2] + e[3], hi) - max(e[2], lo)) for e in events)


def windows(rows: list[list], window_us: float) -> list[dict]:
    """Per window: compute busy / idle / host-bound idle and other streams' h2d, in ms."""
    launches = {r[4]: r for r in rows if r[0] in LAUNCH_CATS}
    kernels, copies = _compute_side(rows)
    out: dict[int, dict] = collections.defaultdict(lambda: dict(busy=0.0, idle=0.0, host_bound=0.0))
    prev_end = kernels[0][2]
    for k in kernels:
        w = out[int((k[2] - kernels[0][2]) // window_us)]
        w["busy"] += k[3]
        gap = k[2] - prev_end
        if gap > 0:
            w["idle"] += gap
            launch = launches.get(k[4])
            if launch is not None:
                w["host_bound"] += max(0.0, min(gap, launch[2] + launch[3] - prev_end))
        prev_end = max(prev_end, k[2] + k[3])
    t0 = kernels[0][2]
    return [dict(start_ms=i * window_us / 1e3, **{key: v / 1e3 for key, v in out[i].items()},
                 h2d=_overlap_us(copies, t0 + i * window_us, t0 + (i + 1) * window_us) / 1e3)
            for i in sorted(out)]


def block_spans(rows: list[list]) -> list[dict]:
    """Every forward block (one attention forward kernel to the next, under MAX_BLOCK_US): start, span, compute
    busy and other streams' h2d inside it, and the host's waits (SYNC_CALLS) between the two kernels' launches,
    in ms."""
    kernels, copies = _compute_side(rows)
    launches = {r[4]: r for r in rows if r[0] in LAUNCH_CATS}
    waits = [r for r in rows if r[0] == "cuda_runtime" and r[1].startswith(SYNC_CALLS)]
    starts = [(k[2], launches[k[4]][2] if k[4] in launches else None) for k in kernels if ATTENTION_FORWARD in k[1]]
    return [dict(start_ms=a / 1e3, span=(b - a) / 1e3, busy=_overlap_us(kernels, a, b) / 1e3,
                 h2d=_overlap_us(copies, a, b) / 1e3,
                 host_wait=_overlap_us(waits, ha, hb) / 1e3 if ha is not None and hb is not None else 0.0)
            for (a, ha), (b, hb) in zip(starts, starts[1:]) if b - a < MAX_BLOCK_US]


def block_medians(blocks: list[dict], parts: int = 16) -> list[dict]:
    size = max(1, len(blocks) // parts)
    return [dict(start_ms=group[0]["start_ms"], blocks=len(group),
                 **{key: statistics.median(b[key] for b in group) for key in ("span", "busy", "h2d", "host_wait")})
            for group in (blocks[i:i + size] for i in range(0, len(blocks), size))]


def pace(rows: list[list]) -> dict[str, dict]:
    """Per pair of consecutive attention kernels ('FF' forward to forward, 'BB' backward to backward, 'FB', 'BF'):
    count, median host spacing and GPU spacing, and the median lag from a kernel's launch to its start, in ms."""
    launches = {r[4]: r for r in rows if r[0] in LAUNCH_CATS}
    attention = (ATTENTION_FORWARD, ATTENTION_BACKWARD)
    kernels = sorted((r for r in rows if r[0] == "kernel" and any(a in r[1] for a in attention)), key=lambda r: r[2])
    seq = [("F" if ATTENTION_FORWARD in k[1] else "B", k[2], launches[k[4]][2]) for k in kernels if k[4] in launches]
    pairs: dict[str, dict[str, list]] = collections.defaultdict(lambda: dict(host=[], gpu=[], lag=[]))
    for (a, gpu_a, host_a), (b, gpu_b, host_b) in zip(seq, seq[1:]):
        pair = pairs[a + b]
        pair["host"].append(host_b - host_a)
        pair["gpu"].append(gpu_b - gpu_a)
        pair["lag"].append(gpu_b - host_b)
    return {k: dict(count=len(v["host"]), **{key: statistics.median(v[key]) / 1e3 for key in ("host", "gpu", "lag")})
            for k, v in sorted(pairs.items())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("launches")
    ap.add_argument("--window-ms", type=float, default=50.0)
    args = ap.parse_args(argv)
    try:
        rows = load(args.launches)
        compute_stream(rows)
    except (OSError, ValueError, EOFError, IndexError, TypeError) as err:
        print(f"launch_timeline: {args.launches}: not a launches.json.gz of launch rows ({err})", file=sys.stderr)
        return 2
    print("| window from, ms | compute busy | idle | host-bound idle | h2d beside |\n|---|---|---|---|---|")
    for w in windows(rows, args.window_ms * 1e3):
        print(f"| {w['start_ms']:.0f} | {w['busy']:.1f} | {w['idle']:.1f} | {w['host_bound']:.1f} | {w['h2d']:.1f} |")
    print("\n| forward blocks from, ms | blocks | span | compute busy | h2d beside | host waits |\n|---|---|---|---|---|---|")
    for g in block_medians(block_spans(rows)):
        print(f"| {g['start_ms']:.1f} | {g['blocks']} | {g['span']:.3f} | {g['busy']:.3f} | {g['h2d']:.3f} "
              f"| {g['host_wait']:.3f} |")
    print("\n| attention to attention | pairs | host spacing, ms | GPU spacing | launch-to-start lag |")
    print("|---|---|---|---|---|")
    for pair, p in pace(rows).items():
        print(f"| {pair} | {p['count']} | {p['host']:.3f} | {p['gpu']:.3f} | {p['lag']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
