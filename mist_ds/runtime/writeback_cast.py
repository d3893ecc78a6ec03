"""The 'device' write-back of ZeRO-3 under offload_param (mist_ds/config/writeback.py): each GPU-resident
optimizer sub-group's updated fp32 master is cast to 16 bits on the GPU, a chunk at a time, and copied into its
pinned 16-bit CPU partition, instead of DeepSpeed's blocking cross-device, cross-dtype `copy_` that torch
converts on the CPU through a pageable fp32 temporary (bench/accuracy/WEIGHT_OFFLOAD.md section 9: 2.86 of a
4.39 s iteration on Llama 3.2 1B, 1x H100).

It wraps one method of the DeepSpeed 0.19.8 ZeRO-3 optimizer instance,
`_reassign_or_swap_out_partitioned_parameters` (stage3.py 2854-2865), which `step()` calls after each sub-group's
Adam: for a sub-group that writes back across devices and dtypes it does the same assignment the original does
(16-bit partition <- fp32 master, rounded to nearest even either way) and then what the original does next
(`_unflatten_partitioned_parameters`); every other sub-group goes to the original. The copies are finished before
it returns, as the original's blocking copy is: the next forward's fetches read the partition from the host.
"""

from __future__ import annotations

import torch

from mist_ds.config.writeback import WRITEBACK_CHUNK_ELEMENTS

WRAPPED_METHOD = "_reassign_or_swap_out_partitioned_parameters"
"""The DeepSpeed ZeRO-3 optimizer method the 'device' way replaces per instance."""


def crosses_to_host(low: torch.Tensor | None, master: torch.Tensor) -> bool:
    """Whether writing the fp32 `master` into the 16-bit partition `low` is DeepSpeed's cross-device,
    cross-dtype write-back: `low` on the CPU, `master` on an accelerator, different dtypes (under torch autocast
    the two are one fp32 tensor and the original's copy is a no-op; a swapped-out group has no `low`)."""
    return (low is not None and low.device.type == "cpu" and master.device.type != "cpu"
            and low.dtype != master.dtype)


def cast_into(low: torch.Tensor, master: torch.Tensor, chunk_elements: int = WRITEBACK_CHUNK_ELEMENTS) -> None:
    """low <- master converted to low's dtype, `chunk_elements` at a time: each chunk is cast where `master` is,
    then copied into `low` (non-blocking into pinned memory, the copies finished before this returns). Freeing a
    chunk's cast while its copy is in flight is safe: the caching allocator hands the block to the next cast on
    the same stream, ordered after the copy."""
    if low.shape != master.shape:
        raise ValueError(f"write-back of {tuple(master.shape)} elements into a partition of {tuple(low.shape)}")
    low_flat, master_flat = low.view(-1), master.view(-1)
    asynchronous = low.is_pinned() and master.device.type == "cuda"
    for start in range(0, master_flat.numel(), chunk_elements):
        piece = master_flat[start:start + chunk_elements].to(low.dtype)
        low_flat[start:start + chunk_elements].copy_(piece, non_blocking=asynchronous)
    if asynchronous:
        torch.cuda.current_stream(master.device).synchronize()


def writes_back_across(optimizer) -> list[int]:
    """The sub-groups of a DeepSpeed ZeRO-3 optimizer whose write-back crosses to the host (crosses_to_host)."""
    lows = getattr(optimizer, "fp16_partitioned_groups_flat", None) or []
    masters = getattr(optimizer, "fp32_partitioned_groups_flat", None) or []
    return [i for i, (low, master) in enumerate(zip(lows, masters)) if crosses_to_host(low, master)]


def install_device_writeback(optimizer) -> int:
    """Wrap `optimizer`'s WRAPPED_METHOD so its cross-device write-backs cast on the device (module docstring).
    Returns how many sub-groups write back across devices now (0: nothing installed). An optimizer without the
    method or the partitions it reads (not DeepSpeed 0.19's ZeRO-3) raises TypeError: the way was asked for
    and cannot run."""
    if not hasattr(optimizer, WRAPPED_METHOD) or not hasattr(optimizer, "fp32_partitioned_groups_flat"):
        raise TypeError(f"{type(optimizer).__name__} is not DeepSpeed's ZeRO-3 optimizer: it has no {WRAPPED_METHOD}")
    count = len(writes_back_across(optimizer))
    if count == 0:
        return 0
    original = getattr(optimizer, WRAPPED_METHOD)

    def reassign(sub_group_id: int) -> None:
        low = optimizer.fp16_partitioned_groups_flat[sub_group_id]
        master = optimizer.fp32_partitioned_groups_flat[sub_group_id]
        if not crosses_to_host(low, master):
            return original(sub_group_id)
        cast_into(low.data, master.data)
        optimizer._unflatten_partitioned_parameters(sub_group_id)

    setattr(optimizer, WRAPPED_METHOD, reassign)
    return count


def apply_writeback_cast(optimizer, way: str) -> str | None:
    """Run `way` (config/writeback.py WRITEBACK_CASTS) on a DeepSpeed ZeRO-3 optimizer: 'device' installs
    install_device_writeback, 'host' leaves DeepSpeed's line. Returns the RunReport.writeback_cast record: the
    way, where some sub-group writes back across devices; None where none does (no offload_param, or every
    fp32 master on the CPU)."""
    if way == "device":
        return "device" if install_device_writeback(optimizer) else None
    return "host" if writes_back_across(optimizer) else None
