"""Exact-size page-locked host buffers: every host buffer of the engine (streams.py host_buffer).

Why not torch's pinned allocator: torch.empty(pin_memory=True) and tensor.pin_memory() go through
torch's CachingHostAllocator, which rounds every request up to a power of two
(aten/src/ATen/core/CachingHostAllocator.h, allocate: PowerOf2Ceil; torch >= 2.13 can lift it with an
allocator setting, the 2.11 of the GPU image cannot). The engine's host buffers are one per unit and
kind, sized by the unit, so the rounding cost up to 2x: the 1-GPU llama-2.7b c24 winner (every
optimizer state offloaded, 79 M elements a block, 317 MB of fp32 per tail rounded to 512 MiB) held
73.0 GB pinned for 43.2 GB of buffers (bench/results/engine/swap_grads_S12/c24.run.json,
host_pinned_peak_bytes). DeepSpeed pins the same way (accelerator pin_memory), so its allocation does
not fit; its accelerator's register_host_memory / unregister_host_memory (cudaHostRegister /
cudaHostUnregister) do, and are what this module uses.

A buffer is a pageable numpy allocation, one page larger than needed so that a page-aligned range of
whole pages lies inside it: no page is shared with another allocation, so no page is registered twice.
Those pages are registered; a weakref finalizer of the numpy array unregisters them. The array lives
as long as any tensor viewing it (torch.from_numpy keeps it), and numpy calls the finalizer before it
frees the memory (array_dealloc clears weak references first), so memory is never freed registered.
Registered pages are resident: they count in RSS, not in torch.cuda.host_memory_stats.
"""

from __future__ import annotations

import mmap
import weakref

import numpy as np
import torch

PAGE = mmap.PAGESIZE


class RegisteredBytes:
    """Bytes of host memory this process has registered through this module: now and at most."""

    def __init__(self):
        self.now = 0
        self.peak = 0

    def add(self, nbytes: int) -> None:
        self.now += nbytes
        self.peak = max(self.peak, self.now)

    def remove(self, nbytes: int) -> None:
        self.now -= nbytes


REGISTERED = RegisteredBytes()


class HostRegisterError(RuntimeError):
    """cudaHostRegister refused a buffer's pages: the run stops (status 'error'), naming host memory
    and how much the engine had page-locked already. No fallback to torch's pinned allocator: the
    run's record (RunReport.host_buffers) and the cost model's host-memory terms assume one way."""


def _accelerator():
    from deepspeed.accelerator import get_accelerator

    return get_accelerator()


def _unregister(address: int, nbytes: int) -> None:
    _accelerator().unregister_host_memory(address)
    REGISTERED.remove(nbytes)


def registered_buffer(numel: int, dtype: torch.dtype) -> torch.Tensor:
    """A host tensor of exactly `numel` elements whose pages are page-locked (needs CUDA)."""
    nbytes = numel * dtype.itemsize
    if nbytes == 0:
        return torch.empty(0, dtype=dtype)
    span = -(-nbytes // PAGE) * PAGE
    raw = np.empty(span + PAGE, dtype=np.uint8)
    start = -raw.ctypes.data % PAGE
    address = raw.ctypes.data + start
    try:
        _accelerator().register_host_memory(address, span)
    except Exception as err:  # torch.cuda.CudaError, whose 'out of memory' reads like the GPU's
        raise HostRegisterError(f"could not page-lock {span} bytes of host memory for a mistpipe buffer "
                                f"({REGISTERED.now} bytes already page-locked by the engine): {err}") from err
    REGISTERED.add(span)
    weakref.finalize(raw, _unregister, address, span)
    return torch.from_numpy(raw[start:start + nbytes]).view(dtype)
