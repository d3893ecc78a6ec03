"""Multi-GPU measurements: NCCL collectives per group, pinned host<->device copies with every GPU
copying at once. Every rank calls these in the same order (collectives must match)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist

from mist_ds.profile.fit import summarize
from mist_ds.profile.grids import Grids
from mist_ds.profile.timing import time_region

KINDS = ("all_reduce", "all_gather", "reduce_scatter", "p2p")


def deterministic_inner(nbytes: int, latency_s: float = 20e-6, bw: float = 100e9) -> int:
    """Calls per timed sample, from the size alone: every rank must issue the same count."""
    return max(1, min(50, int(2e-3 / (latency_s + nbytes / bw))))


def _collective_fn(kind: str, nbytes: int, ranks: tuple[int, ...], group, dev: torch.device) -> Callable[[], Any]:
    g = len(ranks)
    numel = max(g, nbytes // 2 // g * g)  # bf16 elements, divisible by the group size
    full = torch.randn(numel, device=dev, dtype=torch.bfloat16)
    shard = torch.randn(numel // g, device=dev, dtype=torch.bfloat16)
    if kind == "all_reduce":
        return lambda: dist.all_reduce(full, group=group)
    if kind == "all_gather":
        return lambda: dist.all_gather_into_tensor(full, shard, group=group)
    if kind == "reduce_scatter":
        return lambda: dist.reduce_scatter_tensor(shard, full, group=group)
    me = dist.get_rank()
    peer = ranks[1] if me == ranks[0] else ranks[0]
    recv = torch.empty_like(full)

    def sendrecv() -> None:  # both directions at once, as a pipeline's steady state does
        ops = [dist.P2POp(dist.isend, full, peer, group), dist.P2POp(dist.irecv, recv, peer, group)]
        for req in dist.batch_isend_irecv(ops):
            req.wait()
    return sendrecv


def collectives(groups: list[tuple[tuple[int, ...], str]], grids: Grids, dev: torch.device,
                tick: Callable[[], None]) -> list[dict[str, Any]]:
    """Time every kind at every size in every (ranks, scope) group; p2p on each group's first two
    ranks. Records come from the group's first rank. All ranks must call this."""
    handles = [dist.new_group(list(ranks)) for ranks, _ in groups]
    pairs = [dist.new_group(list(ranks[:2])) for ranks, _ in groups]
    me = dist.get_rank()
    out = []
    for (ranks, scope), group, pair in zip(groups, handles, pairs):
        for kind in KINDS:
            members = ranks[:2] if kind == "p2p" else ranks
            if me in members:
                for nbytes in grids.collective_bytes:
                    fn = _collective_fn(kind, nbytes, members, pair if kind == "p2p" else group, dev)
                    s = summarize(time_region(fn, warmup=grids.warmup, repeats=grids.repeats,
                                              inner=deterministic_inner(nbytes)))
                    out.append({"kind": kind, "scope": scope, "group_size": len(members), "nbytes": nbytes,
                                "time_s": s.median, "spread": s.spread})
            dist.barrier()
            tick()
    return out if me == 0 else []


def copies(grids: Grids, dev: torch.device, world_local: int, tick: Callable[[], None]) -> list[dict[str, Any]]:
    """Pinned H2D and D2H per size: first rank 0 alone, then every local rank at once (PCIe
    switches and host memory are shared, so the concurrent figure is what offload sees)."""
    me = dist.get_rank() if dist.is_initialized() else 0
    biggest = max(grids.copy_bytes)
    host = torch.empty(biggest, dtype=torch.uint8, pin_memory=True)
    device = torch.empty(biggest, dtype=torch.uint8, device=dev)
    host.random_(0, 255)
    out = []
    modes = [1, world_local] if world_local > 1 else [1]
    for concurrent in modes:
        for direction in ("h2d", "d2h"):
            for nbytes in grids.copy_bytes:
                if dist.is_initialized():
                    dist.barrier()
                if me >= concurrent:
                    continue
                src, dst = (host[:nbytes], device[:nbytes]) if direction == "h2d" else (device[:nbytes], host[:nbytes])
                s = summarize(time_region(lambda: dst.copy_(src, non_blocking=True), warmup=grids.warmup,
                                          repeats=grids.repeats, inner=deterministic_inner(nbytes, 10e-6, 20e9)))
                out.append({"direction": direction, "concurrent_gpus": concurrent, "nbytes": nbytes,
                            "time_s": s.median, "spread": s.spread})
            tick()
    if dist.is_initialized():
        dist.barrier()
    return out if me == 0 else []
