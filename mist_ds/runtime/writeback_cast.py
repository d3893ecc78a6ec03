"""The 'device' write-back of ZeRO-3 (mist_ds/config/writeback.py): after each optimizer sub-group's Adam, its
updated fp32 master reaches its 16-bit partition on the other side of the PCIe bus by DMA from pinned memory, instead
of DeepSpeed's blocking cross-device, cross-dtype `copy_`, which torch converts on the CPU through a pageable
temporary and copies pageable:

* a GPU master over a CPU partition (offload_param): cast to 16 bits on the GPU a chunk at a time and copied into
  the pinned partition (cast_into; DeepSpeed's way read the fp32 through a fresh pageable tensor:
  bench/accuracy/WEIGHT_OFFLOAD.md section 9, 2.86 of a 4.39 s iteration on Llama 3.2 1B, 1x H100);
* a CPU master over a GPU partition (optimizer offload without offload_param): converted on the host a chunk at a
  time into one of two pinned staging buffers and copied from there while the next chunk converts (upload_into;
  DeepSpeed's way converted into a pageable bf16 tensor and copied pageable, cost/work.py pageable_h2d_bytes).

It wraps one method of the DeepSpeed 0.19.8 ZeRO-3 optimizer instance,
`_reassign_or_swap_out_partitioned_parameters` (stage3.py 2854-2865), which `step()` calls after each sub-group's
Adam: for a sub-group that writes back across devices and dtypes it does the same assignment the original does
(16-bit partition <- fp32 master, rounded to nearest even either way) and then what the original does next
(`_unflatten_partitioned_parameters`); every other sub-group goes to the original. The copies are finished before
it returns, as the original's blocking copy is: the next forward's fetches read the partition.
"""

from __future__ import annotations

import torch

from mist_ds.config.writeback import STAGING_BUFFERS, WRITEBACK_CHUNK_ELEMENTS

WRAPPED_METHOD = "_reassign_or_swap_out_partitioned_parameters"
"""The DeepSpeed ZeRO-3 optimizer method the 'device' way replaces per instance."""


def crosses_to_host(low: torch.Tensor | None, master: torch.Tensor) -> bool:
    """Whether writing the fp32 `master` into the 16-bit partition `low` is DeepSpeed's cross-device,
    cross-dtype write-back to the host: `low` on the CPU, `master` on an accelerator, different dtypes (under
    torch autocast the two are one fp32 tensor and the original's copy is a no-op; a swapped-out group has no
    `low`)."""
    return (low is not None and low.device.type == "cpu" and master.device.type != "cpu"
            and low.dtype != master.dtype)


def crosses_to_device(low: torch.Tensor | None, master: torch.Tensor) -> bool:
    """The same write-back the other way: `master` on the CPU (an offloaded sub-group), `low` on an accelerator."""
    return (low is not None and low.device.type != "cpu" and master.device.type == "cpu"
            and low.dtype != master.dtype)


def _check_sizes(low: torch.Tensor, master: torch.Tensor) -> None:
    if low.shape != master.shape:
        raise ValueError(f"write-back of {tuple(master.shape)} elements into a partition of {tuple(low.shape)}")


def cast_into(low: torch.Tensor, master: torch.Tensor, chunk_elements: int = WRITEBACK_CHUNK_ELEMENTS) -> None:
    """low <- master converted to low's dtype, `chunk_elements` at a time: each chunk is cast where `master` is,
    then copied into `low` (non-blocking into pinned memory, the copies finished before this returns). Freeing a
    chunk's cast while its copy is in flight is safe: the caching allocator hands the block to the next cast on
    the same stream, ordered after the copy."""
    _check_sizes(low, master)
    low_flat, master_flat = low.view(-1), master.view(-1)
    asynchronous = low.is_pinned() and master.device.type == "cuda"
    for start in range(0, master_flat.numel(), chunk_elements):
        piece = master_flat[start:start + chunk_elements].to(low.dtype)
        low_flat[start:start + chunk_elements].copy_(piece, non_blocking=asynchronous)
    if asynchronous:
        torch.cuda.current_stream(master.device).synchronize()


