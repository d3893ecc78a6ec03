"""Saved-tensor handling of a block: overlapped activation offload and weight descriptors.

`ActivationOffloader` moves a block's saved activations to pinned host buffers on its own d2h stream
as forward saves them (`torch.autograd.graph.saved_tensors_hooks`), and brings them back on its own
h2d stream when the stage asks (`prefetch`: when a block's backward starts, the stage asks for the
next offloaded block below it, however many kept blocks lie between), so the copies overlap
compute instead of running on the compute stream as torch's synchronous `save_on_cpu` does. Pinned
buffers come from a PinnedPool (steady state: no allocation).

`WeightView` is what a managed unit's forward saves instead of a tensor that views its gathered
weights (a parameter, or e.g. the `weight.t()` a linear saves): the view is rebuilt over the unit's
buffer at unpack time, so saved tensors never pin a released gather slot (DeepSpeed's ZeRO-3 gets the
same effect by swapping F.linear for its own autograd function, zero/linear.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mist_ds.runtime.mistpipe.streams import PinnedPool, Streams

# The offloader's own copy streams. On the h2d stream that weight fills and gradient sections use,
# a load waits (stream-wise) for its tensor's d2h copy, so every fill or section queued after it
# waited too; and a load issued early, to hide it behind more compute, would hold them up longer.
OUT, IN = "act_d2h", "act_h2d"


@dataclass
class Packed:
    """One offloaded activation: its host copy and, once prefetched, its device copy."""

    host: torch.Tensor
    shape: torch.Size
    stored: object = None  # event: the d2h copy finished
    device_tensor: torch.Tensor | None = None
    loaded: object = None  # event: the h2d copy finished
    returned: bool = False  # the host buffer went back to the pool
    refs: int = 1  # saved-tensor slots holding it (a tensor saved by several ops is copied once)


@dataclass(frozen=True)
class WeightView:
    """A saved view of a managed unit's gathered weights, by geometry instead of by storage."""

    size: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int


def storage_span(base: torch.Tensor | None) -> tuple[int, int] | None:
    """[first, last] byte address of `base`'s storage (None: no base): `weight_view`'s quick test."""
    if base is None:
        return None
    storage = base.untyped_storage()
    return storage.data_ptr(), storage.data_ptr() + storage.nbytes()


def weight_view(tensor: torch.Tensor, base: torch.Tensor, span: tuple[int, int] | None = None
                ) -> WeightView | None:
    """A WeightView of `tensor` when it lives in `base`'s storage, else None. With `span`
    (storage_span(base)), a tensor whose data pointer lies outside it is refused at once: storages
    alive at once never overlap, so it cannot be in base's storage (the full test, storage
    objects and a device comparison, cost ~2 us per saved tensor: bench/engine/host_hooks.py).
    An empty tensor's data pointer is 0: it takes the full test."""
    if span is not None:
        pointer = tensor.data_ptr()
        if pointer and not span[0] <= pointer <= span[1]:
            return None
    if base is None or tensor.device != base.device:
        return None
    if tensor.untyped_storage().data_ptr() != base.untyped_storage().data_ptr():
        return None
    return WeightView(tuple(tensor.shape), tuple(tensor.stride()),
                      tensor.storage_offset() - base.storage_offset())


def rebuild(view: WeightView, base: torch.Tensor) -> torch.Tensor:
    """The saved view, over the unit's current buffer."""
    return base.as_strided(view.size, view.stride, base.storage_offset() + view.offset)


def identity(tensor: torch.Tensor) -> tuple:
    """What makes two saved tensors the same data while both are alive: storages alive at once
    never overlap, so an equal data pointer means the same storage and offset (what the storage's
    own pointer and the offset said before, for ~1 us more per saved tensor). An empty tensor's
    pointer is 0: the tensor object stands for it."""
    return (tensor.data_ptr() or id(tensor), tensor.shape, tensor.stride(), tensor.dtype,
            tensor._version)


