"""Interference: how much each of compute (bf16 GEMM), NCCL (all-reduce over the node), H2D and
D2H (pinned) slows down when it overlaps others, measured for every set of two or more channels.

Method: each channel gets its own stream; a `torch.cuda._sleep` gate holds every stream until all
work is queued, so the channels start together. To measure channel c in a set, c runs work worth
about T seconds alone while the others run 3x their share in the background, so c overlaps them
from start to end; slowdown = c's time in the set / c's time alone (same gate and streams). Every
rank runs the same schedule (NCCL needs matching calls) and starts each measurement together (a barrier
before the gate), so a set's slowdowns are those of every GPU of the node running it at once, as the
cost model assumes (the ranks of a plan copy at the same time) and as the profile's copy bandwidths are
measured (comm.py copies). Without the barrier, sets without NCCL could drift apart across ranks: the
h200 profile's h2d+d2h pair (1.66 / 1.08, measured so) is milder than both GPUs copying both ways at
once (bench/engine/pcie_share.py: 33.7 GB/s per direction against 50.8 / 53.2 one way: 1.51 / 1.58)
and than the optimizer swap's traffic (bench/engine/STEP_TIMELINE.md: 1.98 / 1.25). Rank 0's numbers
are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist

from mist_ds.profile.fit import channel_combos
from mist_ds.profile.timing import hold_gpu

GATE_S = 0.02  # GPU-side hold while the CPU queues the work


class _Channels:
    def __init__(self, dev: torch.device, nccl: bool, copy_bytes: int = 256 * 2**20, gemm: int = 8192):
        """gemm 0: the copies alone (no compute channel, no GEMM operands on the device)."""
        self.dev = dev
        self.compute = gemm > 0
        if self.compute:
            self.a = torch.randn(gemm, gemm, device=dev, dtype=torch.bfloat16)
            self.b = torch.randn(gemm, gemm, device=dev, dtype=torch.bfloat16)
            self.c = torch.empty(gemm, gemm, device=dev, dtype=torch.bfloat16)
        self.red = torch.randn(copy_bytes // 2, device=dev, dtype=torch.bfloat16) if nccl else None
        self.host_src = torch.empty(copy_bytes, dtype=torch.uint8, pin_memory=True).random_(0, 255)
        self.host_dst = torch.empty(copy_bytes, dtype=torch.uint8, pin_memory=True)
        self.dev_dst = torch.empty(copy_bytes, dtype=torch.uint8, device=dev)
        self.dev_src = torch.randint(0, 255, (copy_bytes,), dtype=torch.uint8, device=dev)
        self.streams = {name: torch.cuda.Stream(dev) for name in self.names()}
        self.ops: dict[str, Callable[[], Any]] = {
            "compute": lambda: torch.mm(self.a, self.b, out=self.c),
            "nccl": lambda: dist.all_reduce(self.red),
            "h2d": lambda: self.dev_dst.copy_(self.host_src, non_blocking=True),
            "d2h": lambda: self.host_dst.copy_(self.dev_src, non_blocking=True),
        }

    def names(self) -> list[str]:
        return (["compute"] if self.compute else []) + (["nccl"] if self.red is not None else []) + ["h2d", "d2h"]

    def run(self, counts: dict[str, int], measured: str) -> float:
        """Queue counts[ch] ops per channel behind one gate, every rank at once; return the measured
        channel's seconds."""
        if dist.is_initialized():
            dist.barrier()
        main = torch.cuda.current_stream(self.dev)
        hold_gpu(GATE_S, main)
        gate = torch.cuda.Event()
        gate.record(main)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        order = [measured] + [c for c in counts if c != measured]
        for ch in order:
            stream = self.streams[ch]
            stream.wait_event(gate)
            with torch.cuda.stream(stream):
                if ch == measured:
                    start.record(stream)
                for _ in range(counts[ch]):
                    self.ops[ch]()
                if ch == measured:
                    end.record(stream)
        torch.cuda.synchronize(self.dev)
        return start.elapsed_time(end) / 1e3


def interference(dev: torch.device, nccl: bool, target_s: float, repeats: int,
                 tick: Callable[[], None]) -> list[dict[str, Any]]:
    """Slowdown of every channel in every set of >= 2 channels (see module doc)."""
    ch = _Channels(dev, nccl)
    names = ch.names()
    counts = _counts(ch, names, target_s)
    if nccl:  # every rank must issue the same number of all-reduces: use rank 0's counts
        box = [counts]
        dist.broadcast_object_list(box, src=0)
        counts = box[0]
    alone = _alone(ch, names, counts, repeats)
    out = []
    for combo in channel_combos(names):
        out.append({"channels": list(combo), "slowdowns": _set_slowdowns(ch, combo, counts, alone, repeats),
                    "alone_s": [alone[c] for c in combo]})
        tick()
    return out


PROBE_COPY_BYTES = 64 * 2**20
"""The start-up probe's copies: about the GPU swap's 60 MiB chunk (bench/engine/pcie_share.py ran 60 MiB copies
both ways at 49.7 GB/s per direction on S48's H100 node and 256 MiB ones at 45.0,
bench/results/runtime/h100_interference_S48/), and a quarter of the profiler's device and pinned memory."""


def copy_pair_slowdowns(dev: torch.device, target_s: float = 0.03, repeats: int = 5,
                        copy_bytes: int = PROBE_COPY_BYTES) -> tuple[float, float]:
    """(h2d, d2h): each direction's slowdown beside the other, measured as interference() measures the
    pair (gate, 3x background, medians, the profiler's target time and repeats) with `copy_bytes` pinned
    copies alone on the device: the runtime's start-up probe of this machine (runtime/copy_probe.py)."""
    ch = _Channels(dev, nccl=False, copy_bytes=copy_bytes, gemm=0)
    names = ch.names()
    counts = _counts(ch, names, target_s)
    alone = _alone(ch, names, counts, repeats)
    h2d, d2h = _set_slowdowns(ch, ("h2d", "d2h"), counts, alone, repeats)
    return h2d, d2h


def _counts(ch: _Channels, names: list[str], target_s: float) -> dict[str, int]:
    """Ops per channel worth about target_s alone (after a warm-up: NCCL communicator, cuBLAS handle,
    pinned pages)."""
    for name in names:
        ch.run({name: 2}, name)
    unit = {name: min(ch.run({name: 4}, name) / 4 for _ in range(2)) for name in names}
    return {name: max(1, round(target_s / unit[name])) for name in names}


def _alone(ch: _Channels, names: list[str], counts: dict[str, int], repeats: int) -> dict[str, float]:
    """Each channel's median time running its counts alone."""
    return {name: _median([ch.run({name: counts[name]}, name) for _ in range(repeats)]) for name in names}


def _set_slowdowns(ch: _Channels, combo, counts: dict[str, int], alone: dict[str, float],
                   repeats: int) -> list[float]:
    """Each channel of `combo`: its median time beside 3x the others' work over its time alone."""
    slowdowns = []
    for measured in combo:
        work = {c: counts[c] if c == measured else 3 * counts[c] for c in combo}
        slowdowns.append(_median([ch.run(work, measured) for _ in range(repeats)]) / alone[measured])
    return slowdowns


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
