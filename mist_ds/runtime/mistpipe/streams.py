"""Side streams with events, and bounded buffer pools, for copies and collectives off the compute
stream. On CUDA: one stream each for host-to-device copies, device-to-host copies, collectives and
deferred optimizer steps, and a pair of copy streams of activation offload's own; work on them is
ordered against the compute stream only through events. Elsewhere (CPU tests) the same calls run
synchronously: streams are absent and events are None, so the code path is shared.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch

from mist_ds.runtime.mistpipe.hostmem import registered_buffer

SIDE_STREAMS = ("h2d", "d2h", "comm", "opt", "act_h2d", "act_d2h")


class Streams:
    """The compute stream and the side streams of one device."""

    def __init__(self, device: torch.device):
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:  # 'cuda' != 'cuda:0' in comparisons
            device = torch.device("cuda", torch.cuda.current_device())
        self.device = device
        self.cuda = device.type == "cuda"
        self._streams = {}
        self._alias: dict[str, str] = {}
        if self.cuda:
            self._streams["compute"] = torch.cuda.current_stream(device)
            for name in SIDE_STREAMS:
                self._streams[name] = torch.cuda.Stream(device)

    def stream(self, name: str):
        """The CUDA stream called `name` (after aliasing), or None off CUDA."""
        return self._streams.get(self._alias.get(name, name))

    def on(self, name: str):
        """Context that makes `name` the current stream (a no-op off CUDA)."""
        return torch.cuda.stream(self.stream(name)) if self.cuda else nullcontext()

    @contextmanager
    def as_compute(self, name: str):
        """Run a block of work on side stream `name` as if it were the compute stream: every
        record/wait/fork naming "compute" inside refers to `name` (a deferred optimizer step)."""
        previous = self._alias.get("compute")
        self._alias["compute"] = name
        try:
            with self.on(name):
                yield
        finally:
            if previous is None:
                del self._alias["compute"]
            else:
                self._alias["compute"] = previous

    def record(self, name: str = "compute"):
        """An event marking everything queued on `name` so far (None off CUDA)."""
        if not self.cuda:
            return None
        event = torch.cuda.Event()
        event.record(self.stream(name))
        return event

    def wait(self, event, name: str = "compute") -> None:
        """Make stream `name` wait for `event` (nothing when event is None)."""
        if event is not None:
            self.stream(name).wait_event(event)

    def fork(self, name: str) -> None:
        """Make side stream `name` wait for all work queued on the compute stream so far."""
        if self.cuda:
            self.stream(name).wait_stream(self.stream("compute"))

    def keep_alive(self, tensor: torch.Tensor, name: str) -> None:
        """Tell the caching allocator that `tensor` (allocated on another stream) is used by stream
        `name`, so its memory is not reused before that work finishes."""
        if self.cuda and tensor.is_cuda:
            tensor.record_stream(self.stream(name))

    @staticmethod
    def host_wait(event) -> None:
        """Block the host until `event` has happened (nothing when event is None)."""
        if event is not None:
            event.synchronize()

    def synchronize(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)


def host_buffer(numel: int, dtype: torch.dtype, pinned: bool) -> torch.Tensor:
    """A host tensor of exactly `numel` elements, page-locked when `pinned` and CUDA is present
    (pinning needs a driver) through hostmem.py, not torch's power-of-two pinned allocator."""
    if pinned and torch.cuda.is_available():
        return registered_buffer(numel, dtype)
    return torch.empty(numel, dtype=dtype)


class PinnedPool:
    """Reusable page-locked host buffers, keyed by (numel, dtype). A buffer handed back carries the
    event of its last use; the next taker's stream waits on it. Buffers are allocated only on a
    miss, so after the first iteration (same shapes every step) no host memory is allocated."""

    def __init__(self, streams: Streams, pinned: bool):
        self.streams, self.pinned = streams, pinned
        self._free: dict[tuple[int, torch.dtype], list[tuple[torch.Tensor, object]]] = {}
        self.num_allocations = 0
        self.allocated_bytes = 0

    def take(self, numel: int, dtype: torch.dtype, stream: str) -> torch.Tensor:
        """A buffer of `numel` elements whose earlier users `stream` now waits for."""
        free = self._free.get((numel, dtype))
        if free:
            buffer, event = free.pop()
            self.streams.wait(event, stream)
            return buffer
        self.num_allocations += 1
        self.allocated_bytes += numel * dtype.itemsize
        return host_buffer(numel, dtype, self.pinned)

    def give(self, buffer: torch.Tensor, event) -> None:
        """Return `buffer`; `event` marks its last use (None: already idle)."""
        self._free.setdefault((buffer.numel(), buffer.dtype), []).append((buffer, event))


class DeviceSlots:
    """A fixed set of equal device buffers (allocated once) lent to units by key, with an LRU
    cache: a unit whose data is still in a released slot gets it back without a copy.

    Each slot remembers `ready` (the event after which its data is valid) and `idle` (the event after
    which the compute stream no longer reads it); a writer waits on `idle` before overwriting.
    """

    def __init__(self, streams: Streams, count: int, numel: int, dtype: torch.dtype):
        self.streams = streams
        self.buffers = [torch.empty(numel, dtype=dtype, device=streams.device) for _ in range(count)]
        self.owner: list[object] = [None] * count
        self.busy = [False] * count
        self.ready: list[object] = [None] * count
        self.idle: list[object] = [None] * count
        self._clock = 0
        self._used = [0] * count

    def lookup(self, key) -> int | None:
        """The slot holding `key`'s data, if any."""
        for index, owner in enumerate(self.owner):
            if owner is not None and owner == key:
                return index
        return None

    def acquire(self, key, writer: str) -> tuple[int, bool]:
        """(slot, hit): `key`'s slot, reused when it still holds key's data (hit), else the least
        recently used idle slot, now owned by `key`; `writer` waits until it is idle."""
        index = self.lookup(key)
        hit = index is not None
        if not hit:
            candidates = [i for i in range(len(self.buffers)) if not self.busy[i]]
            if not candidates:
                raise RuntimeError(f"all {len(self.buffers)} device slots are in use")
            index = min(candidates, key=lambda i: self._used[i])
            self.streams.wait(self.idle[index], writer)
            self.owner[index], self.ready[index] = key, None
        self.busy[index] = True
        self._clock += 1
        self._used[index] = self._clock
        return index, hit

    def release(self, index: int, keep: bool = True, last_use=None) -> None:
        """Slot `index` is no longer used after `last_use` (an event; default: the compute stream's
        work queued so far); `keep` leaves its data cached for the same owner."""
        self.busy[index] = False
        self.idle[index] = last_use if last_use is not None else self.streams.record("compute")
        if not keep:
            self.owner[index] = None

    def invalidate(self) -> None:
        """Forget every cached owner (the weights changed)."""
        for index in range(len(self.buffers)):
            if not self.busy[index]:
                self.owner[index] = None
