"""Overlapped activation offload of a block's saved tensors (weightview.py: the weights' own).

`ActivationOffloader` moves a block's saved activations to pinned host buffers on its own d2h stream
as forward saves them (`torch.autograd.graph.saved_tensors_hooks`), and brings them back on its own
h2d stream when the stage asks (`prefetch`: when a block's backward starts, the stage asks for the
next offloaded block below it, however many kept blocks lie between), so the copies overlap
compute instead of running on the compute stream as torch's synchronous `save_on_cpu` does.

Device memory stays bounded and allocated once:
- what is copied is a byte span, never a device temporary: a dense tensor (contiguous, or a
  permutation of contiguous such as attention's transposed q) as its bytes in memory order; a
  strided view (SwiGLU's gate and up halves of one gate|up output) as its whole storage when that is
  at most STORAGE_COPY_FACTOR times the view (torch's copy_ of a strided device tensor to the host
  first makes a contiguous device copy on the copying stream); tensors saved over the same span
  (attention's output and the o-projection's input, its reshape) share one copy. Each saved slot
  gets its own view back, with its original strides (`Saved.view`). A strided view of a larger
  storage still goes through torch's temporary (counted: num_staged);
- reloads land in a ReloadPool: `count` device slabs (2: the running offloaded block and the one
  prefetched below it), sized at the first backward for the largest offloaded block's copies of one
  micro-batch and never reallocated; each block's reloads are views into one slab, and a slab is
  written again only after the compute stream has finished the backward that read it (its event,
  recorded when the next block's backward starts, `retire`, and waited for by the h2d stream, never
  by the host). Before, every reload was a fresh allocation on
  the h2d stream (that stream's own allocator pool, of varied sizes, interleaved with the backward's
  working allocations); a tensor that does not fit a slab is still loaded that way (counted);
- the forward's sources: by default the caching allocator keeps each offloaded tensor until its d2h
  copy is done (record_stream): freed blocks wait in the allocator, uncounted in memory_allocated
  but in memory_reserved, and a cap makes it synchronise on their events and retry
  (num_alloc_retries). By default (`d2h_queue_blocks`, MistpipeConstants) the offloader holds them
  itself instead (counted as allocated), lets each go as soon as its copy is seen done, and beyond
  that many blocks' bytes (or `d2h_queue_bytes`, when given) makes the compute stream wait for the
  oldest copies (a stream wait, not a host sync) and lets them go: their memory is reusable at once
  in the compute stream's order. `d2h_queue_blocks=0` without `d2h_queue_bytes`: the allocator's way.
Pinned buffers come from a PinnedPool (steady state: no allocation).

Why ours and not DeepSpeed's: DeepSpeed 0.19.8's `_ActivationOffloadEngine`
(runtime/activation_checkpointing/offload_activations.py, behind `cpu_checkpointing` and HF's
checkpointed hidden states) offloads only checkpoint inputs, restores each tensor when autograd
unpacks it (`restore_input`: no prefetch ahead of the block's backward, compute waits at once) into
a fresh `torch.empty_strided` on its side stream, and keeps forward sources by record_stream; its
older contiguous buffers (checkpointing.py `partition_activations`, contiguous_memory_optimization)
hold DeepSpeed-checkpoint() inputs on the device for the whole forward, one per layer. Neither
offloads a chosen block's saved tensors into a bounded, reused set of device buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mist_ds.config.executors import MISTPIPE
from mist_ds.runtime.mistpipe.actpool import CopyQueue, slab_layout
from mist_ds.runtime.mistpipe.reload_pool import ReloadPool
from mist_ds.runtime.mistpipe.streams import PinnedPool, Streams

# The offloader's own copy streams. On the h2d stream that weight fills and gradient sections use,
# a load waits (stream-wise) for its tensor's d2h copy, so every fill or section queued after it
# waited too; and a load issued early, to hide it behind more compute, would hold them up longer.
OUT, IN = "act_d2h", "act_h2d"
RELOAD_SLABS = MISTPIPE.constants.num_reload_slabs
"""Slabs per stage: the running offloaded block's reloads and those of the next offloaded block
below it, prefetched when the running one's backward starts (stage.py backward_begin); the cost
model charges min(num_offloaded, 2) blocks of saved bytes (cost/mistpipe.py _states)."""
QUEUE_BLOCKS = MISTPIPE.constants.d2h_queue_blocks
"""Default bound of the d2h queue in offloaded blocks (MistpipeConstants.d2h_queue_blocks)."""


def recorded_queue_blocks(plan) -> int | None:
    """RunReport.d2h_queue_blocks of a run of `plan` (launch/train.py: runtime/build.py builds the engine
    with the default bound): QUEUE_BLOCKS for a mistpipe plan that offloads some block; else None."""
    offloads = plan.executor == MISTPIPE.name and any(s.num_offloaded_layers for s in plan.stages)
    return QUEUE_BLOCKS if offloads else None


STORAGE_COPY_FACTOR = 4
"""A strided view is copied as its whole storage when that is at most this many times the view
(its storage's other parts are saved too: q, k, v of a fused qkv, gate and up of gate|up)."""


@dataclass(eq=False)
class Packed:
    """One host copy of a byte span (a dense tensor's bytes, a storage, or a staged contiguous
    copy) and, once reloaded, its device copy (a uint8 region of a slab, or its own buffer)."""

    key: tuple[int, int]
    host: torch.Tensor
    nbytes: int
    stored: object = None  # event: the d2h copy finished
    device: torch.Tensor | None = None
    loaded: object = None  # event: the h2d copy finished
    returned: bool = False  # the host buffer went back to the pool
    refs: int = 1  # saved-tensor slots viewing it (a span saved by several ops is copied once)


@dataclass(frozen=True, eq=False)
class Saved:
    """What autograd keeps for one offloaded saved tensor: its copy and its geometry over it."""

    packed: Packed
    dtype: torch.dtype
    size: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int  # elements of dtype from the start of the copied span

    def view(self, region: torch.Tensor) -> torch.Tensor:
        typed = region.view(self.dtype)
        return typed.as_strided(self.size, self.stride, typed.storage_offset() + self.offset)


def identity(tensor: torch.Tensor) -> tuple:
    """What makes two saved tensors the same data while both are alive: storages alive at once
    never overlap, so an equal data pointer means the same storage and offset (what the storage's
    own pointer and the offset said before, for ~1 us more per saved tensor). An empty tensor's
    pointer is 0: the tensor object stands for it."""
    return (tensor.data_ptr() or id(tensor), tensor.shape, tensor.stride(), tensor.dtype,
            tensor._version)


def dense_order(tensor: torch.Tensor) -> list[int] | None:
    """Dimensions by decreasing stride when they lay the tensor out densely (tensor.permute(order)
    is contiguous: its bytes are one span in memory order), else None."""
    order = sorted(range(tensor.dim()), key=lambda d: (-tensor.stride(d), -tensor.size(d)))
    return order if tensor.permute(order).is_contiguous() else None


def contiguous_strides(shape) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(tuple(shape)):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class Span:
    """How pack copies a tensor: `source` (a contiguous device tensor) into a host buffer of
    `nbytes`, the tensor lying `offset` elements into it with `stride`; `ident` is equal for tensors
    over the same bytes."""

    source: torch.Tensor
    nbytes: int
    offset: int
    stride: tuple[int, ...]
    ident: tuple
    staged: bool = False  # a strided view copied through torch's contiguous device temporary


def copy_span(tensor: torch.Tensor, factor: int = STORAGE_COPY_FACTOR) -> Span:
    """What pack copies for `tensor` (module doc): its own bytes when dense, else its storage when
    at most `factor` times larger, else a staged contiguous copy."""
    itemsize = tensor.element_size()
    order = dense_order(tensor)
    if order is not None:
        nbytes = tensor.numel() * itemsize
        return Span(tensor.permute(order), nbytes, 0, tuple(tensor.stride()),
                    ("span", tensor.data_ptr(), nbytes, tensor._version))
    storage = tensor.untyped_storage()
    if storage.nbytes() <= factor * tensor.numel() * itemsize:
        flat = torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(storage)
        return Span(flat, storage.nbytes(), tensor.storage_offset(), tuple(tensor.stride()),
                    ("span", storage.data_ptr(), storage.nbytes(), tensor._version))
    return Span(tensor, tensor.numel() * itemsize, 0, contiguous_strides(tensor.shape),
                ("tensor", *identity(tensor)), staged=True)


class ActivationOffloader:
    """Pinned-host copies of saved activations, keyed by (forward pass, unit).

    A span saved by several ops of the block (a linear's input shared by q, k and v; attention's
    output and its reshape) is copied once: while the block's forward runs, its saved tensors are
    kept alive (`seal` lets go at the block's end), so equal address, size and version mean equal
    data.
    """

    def __init__(self, streams: Streams, pool: PinnedPool, min_numel: int = 1024,
                 num_slabs: int = RELOAD_SLABS, d2h_queue_bytes: int | None = None,
                 d2h_queue_blocks: int = QUEUE_BLOCKS):
        self.streams, self.pool, self.min_numel = streams, pool, min_numel
        self.reloads = ReloadPool(streams, num_slabs, IN) if num_slabs > 0 else None
        self.queue = CopyQueue(d2h_queue_bytes)
        # the offloader holds the copies' sources (else the allocator does); a byte bound wins over blocks
        self.holds = d2h_queue_bytes is not None or d2h_queue_blocks > 0
        self.queue_blocks = 0 if d2h_queue_bytes is not None else d2h_queue_blocks
        self._block_bytes = self._largest_block_bytes = 0  # copied out by the running block / the largest
        self.records: dict[tuple[int, int], list[Packed]] = {}
        self._open: dict[tuple, Packed] = {}  # span identity -> Packed, during the current block forward
        self._alive: list[torch.Tensor] = []
        self._finished: list[tuple[int, int]] = []
        self.packed_bytes = 0
        self.num_packed = self.num_saved = self.num_staged = 0
        self.num_reload_allocations = 0  # reloads into a buffer of their own (no slab, or no room)

    def wants(self, tensor: torch.Tensor) -> bool:
        """Offload only floating-point device tensors of at least min_numel elements."""
        return (tensor.is_floating_point() and tensor.device == self.streams.device
                and tensor.numel() >= self.min_numel)

    def _settle(self) -> None:
        self.queue.settle(lambda event: event is None or event.query())

    def pack(self, key: tuple[int, int], tensor: torch.Tensor) -> Saved:
        """Start copying `tensor`'s span to a pinned buffer (d2h stream); autograd keeps the Saved."""
        self.num_saved += 1
        span = copy_span(tensor)
        packed = self._open.get(span.ident)
        if packed is not None:
            packed.refs += 1
        else:
            packed = self._copy_out(key, tensor, span)
            self._open[span.ident] = packed
            self._alive.append(tensor)
        return Saved(packed, tensor.dtype, tuple(tensor.shape), span.stride, span.offset)

    def _copy_out(self, key: tuple[int, int], tensor: torch.Tensor, span: Span) -> Packed:
        streams = self.streams
        self._settle()
        self.queue.make_room(span.nbytes, lambda event: streams.wait(event, "compute"))
        host = self.pool.take(span.nbytes, torch.uint8, OUT)
        source = span.source
        streams.fork(OUT)
        with streams.on(OUT):
            host.view(source.dtype).view(source.shape).copy_(source, non_blocking=True)
            stored = streams.record(OUT)
        self._block_bytes += span.nbytes
        if not self.holds:
            streams.keep_alive(tensor, OUT)  # the allocator holds it until the copy is done
            self.queue.push(None, span.nbytes, stored)
        else:
            self.queue.push(tensor, span.nbytes, stored)
        packed = Packed(key=key, host=host, nbytes=span.nbytes, stored=stored)
        self.records.setdefault(key, []).append(packed)
        self.packed_bytes += span.nbytes
        self.num_packed += 1
        self.num_staged += span.staged
        return packed

    def seal(self) -> None:
        """The block's forward is over: its device activations may be freed now. With a bound in blocks,
        the queue's byte limit follows the largest block copied out so far (the first offloaded block
        sets it; until then nothing waits)."""
        self._largest_block_bytes = max(self._largest_block_bytes, self._block_bytes)
        self._block_bytes = 0
        if self.queue_blocks and self._largest_block_bytes:
            self.queue.limit_bytes = self.queue_blocks * self._largest_block_bytes
        self._open.clear()
        self._alive.clear()
        self._settle()

    def _reserve(self) -> None:
        """Size the slabs for the largest block's copies recorded so far (at the first backward,
        every offloaded block of the first micro-batch has run its forward)."""
        largest = max((slab_layout([p.nbytes for p in packs])[1] for packs in self.records.values()),
                      default=0)
        self.reloads.reserve(largest)

    def prefetch(self, key: tuple[int, int]) -> None:
        """Start bringing every activation of `key` back to the device (h2d stream), into one slab
        when the whole block is still on the host."""
        records = self.records.get(key, ())
        todo = [p for p in records if p.device is None and not p.returned]
        if not todo:
            return
        self._settle()
        regions: list[torch.Tensor | None] = [None] * len(todo)
        if self.reloads is not None and len(todo) == len(records):
            if not self.reloads.slabs:
                self._reserve()
            regions = self.reloads.place(key, [p.nbytes for p in todo])
        for packed, region in zip(todo, regions):
            self._load(packed, region)

    def _load(self, packed: Packed, region: torch.Tensor | None) -> None:
        """Copy `packed` into `region` (a slab's) or, without one, into a buffer allocated on the
        h2d stream itself, then marked used by compute.

        Allocated on the compute stream (the first version), the caching allocator could hand out
        a block the compute stream had freed but still had queued kernels reading, and the h2d
        copy, ordered only after the d2h event, overwrote it: an illegal memory access on 2x H200
        (bench/engine/mistpipe_offload.py, variant 'activations'; gone under CUDA_LAUNCH_BLOCKING=1).
        A block allocated on the h2d stream is reused only in that stream's order; record_stream
        keeps it from reuse until the compute stream's reads of it are done. A slab region needs
        neither: the slab is never freed, and ReloadPool.place ordered this copy after its reads."""
        streams = self.streams
        streams.wait(packed.stored, IN)
        with streams.on(IN):
            own = region is None
            if own:
                region = torch.empty(packed.nbytes, dtype=torch.uint8, device=streams.device)
                self.num_reload_allocations += 1
            region.copy_(packed.host, non_blocking=True)
            packed.loaded = streams.record(IN)
        if own:
            streams.keep_alive(region, "compute")
        packed.device = region

    def unpack(self, saved: Saved) -> torch.Tensor:
        """The device copy (loaded now if no prefetch did it), ordered before its use."""
        packed = saved.packed
        if packed.device is None and packed.returned:
            raise RuntimeError("mistpipe: an offloaded activation was unpacked after its block was "
                               "retired (a saved tensor used outside the block?)")
        if packed.device is None:
            self.prefetch(packed.key)
        self.streams.wait(packed.loaded, "compute")
        tensor = saved.view(packed.device)
        packed.refs -= 1
        if packed.refs == 0:  # the last saved slot: autograd owns the views now
            packed.device = None
            self._give_back(packed)
        return tensor

    def _give_back(self, packed: Packed) -> None:
        if not packed.returned:
            packed.returned = True
            self.pool.give(packed.host, packed.loaded if packed.loaded is not None else packed.stored)

    def finish(self, key: tuple[int, int]) -> None:
        """`key`'s block has received its last parameter gradient. Its backward may still unpack
        (CPU RMSNorm is composite: the weight's product runs first, then the nodes that read x.float()
        and rstd), so the block is retired later (`retire`)."""
        self._finished.append(key)

    def retire(self) -> None:
        """Release every finished block's host buffers and slab. Called when a block's backward
        starts (stage.py backward_begin) and when a forward pass starts: autograd runs ready nodes
        highest sequence number first, and a block's nodes all outrank the boundary node of the block
        below it (created earlier in forward) and become ready only through each other, so by then
        every node of the finished blocks has run and queued its kernels."""
        for key in self._finished:
            for packed in self.records.pop(key, ()):
                self._give_back(packed)
                packed.device = None
            if self.reloads is not None:
                self.reloads.release(key)
        self._finished.clear()
        self._settle()

    def stats(self) -> dict:
        """Counters for StageRuntime.stats."""
        reloads = self.reloads
        return {"activation_bytes_offloaded": self.packed_bytes,
                "reload_slab_bytes": reloads.nbytes if reloads else 0,
                "reload_slab_allocations": reloads.num_allocations if reloads else 0,
                "reload_slab_escapes": reloads.num_escapes if reloads else 0,
                "reload_allocations": self.num_reload_allocations,
                "d2h_staged": self.num_staged,
                "d2h_queue_peak_bytes": self.queue.peak_bytes,
                "d2h_queue_limit_bytes": self.queue.limit_bytes or 0,
                "d2h_queue_waits": self.queue.num_waits}
