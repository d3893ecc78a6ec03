"""SwapAdam: AdamW over host-resident fp32 state streamed through the device (Mist's way of
updating offloaded optimizer states: "swap in offloaded states, GPU Adam, swap out").

The alternative to DeepSpeedCPUAdam for the offloaded tail of a shard: per chunk, master weights,
Adam m and v go host -> device on the h2d stream, torch's AdamW (fused on CUDA) updates them in one
of two device slots, the new 16-bit weights are written straight into the caller's device buffer,
and master, m and v go back device -> host on the d2h stream while the next chunk is loaded into the
other slot. The gradient comes from where the reduction left it: elements of device gradient
sections are read from the unit's accumulation buffer, which stays valid until the unit's next
accumulation (optimizer.py take_chunk `kept`), and upcast on the device; only elements of host
gradient sections were sent to the host by the reduction and come back with the states. PCIe
traffic: 12 B/element in and 12 out per step, plus 4 B out and 4 B in per element of a host
gradient section (CPU Adam: 2 B in, plus the 4 B gradient out). Before session 12 every tail
gradient made that round trip (bench/results/engine/README.md measures both).
bench/engine/adam_paths.py measures which path is faster on a machine.
"""

from __future__ import annotations

import torch

from mist_ds.config.executors import MISTPIPE

from mist_ds.runtime.mistpipe.streams import Streams, host_buffer


SWAP_CHUNK_NUMEL = MISTPIPE.constants.swap_chunk_elements  # per device slot (64 MiB of fp32 per state)


class _Slot:
    """A device chunk with its own AdamW (whose state tensors are the slot's m and v)."""

    def __init__(self, chunk: int, device, hyper: dict):
        self.param = torch.zeros(chunk, device=device)
        self.param.grad = torch.zeros_like(self.param)
        self.adam = torch.optim.AdamW([self.param], fused=device.type == "cuda", **hyper)
        self.adam.step()  # materialises exp_avg, exp_avg_sq and step
        self.state = self.adam.state[self.param]
        self.free = None  # event: the last copy out of this slot finished

    def views(self, n: int):
        return self.param[:n], self.state["exp_avg"][:n], self.state["exp_avg_sq"][:n], \
            self.param.grad[:n]


class SwapAdam:
    """Host-resident AdamW states for several tails, updated chunk by chunk on the device."""

    def __init__(self, tails: list[torch.Tensor], grads: list[tuple[torch.Tensor, int]], streams: Streams,
                 hyper: dict, pinned: bool, chunk_numel: int | None = None):
        self.tails, self.streams = tails, streams  # fp32 host masters
        self.grads = grads  # per tail: (fp32 host gradient, the tail position its element 0 stands for)
        self.m = [host_buffer(t.numel(), torch.float32, pinned).zero_() for t in tails]
        self.v = [host_buffer(t.numel(), torch.float32, pinned).zero_() for t in tails]
        chunk = min(chunk_numel or SWAP_CHUNK_NUMEL, max(t.numel() for t in tails))
        self.slots = [_Slot(chunk, streams.device, hyper) for _ in range(2)]
        self.chunk, self.steps, self._turn = chunk, 0, 0
        self.inverse_clip: float | None = None

    def begin_step(self, inverse_clip: float | None = None) -> None:
        """A new step; `inverse_clip` (None: not clipped) scales every gradient chunk on the device
        after its swap-in (the same fp32 multiply the host would do, with no host pass)."""
        self.steps += 1
        self.inverse_clip = inverse_clip

    def update(self, index: int, out16: torch.Tensor, device_grads=(), scale: float = 1.0) -> None:
        """Update tail `index` (all its chunks) and write its new weights into `out16` (device).
        `device_grads`: (tail offset, device tensor) pieces of the tail's gradient still on the device,
        reduced but not yet averaged (times `scale` here); the rest of the gradient is in the tail's host
        gradient (averaged already). Queued on the streams only: the host never waits."""
        streams, tail = self.streams, self.tails[index]
        hosts = (tail, self.m[index], self.v[index])
        grad, grad_from = self.grads[index]
        size = even_chunk(tail.numel(), self.chunk)
        for start in range(0, tail.numel(), size):
            n = min(size, tail.numel() - start)
            slot = self.slots[self._turn % 2]
            self._turn += 1
            views = slot.views(n)
            pieces = overlaps(device_grads, start, n)
            streams.wait(slot.free, "h2d")
            with streams.on("h2d"):
                for dest, host in zip(views[:3], hosts):
                    dest.copy_(host[start:start + n], non_blocking=True)
                for lo, hi in gaps(pieces, n):
                    if start + lo < grad_from:
                        raise IndexError(f"tail position {start + lo} has neither a device nor a host gradient")
                    views[3][lo:hi].copy_(grad[start + lo - grad_from:start + hi - grad_from], non_blocking=True)
                loaded = streams.record("h2d")
            for lo, hi, source in pieces:  # compute stream: in order after the slot's last Adam
                views[3][lo:hi].copy_(source)
                if scale != 1.0:
                    views[3][lo:hi].mul_(scale)
            streams.wait(loaded, "compute")
            if self.inverse_clip is not None:
                views[3].mul_(self.inverse_clip)
            slot.state["step"].fill_(self.steps - 1)  # AdamW adds 1: bias correction of this step
            slot.adam.step()
            out16[start:start + n].copy_(views[0])
            streams.fork("d2h")
            with streams.on("d2h"):
                for dest, host in zip(views[:3], hosts):
                    host[start:start + n].copy_(dest, non_blocking=True)
                slot.free = streams.record("d2h")

    def numel(self) -> int:
        return sum(t.numel() for t in self.tails)


def even_chunk(numel: int, limit: int) -> int:
    """The chunk size that cuts `numel` elements into the fewest chunks of at most `limit`, all but the
    last equal and the last shorter by fewer elements than there are chunks. Cut at `limit` instead, a tail's last chunk
    could be tiny: its slot came free at once, so the next tail's first chunk waited for the other
    slot's whole store, and the link idled a chunk's store time per tail (gpt-1.3b, 1 GPU, 24 blocks of
    50.3 M elements = 3 chunks of 16.8 M + 26 K: 94 of 410 ms of the swap in S13-3's profiled step;
    0.687 -> 0.624 s/iter, bench/results/engine/README.md session 13)."""
    pieces = -(-numel // limit)
    return -(-numel // pieces)


def overlaps(pieces, start: int, n: int) -> list[tuple[int, int, torch.Tensor]]:
    """(lo, hi, source) of the (offset, tensor) `pieces` inside [start, start + n), in chunk
    coordinates, sorted; source is the part of the tensor that covers [lo, hi)."""
    found = []
    for offset, tensor in pieces:
        lo, hi = max(offset, start), min(offset + tensor.numel(), start + n)
        if lo < hi:
            found.append((lo - start, hi - start, tensor[lo - offset: hi - offset]))
    return sorted(found, key=lambda piece: piece[0])


def gaps(pieces: list[tuple[int, int, torch.Tensor]], n: int) -> list[tuple[int, int]]:
    """The ranges of [0, n) that sorted, disjoint `pieces` leave uncovered."""
    found, at = [], 0
    for lo, hi, _ in pieces:
        if lo > at:
            found.append((at, lo))
        at = max(at, hi)
    return found + ([(at, n)] if at < n else [])