class ActivationOffloader:
    """Pinned-host copies of saved activations, keyed by (forward pass, unit).

    A tensor saved by several ops of the block (a linear's input shared by q, k and v) is copied
    once: while the block's forward runs, its saved tensors are kept alive (`seal` lets go at the
    block's end), so equal storage, offset, geometry and version mean equal data.
    """

    def __init__(self, streams: Streams, pool: PinnedPool, min_numel: int = 1024):
        self.streams, self.pool, self.min_numel = streams, pool, min_numel
        self.records: dict[tuple[int, int], list[Packed]] = {}
        self._open: dict[tuple, Packed] = {}  # identity -> Packed, during the current block forward
        self._alive: list[torch.Tensor] = []
        self.packed_bytes = 0
        self.num_packed = self.num_saved = 0

    def wants(self, tensor: torch.Tensor) -> bool:
        """Offload only floating-point device tensors of at least min_numel elements."""
        return (tensor.is_floating_point() and tensor.device == self.streams.device
                and tensor.numel() >= self.min_numel)

    def pack(self, key: tuple[int, int], tensor: torch.Tensor) -> Packed:
        """Start copying `tensor` to a pinned buffer (d2h stream); autograd keeps the Packed."""
        self.num_saved += 1
        ident = identity(tensor)
        seen = self._open.get(ident)
        if seen is not None:
            seen.refs += 1
            return seen
        streams = self.streams
        host = self.pool.take(tensor.numel(), tensor.dtype, OUT)
        streams.fork(OUT)
        streams.keep_alive(tensor, OUT)
        with streams.on(OUT):
            host.view(tensor.shape).copy_(tensor, non_blocking=True)
            stored = streams.record(OUT)
        packed = Packed(host=host, shape=tensor.shape, stored=stored)
        self.records.setdefault(key, []).append(packed)
        self._open[ident] = packed
        self._alive.append(tensor)
        self.packed_bytes += tensor.numel() * tensor.element_size()
        self.num_packed += 1
        return packed

    def seal(self) -> None:
        """The block's forward is over: its device activations may be freed now."""
        self._open.clear()
        self._alive.clear()

    def _load(self, packed: Packed) -> None:
        """Allocate the device copy on the h2d stream itself, then mark it used by compute.

        Allocated on the compute stream (the first version), the caching allocator could hand out
        a block the compute stream had freed but still had queued kernels reading, and the h2d
        copy, ordered only after the d2h event, overwrote it: an illegal memory access on 2x H200
        (bench/engine/mistpipe_offload.py, variant 'activations'; gone under CUDA_LAUNCH_BLOCKING=1).
        A block allocated on the h2d stream is reused only in that stream's order; record_stream
        keeps it from reuse until the compute stream's reads of it are done."""
        streams = self.streams
        streams.wait(packed.stored, IN)
        with streams.on(IN):
            device = torch.empty(packed.shape, dtype=packed.host.dtype, device=streams.device)
            device.copy_(packed.host.view(packed.shape), non_blocking=True)
            packed.loaded = streams.record(IN)
        streams.keep_alive(device, "compute")
        packed.device_tensor = device

    def prefetch(self, key: tuple[int, int]) -> None:
        """Start bringing every activation of `key` back to the device (h2d stream)."""
        for packed in self.records.get(key, ()):
            if packed.device_tensor is None and not packed.returned:
                self._load(packed)

    def unpack(self, packed: Packed) -> torch.Tensor:
        """The device copy (loaded now if no prefetch did it), ordered before its use."""
        if packed.device_tensor is None and packed.returned:
            raise RuntimeError("mistpipe: an offloaded activation was unpacked after its block's "
                               "backward ended (a saved tensor used outside the block?)")
        if packed.device_tensor is None:
            self._load(packed)
        self.streams.wait(packed.loaded, "compute")
        tensor = packed.device_tensor
        packed.refs -= 1
        if packed.refs == 0:  # the last saved slot: autograd owns the device copy now
            packed.device_tensor = None
            self._give_back(packed)
        return tensor

    def _give_back(self, packed: Packed) -> None:
        if not packed.returned:
            packed.returned = True
            self.pool.give(packed.host, packed.loaded if packed.loaded is not None else packed.stored)

    def drop(self, key: tuple[int, int]) -> None:
        """The backward of `key` is over: release what is left of it."""
        for packed in self.records.pop(key, ()):
            self._give_back(packed)
            packed.device_tensor = None
