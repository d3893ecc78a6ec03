"""The device slabs offloaded activations are reloaded into (actoffload.py): allocated once, at the first
backward, for the largest offloaded block's copies of one micro-batch, and lent to one block at a time
(actpool.py SlabRing decides which slab is free, and after which event it may be written again)."""

from __future__ import annotations

import torch

from mist_ds.runtime.mistpipe.actpool import SlabRing, slab_layout
from mist_ds.runtime.mistpipe.streams import Streams


def _use_count(tensor: torch.Tensor) -> int | None:
    """References to the tensor's storage (each tensor viewing it holds one); None if torch lacks
    the query."""
    count = getattr(torch._C, "_storage_Use_Count", None)
    return None if count is None else count(tensor.untyped_storage()._cdata)


class ReloadPool:
    """`count` device slabs of `capacity` bytes (reserve: once), lent to one block's reloads each; the
    reloads are copied in on `stream` (actoffload.py IN)."""

    def __init__(self, streams: Streams, count: int, stream: str):
        self.streams, self.count, self.stream = streams, count, stream
        self.ring = SlabRing(count)
        self.slabs: list[torch.Tensor] = []
        self._baseline: list[int | None] = []
        self.capacity = 0
        self.num_allocations = 0  # slabs allocated (count, plus one per escape)
        self.num_escapes = 0  # slabs replaced because a view of them outlived its block's backward

    def reserve(self, capacity: int) -> None:
        """Allocate the slabs (the first call only)."""
        if self.slabs or capacity <= 0:
            return
        self.capacity = capacity
        for _ in range(self.count):
            self.slabs.append(self._new_slab())
            self._baseline.append(_use_count(self.slabs[-1]))

    def _new_slab(self) -> torch.Tensor:
        self.num_allocations += 1
        with self.streams.on("compute"):
            return torch.empty(self.capacity, dtype=torch.uint8, device=self.streams.device)

    def place(self, key, sizes: list[int]) -> list[torch.Tensor | None]:
        """Regions of one slab for `sizes` (None where one does not fit, or no slab is free); the h2d
        stream now waits until the slab's previous reads are done."""
        offsets, used = slab_layout(sizes, self.capacity)
        taken = self.ring.acquire(key) if self.slabs and used > 0 else None
        if taken is None:
            return [None] * len(sizes)
        index, idle = taken
        self.streams.wait(idle, self.stream)
        slab = self.slabs[index]
        return [None if o is None else slab[o:o + n] for o, n in zip(offsets, sizes)]

    def release(self, key) -> None:
        """`key`'s block has finished its backward: its slab is free after the compute stream's work
        so far. A view of it still alive (use count above the slab's own) would see the next
        block's data: that slab is left to its holder and replaced."""
        index = self.ring.release(key, self.streams.record("compute"))
        if index is None:
            return
        if _use_count(self.slabs[index]) != self._baseline[index]:
            self.streams.keep_alive(self.slabs[index], self.stream)
            self.slabs[index] = self._new_slab()
            self._baseline[index] = _use_count(self.slabs[index])
            self.num_escapes += 1

    @property
    def nbytes(self) -> int:
        return self.capacity * len(self.slabs)
