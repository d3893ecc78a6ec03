#!/usr/bin/env python3
"""Where a profiled ZeRO-3 step's NCCL-only time comes from (CPU only; bench/accuracy/ZERO3_EXPOSED.md).

    python bench/accuracy/zero3_exposed.py RANK0.trace.json.gz RANK1.trace.json.gz [--layers 32]

Both ranks' traces of the same step (bench/runtime/traced_train.py; one host, so their timestamps share
a clock: the matching collectives end within microseconds on both ranks). Every collective is paired
with its twin on the other rank (n-th AllGather with n-th AllGather, ...): the data moves only once
both ranks' kernels run, so a kernel's time before its twin starts is waiting for the peer and the rest
is transfer. NCCL-only time (an NCCL kernel runs, no other kernel on any stream) is split by that, by
collective and by phase (forward blocks, backward blocks, the micro-batch boundary: last backward
attention kernel to the next forward's first, and the tail after the last micro-batch). Per pass it
also prints wall, compute (non-NCCL kernels) and idle (no kernel at all) per rank.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import Kernel, load_kernels, micro_batches  # noqa: E402
from mist_ds.runtime.mistpipe.trace import union  # noqa: E402

KINDS = ("AllGather", "ReduceScatter", "AllReduce")


def minus(spans: list[tuple[float, float]], cut: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """`spans` (sorted, disjoint) minus the union `cut` (sorted, disjoint)."""
    out, j = [], 0
    for start, end in spans:
        cur = start
        while j < len(cut) and cut[j][1] <= cur:
            j += 1
        k = j
        while k < len(cut) and cut[k][0] < end:
            if cut[k][0] > cur:
                out.append((cur, cut[k][0]))
            cur = max(cur, cut[k][1])
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def covered(lo: float, hi: float, spans: list[tuple[float, float]]) -> float:
    """Milliseconds of [lo, hi) (microseconds) inside `spans`."""
    return sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in spans) / 1e3


def twins(ranks: list[list[Kernel]]) -> dict[tuple[int, float], float]:
    """(rank, kernel start) -> the start of the later of the two ranks' kernels of that collective."""
    out = {}
    for kind in KINDS:
        a, b = ([k for k in ks if kind in k.name] for ks in ranks)
        if len(a) != len(b):
            raise SystemExit(f"error: {len(a)} vs {len(b)} {kind} kernels: not the same step")
        for x, y in zip(a, b):
            out[(0, x.start)] = out[(1, y.start)] = max(x.start, y.start)
    return out


def phase_of(mbs, ts: float) -> str:
    for mb in mbs:
        if ts < mb.fwd[0]:
            return "boundary"
        if ts < mb.bwd[0]:
            return "fwd"
        if ts <= mb.bwd[-1]:
            return "bwd"
    return "tail"


def exposed_split(ks: list[Kernel], mbs, both: dict, rank: int) -> dict[tuple[str, str, str], float]:
    """NCCL-only ms by (phase, collective, 'wait-peer' | 'transfer')."""
    compute = union([(k.start, k.end) for k in ks if k.category != "nccl"])
    out: dict[tuple[str, str, str], float] = defaultdict(float)
    for k in ks:
        if k.category != "nccl":
            continue
        kind = next(n for n in KINDS if n in k.name)
        start = both[(rank, k.start)]
        for lo, hi, part in ((k.start, min(start, k.end), "wait-peer"), (max(start, k.start), k.end, "transfer")):
            if hi > lo:
                out[(phase_of(mbs, k.start), kind, part)] += sum(b - a for a, b in minus([(lo, hi)], compute)) / 1e3
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", type=Path, nargs=2, help="rank 0 and rank 1 traces of one step")
    parser.add_argument("--layers", type=int, default=32, help="transformer blocks of the stage")
    args = parser.parse_args(argv)
    ranks = [load_kernels(p) for p in args.traces]
    mbs = [micro_batches(ks, args.layers) for ks in ranks]
    both, t0 = twins(ranks), min(ks[0].start for ks in ranks)
    print("## collectives: kernel time vs transfer (both ranks started), ms per step\n")
    print("| collective | calls | transfer | rank 0 kernel | rank 1 kernel |\n|---|---|---|---|---|")
    for kind in KINDS:
        per = [[k for k in ks if kind in k.name] for ks in ranks]
        work = sum(min(x.end, y.end) - max(x.start, y.start) for x, y in zip(*per)) / 1e3
        kern = [sum(k.end - k.start for k in p) / 1e3 for p in per]
        print(f"| {kind} | {len(per[0])} | {work:.1f} | {kern[0]:.1f} | {kern[1]:.1f} |")
    print("\n## NCCL-only ms per step by phase, collective and part\n")
    split = [exposed_split(ks, m, both, r) for r, (ks, m) in enumerate(zip(ranks, mbs))]
    keys = sorted(set(split[0]) | set(split[1]), key=lambda k: -(split[0].get(k, 0) + split[1].get(k, 0)))
    print("| phase | collective | part | rank 0 | rank 1 |\n|---|---|---|---|---|")
    for key in keys:
        print(f"| {' | '.join(key)} | {split[0].get(key, 0.0):.1f} | {split[1].get(key, 0.0):.1f} |")
    print(f"| all | | | {sum(split[0].values()):.1f} | {sum(split[1].values()):.1f} |")
    print("\n## per pass (blocks 0..L-2 of each pass: first to last attention kernel), ms\n")
    print("| micro-batch | pass | rank | start | wall | compute | NCCL-only | idle |\n|---|---|---|---|---|---|---|---|")
    for r, (ks, m) in enumerate(zip(ranks, mbs)):
        compute = union([(k.start, k.end) for k in ks if k.category != "nccl"])
        busy = union([(k.start, k.end) for k in ks])
        nccl_only = minus(union([(k.start, k.end) for k in ks if k.category == "nccl"]), compute)
        for i, mb in enumerate(m):
            for name, ts in (("fwd", mb.fwd), ("bwd", mb.bwd)):
                lo, hi = ts[0], ts[-1]
                print(f"| {i} | {name} | {r} | {(lo - t0) / 1e3:.1f} | {(hi - lo) / 1e3:.1f} | "
                      f"{covered(lo, hi, compute):.1f} | {covered(lo, hi, nccl_only):.1f} | "
                      f"{(hi - lo) / 1e3 - covered(lo, hi, busy):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