def upload_into(low: torch.Tensor, master: torch.Tensor, stages: list[torch.Tensor]) -> None:
    """low <- master converted to low's dtype through the host `stages` (equal 1-D buffers of low's dtype): each
    chunk of a stage's size is converted on the host into the next stage and copied from it (non-blocking from
    pinned memory onto a GPU); a stage is refilled only once its previous copy has finished (its event), and every
    copy has finished when this returns."""
    _check_sizes(low, master)
    low_flat, master_flat = low.view(-1), master.view(-1)
    chunk = stages[0].numel()
    asynchronous = low.device.type == "cuda" and all(stage.is_pinned() for stage in stages)
    done: list[torch.cuda.Event | None] = [None] * len(stages)
    for index, start in enumerate(range(0, master_flat.numel(), chunk)):
        slot, count = index % len(stages), min(chunk, master_flat.numel() - start)
        if done[slot] is not None:
            done[slot].synchronize()
        stages[slot][:count].copy_(master_flat[start:start + count])
        low_flat[start:start + count].copy_(stages[slot][:count], non_blocking=asynchronous)
        if asynchronous:
            done[slot] = torch.cuda.Event()
            done[slot].record(torch.cuda.current_stream(low.device))
    if asynchronous:
        torch.cuda.current_stream(low.device).synchronize()


def cross_device_sub_groups(optimizer) -> list[int]:
    """The sub-groups of a DeepSpeed ZeRO-3 optimizer whose write-back crosses devices either way."""
    lows = getattr(optimizer, "fp16_partitioned_groups_flat", None) or []
    masters = getattr(optimizer, "fp32_partitioned_groups_flat", None) or []
    return [i for i, (low, master) in enumerate(zip(lows, masters))
            if crosses_to_host(low, master) or crosses_to_device(low, master)]


def install_device_writeback(optimizer) -> int:
    """Wrap `optimizer`'s WRAPPED_METHOD so its cross-device write-backs go by DMA from pinned memory (module
    docstring). Returns how many sub-groups write back across devices now (0: nothing installed). An optimizer
    without the method or the partitions it reads (not DeepSpeed 0.19's ZeRO-3) raises TypeError: the way was
    asked for and cannot run. The staging buffers of upload_into are pinned on first use."""
    if not hasattr(optimizer, WRAPPED_METHOD) or not hasattr(optimizer, "fp32_partitioned_groups_flat"):
        raise TypeError(f"{type(optimizer).__name__} is not DeepSpeed's ZeRO-3 optimizer: it has no {WRAPPED_METHOD}")
    count = len(cross_device_sub_groups(optimizer))
    if count == 0:
        return 0
    original = getattr(optimizer, WRAPPED_METHOD)
    stages: list[torch.Tensor] = []

    def reassign(sub_group_id: int) -> None:
        low = optimizer.fp16_partitioned_groups_flat[sub_group_id]
        master = optimizer.fp32_partitioned_groups_flat[sub_group_id]
        if crosses_to_host(low, master):
            cast_into(low.data, master.data)
        elif crosses_to_device(low, master):
            if not stages:
                stages.extend(torch.empty(WRITEBACK_CHUNK_ELEMENTS, dtype=low.dtype).pin_memory()
                              for _ in range(STAGING_BUFFERS))
            upload_into(low.data, master.data, stages)
        else:
            return original(sub_group_id)
        optimizer._unflatten_partitioned_parameters(sub_group_id)

    setattr(optimizer, WRAPPED_METHOD, reassign)
    return count


def apply_writeback_cast(optimizer, way: str) -> str | None:
    """Run `way` (config/writeback.py WRITEBACK_CASTS) on a DeepSpeed ZeRO-3 optimizer: 'device' installs
    install_device_writeback, 'host' leaves DeepSpeed's line. Returns the RunReport.writeback_cast record: the
    way, where some sub-group writes back across devices; None where none does (no sub-group's fp32 master and
    16-bit partition on different devices)."""
    if way == "device":
        return "device" if install_device_writeback(optimizer) else None
    return "host" if cross_device_sub_groups(optimizer) else None
