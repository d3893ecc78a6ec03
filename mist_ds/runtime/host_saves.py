"""Activation offload of the stock executor (model.py OffloadedBlock): saved-tensor hooks that keep
every tensor autograd saves in an offloaded block in host memory, copied out without blocking the
host, on every torch version.

Why our own hooks: torch's save_on_cpu(pin_memory=True) changed its pack copy. torch 2.11
(the GPU machines' torch/autograd/graph.py save_on_cpu.pack_to_cpu) copies with
`packed.copy_(tensor)`, a blocking device-to-host copy that runs at::cuda::memcpy_and_sync
(aten/src/ATen/native/cuda/Copy.cu copy_kernel_cuda): the host waits for the compute stream at
every save call, so an offloaded block's host work, kernels and copies run one after another
(bench/accuracy/ACT_OFFLOAD.md: l7-2g-c78-z3-mb1-rc16-act16). torch 2.13 (pytorch/pytorch PR 175421;
torch/autograd/graph.py save_on_cpu in the 2.13.0 venv) packs with
`packed.copy_(tensor, non_blocking=is_pinnable)` into `torch.empty(tensor.size(), dtype, layout,
pin_memory=is_pinnable)` and unpacks with `tensor.to(device, non_blocking=pin_memory)`. The hooks
here are that 2.13 code, so the runtime's speed (and what cost/act_offload.py prices as
'non_blocking') does not depend on the installed torch.

Why the non-blocking copy is safe:
* Same-stream ordering. The copy is queued on the current (compute) stream after the kernel that
  produced the tensor. When the GPU tensor is freed (autograd holds only the packed copy), the
  caching allocator hands its block only to later work on the stream it belongs to, which runs
  after the copy; a block used on another stream is fenced by record_stream (DeepSpeed's ZeRO-3
  free_param calls param.data.record_stream(current_stream()) before freeing a gathered weight:
  deepspeed/runtime/zero/partition_parameters.py free_param).
* The pinned buffer comes from torch's CachingHostAllocator (torch.empty(..., pin_memory=True));
  a non_blocking copy records an event on the stream, and the allocator reuses a freed pinned
  block only after its events complete (aten/src/ATen/core/CachingHostAllocator.h).
* Backward: the unpack's `.to(device, non_blocking=True)` is queued on the current stream, after
  the forward's copy out (the backward runs on the compute stream too), and before the kernels
  that read it.
* An in-place change after the pack does not reach the copy. With saved-tensor hooks autograd does
  NOT check the version counter (unlike a plainly saved tensor: checked on CPU with torch 2.13, where
  `x.add_(1)` after the save raises without hooks and passes silently under save_on_cpu); what keeps
  the copy right is the order above: the copy is queued at pack time, before any later kernel of
  the stream that could modify the tensor (the block's ops all run on the compute stream).
* The host may read the packed tensor only after synchronising (torch's own warning in the
  save_on_cpu docstring); nothing here reads it on the host.
Tensors that are not on a CUDA device (CPU runs, CPU tests) are copied into plain host memory with
a blocking copy, as save_on_cpu does when a tensor is not pinnable.
"""

from __future__ import annotations

import torch
from torch.autograd.graph import saved_tensors_hooks

from mist_ds.cost.conditions import stock_act_offload

COPY_MODE = "non_blocking"
"""How the pack copies (RunReport.activation_offload_copy; cost/act_offload.py prices each mode)."""


def pack_to_host(tensor: torch.Tensor) -> tuple[torch.device, torch.Tensor]:
    """A host copy of `tensor`: pinned and non-blocking for a CUDA tensor, plain otherwise."""
    pinned = tensor.device.type == "cuda" and not tensor.is_sparse
    packed = torch.empty(tensor.size(), dtype=tensor.dtype, layout=tensor.layout, pin_memory=pinned)
    packed.copy_(tensor, non_blocking=pinned)
    return tensor.device, packed


def unpack_from_host(packed: tuple[torch.device, torch.Tensor]) -> torch.Tensor:
    """The saved tensor back on its device, queued on the current stream (non-blocking from pinned)."""
    device, tensor = packed
    return tensor.to(device, non_blocking=device.type == "cuda")


class save_on_host(saved_tensors_hooks):
    """Context manager: tensors saved for backward inside it live in host memory (module docstring)."""

    def __init__(self) -> None:
        super().__init__(pack_to_host, unpack_from_host)


def activation_offload_copy(plan) -> str | None:
    """RunReport.activation_offload_copy of a run of `plan`: COPY_MODE where the stock executor
    offloads blocks through these hooks; None otherwise (no offloaded block, or mistpipe, whose
    engine moves activations itself and runs offloaded blocks as plain blocks)."""
    return COPY_MODE if stock_act_offload(plan) else None
