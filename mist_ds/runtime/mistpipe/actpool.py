"""Bookkeeping of activation offload's bounded device memory (actoffload.py), pure: no torch here.
Events are opaque values (a CUDA event, or None off CUDA, where work is already done); the caller
passes how to wait for one or ask whether it has happened.

- `slab_layout`: where each reloaded tensor of one block lies in a slab;
- `SlabRing`: which slab holds which block's reloads, and the event after which a released slab
  may be written again (the compute stream's work that read it);
- `CopyQueue`: the device-to-host copies still in flight, oldest first, with their byte total.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

ALIGN_BYTES = 512
"""Start of every tensor in a slab: the caching allocator's own block rounding (512 bytes,
c10/cuda/CUDACachingAllocator.cpp kMinBlockSize), so a view in a slab is as aligned as a tensor of
its own and vectorised kernels take the same paths."""


def align_up(nbytes: int, alignment: int = ALIGN_BYTES) -> int:
    return -(-nbytes // alignment) * alignment


def slab_layout(sizes: Sequence[int], capacity: int | None = None,
                alignment: int = ALIGN_BYTES) -> tuple[list[int | None], int]:
    """(offset of each size in order, bytes used): each at the next aligned offset; one that would
    end past `capacity` gets None (loaded outside the slab) and the ones after it still try."""
    offsets: list[int | None] = []
    end = 0
    for size in sizes:
        start = align_up(end, alignment)
        if capacity is not None and start + size > capacity:
            offsets.append(None)
            continue
        offsets.append(start)
        end = start + size
    return offsets, end


class SlabRing:
    """`count` slabs lent to keys (one block of one forward pass each). A released slab keeps the
    event of its last reads; the next key to take it must make its writer wait for that event.
    Free slabs go out oldest release first (the event most likely already passed)."""

    def __init__(self, count: int):
        self.count = count
        self.owner: list[Hashable | None] = [None] * count
        self.idle: list[object] = [None] * count
        self._free: deque[int] = deque(range(count))

    def holder(self, key: Hashable) -> int | None:
        """The slab `key` holds, if any."""
        for index, owner in enumerate(self.owner):
            if owner is not None and owner == key:
                return index
        return None

    def acquire(self, key: Hashable) -> tuple[int, object] | None:
        """(slab, event its writer must wait for) now lent to `key`; None when every slab is lent."""
        if not self._free:
            return None
        index = self._free.popleft()
        self.owner[index] = key
        return index, self.idle[index]

    def release(self, key: Hashable, last_read: object) -> int | None:
        """`key` is done with its slab after `last_read`; the slab index, or None if it held none."""
        index = self.holder(key)
        if index is None:
            return None
        self.owner[index], self.idle[index] = None, last_read
        self._free.append(index)
        return index

    @property
    def num_free(self) -> int:
        return len(self._free)


@dataclass
class _Copy:
    item: object
    nbytes: int
    done: object  # event: the copy has finished


class CopyQueue:
    """Device-to-host copies in flight, in the order one stream runs them (so they finish in that
    order). `item` is what the queue keeps alive until its copy is known done (None: nothing)."""

    def __init__(self, limit_bytes: int | None = None):
        self.limit_bytes = limit_bytes
        self._copies: deque[_Copy] = deque()
        self.held_bytes = self.peak_bytes = 0
        self.num_waits = 0

    def push(self, item: object, nbytes: int, done: object) -> None:
        self._copies.append(_Copy(item, nbytes, done))
        self.held_bytes += nbytes
        self.peak_bytes = max(self.peak_bytes, self.held_bytes)

    def _pop(self) -> _Copy:
        copy = self._copies.popleft()
        self.held_bytes -= copy.nbytes
        return copy

    def settle(self, happened: Callable[[object], bool]) -> int:
        """Let go of the oldest copies that `happened` says are done; how many."""
        count = 0
        while self._copies and happened(self._copies[0].done):
            self._pop()
            count += 1
        return count

    def make_room(self, nbytes: int, wait: Callable[[object], None]) -> int:
        """Before holding `nbytes` more: while over the limit, `wait` for the oldest copy (the
        caller orders later work after it) and let it go; how many were waited for."""
        count = 0
        while self.limit_bytes is not None and self._copies and self.held_bytes + nbytes > self.limit_bytes:
            wait(self._pop().done)
            count += 1
        self.num_waits += count
        return count

    def __len__(self) -> int:
        return len(self._copies)
