"""Fail fast on host memory (issue 18): before the model or the engine allocates anything, every
rank states what its node must hold for it and what the node has available; when a node's ranks
need more than it has, every rank exits 3 with one line (needed vs available, per node) instead of
being killed by the kernel minutes later.

A rank needs its stage's predicted peak host memory (plan.prediction: StagePrediction.cpu_memory_bytes,
the process base plus the offloaded state, cost/host_memory.py) less what the process already holds
(its resident memory is already out of MemAvailable). A plan without a prediction is not checked.
Plans that pass may still be killed (the model is off by up to ~14% on the committed runs);
mist_ds.run then records status 'killed' and moves on to the next plan.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mist_ds.config import Plan
from mist_ds.config.units import GIB

AVAILABLE_ENV = "MIST_DS_HOST_MEMORY_AVAILABLE_BYTES"
"""Set to a byte count to pretend every node has that much memory available (tests; emulating a
smaller node); unset: /proc/meminfo MemAvailable."""
MESSAGE_PREFIX = "host memory:"
"""How a RunReport's error_message starts when this check stopped the run (mist_ds.run reads it)."""


@dataclass(frozen=True)
class RankHost:
    """One rank's host-memory statement."""

    node: int
    """Node index (hostfile order: DeepSpeed gives node n the ranks [n * gpus_per_node, ...))."""
    need_bytes: int
    """What the node must still find for this rank."""
    available_bytes: int
    """The node's available memory as this rank read it (-1: unknown)."""


def rank_need_bytes(plan: Plan, rank: int, rss_bytes: int) -> int:
    """Bytes rank `rank` still needs: its stage's predicted peak host memory (stage s owns ranks
    [s * dp * tp, (s + 1) * dp * tp): DeepSpeed's PipeModelDataParallelTopology) less what the process
    holds already. No prediction: 0 (nothing to check against)."""
    if plan.prediction is None:
        return 0
    stage = rank // plan.gpus_per_stage
    return max(0, plan.prediction.stages[stage].cpu_memory_bytes - rss_bytes)


def available_bytes() -> int:
    """$MIST_DS_HOST_MEMORY_AVAILABLE_BYTES, else MemAvailable, else -1 (unknown: no check)."""
    forced = os.environ.get(AVAILABLE_ENV, "")
    if forced:
        if not forced.isdigit():
            raise ValueError(f"{AVAILABLE_ENV}={forced!r}: expected a byte count")
        return int(forced)
    from mist_ds.runtime.measure import read_meminfo

    return read_meminfo().get("MemAvailable", -1)


def shortfall_message(statements: list[RankHost]) -> str | None:
    """One line naming every node whose ranks need more than it has available, or None."""
    nodes: dict[int, list[RankHost]] = {}
    for item in statements:
        nodes.setdefault(item.node, []).append(item)
    short = []
    for node, items in sorted(nodes.items()):
        readings = [i.available_bytes for i in items if i.available_bytes >= 0]
        if not readings:
            continue
        need, have = sum(i.need_bytes for i in items), min(readings)
        if need > have:
            short.append(f"node {node} needs {need / GIB:.1f} GiB for its {len(items)} rank(s), "
                         f"{have / GIB:.1f} GiB available")
    if not short:
        return None
    return (f"{MESSAGE_PREFIX} {'; '.join(short)} (predicted peak host memory of its processes); "
            "stopped before allocating the model")


def check_host_memory(plan: Plan, local_rank: int) -> str | None:
    """Collective (every rank calls it after the process group exists): gather every rank's
    RankHost and return the shortfall line, the same on every rank, or None when all nodes fit."""
    import torch
    import torch.distributed as dist

    from mist_ds.runtime.build import on_cpu
    from mist_ds.runtime.measure import peak_rss_bytes

    rank = dist.get_rank()
    mine = [rank // plan.cluster.gpus_per_node, rank_need_bytes(plan, rank, peak_rss_bytes()), available_bytes()]
    device = torch.device("cpu")
    if not on_cpu():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    local = torch.tensor(mine, dtype=torch.int64, device=device)
    gathered = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    return shortfall_message([RankHost(*(int(v) for v in row.tolist())) for row in gathered])
