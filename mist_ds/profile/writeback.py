"""The rate of the runtime's 'device' write-back of CPU fp32 masters into 16-bit GPU partitions (section `writeback`).

ZeRO-3 with the optimizer offloaded and the weights on the GPU ends every step with DeepSpeedCPUAdam per sub-group,
each followed by that sub-group's write-back, which the runtime runs as runtime/writeback_cast.py upload_into (the
master converted on the host into two pinned staging chunks, each copied by DMA while the next converts). This times
that function, the runtime's own code, on sub-groups of the size the emitted ds_config.json sets
(config/executors.py sub_group_size_elements): each sub-group starts its chunk pipeline cold, as in the step. The
conversion runs on torch's intra-op threads, which every rank of a node spends at once in a training step (DeepSpeed's
launcher leaves OMP_NUM_THREADS unset): so the rate is measured with rank 0 alone and then with every local rank at
once, and the profile takes the slowest rank of the latter (hardware.py staged_h2d_bandwidth_gbps).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist

from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.config.writeback import STAGING_BUFFERS, WRITEBACK_CHUNK_ELEMENTS
from mist_ds.runtime.writeback_cast import upload_into

SUB_GROUP_ELEMENTS = STOCK_DEEPSPEED.constants.sub_group_size_elements
"""Elements of one timed write-back: the ZeRO-3 optimizer sub-group the emitted ds_config.json sets."""


def _time_sub_groups(masters: list[torch.Tensor], low: torch.Tensor, stages: list[torch.Tensor],
                     repeats: int) -> float:
    """Median seconds of one sub-group's upload_into over `repeats` passes over `masters` (after one untimed)."""
    upload_into(low, masters[0], stages)
    times = []
    for _ in range(repeats):
        for master in masters:
            t0 = time.perf_counter()
            upload_into(low, master, stages)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def staged_upload(dev: torch.device, world_local: int, sub_groups: int, repeats: int, tick: Callable[[], None],
                  elements: int = SUB_GROUP_ELEMENTS) -> list[dict[str, Any]]:
    """Per mode (rank 0 alone, then every local rank at once on a node of several GPUs) and taking rank: the median
    seconds of one sub-group's write-back of `elements` and its GB/s of 16-bit bytes. Records of every rank, on rank
    0 ([] elsewhere). On a CPU `dev` the staging buffers are not pinned and the copies are plain (upload_into's
    synchronous path: the CPU tests of this section)."""
    me = dist.get_rank() if dist.is_initialized() else 0
    masters = [torch.randn(elements) for _ in range(sub_groups)]
    low = torch.empty(elements, dtype=torch.bfloat16, device=dev)
    stages = [torch.empty(WRITEBACK_CHUNK_ELEMENTS, dtype=torch.bfloat16, pin_memory=dev.type == "cuda")
              for _ in range(STAGING_BUFFERS)]
    mine = []
    for concurrent in ([1, world_local] if world_local > 1 else [1]):
        if dist.is_initialized():
            dist.barrier()
        if me < concurrent:
            seconds = _time_sub_groups(masters, low, stages, repeats)
            mine.append({"concurrent_gpus": concurrent, "rank": me, "elements": elements,
                         "time_s": seconds, "gbps": low.element_size() * elements / seconds / 1e9})
        tick()
    records = [mine]
    if dist.is_initialized():
        records = [None] * dist.get_world_size()
        dist.all_gather_object(records, mine)
    return [r for rank_records in records for r in rank_records] if me == 0 else []
