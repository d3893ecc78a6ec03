#!/usr/bin/env python3
"""Pinned host<->device copy rates: one hot buffer (how mist_ds.profile measures them, comm.py copies and
interference.py) against copies streaming through a large pinned region (how offload traffic runs: the
mistpipe swap moves 60+ GB of distinct pinned pages a step, bench/results/runtime/swap_trace_S34).

    python3 bench/runtime/copy_streaming.py --region-gib 16 --out RESULT.json

Per direction and piece size: GB/s of `--passes` copies of the same piece (hot) and of consecutive pieces
through the region (streaming); then both directions at once on two streams (each stream's busy span by
CUDA events), hot and streaming (h2d reads the region's first half, d2h writes its second half). GPU only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

MIB = 2**20


def _timed(jobs: list[tuple[torch.cuda.Stream, list]]) -> list[float]:
    """Seconds each stream spends on its list of (dst, src) copies, all streams started together."""
    torch.cuda.synchronize()
    marks = []
    for stream, copies in jobs:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        with torch.cuda.stream(stream):
            start.record(stream)
            for dst, src in copies:
                dst.copy_(src, non_blocking=True)
            end.record(stream)
        marks.append((start, end))
    torch.cuda.synchronize()
    return [start.elapsed_time(end) / 1e3 for start, end in marks]


def measure(region_gib: float, piece_mib: int, passes: int) -> dict:
    piece = piece_mib * MIB
    host = torch.empty(int(region_gib * 2**30), dtype=torch.uint8, pin_memory=True)
    host.fill_(1)
    count = host.numel() // piece
    half = count // 2
    dev_in, dev_out = (torch.ones(piece, dtype=torch.uint8, device="cuda") for _ in range(2))
    pieces = [host[i * piece:(i + 1) * piece] for i in range(count)]
    h2d, d2h = torch.cuda.Stream(), torch.cuda.Stream()
    n = min(passes, half)
    plans = {
        "hot_h2d": [(h2d, [(dev_in, pieces[0])] * n)],
        "hot_d2h": [(d2h, [(pieces[0], dev_out)] * n)],
        "stream_h2d": [(h2d, [(dev_in, p) for p in pieces[:n]])],
        "stream_d2h": [(d2h, [(p, dev_out) for p in pieces[half:half + n]])],
        "hot_duplex": [(h2d, [(dev_in, pieces[0])] * n), (d2h, [(pieces[1], dev_out)] * n)],
        "stream_duplex": [(h2d, [(dev_in, p) for p in pieces[:n]]),
                          (d2h, [(p, dev_out) for p in pieces[half:half + n]])],
    }
    _timed(plans["hot_h2d"][:1])  # warm-up: the copy engines, the pinned mapping
    out = {"piece_mib": piece_mib, "copies": n, "region_gib": region_gib}
    for _ in range(2):
        for name, jobs in plans.items():
            seconds = _timed(jobs)
            out.setdefault(name, []).append([round(n * piece / s / 1e9, 2) for s in seconds])
    del host
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region-gib", type=float, default=16.0)
    parser.add_argument("--pieces-mib", default="64,256")
    parser.add_argument("--passes", type=int, default=120)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("error: needs a GPU", file=sys.stderr)
        return 2
    started = time.time()
    rows = [measure(args.region_gib, int(p), args.passes) for p in args.pieces_mib.split(",")]
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows,
              "seconds": round(time.time() - started, 1),
              "note": "GB/s per stream (duplex: [h2d, d2h]); two repeats each, in order"}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
