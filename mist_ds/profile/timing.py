"""CUDA-event timing with warm-up and repeats (GPU side; torch imported lazily by callers)."""

from __future__ import annotations

from collections.abc import Callable

import torch

# torch.cuda._sleep spins a number of GPU cycles; Hopper's boost clock is ~2 GHz (H100 SXM 1.98, H200 1.98)
SLEEP_CYCLES_PER_S = 2.0e9


def hold_gpu(seconds: float, stream: torch.cuda.Stream | None = None) -> None:
    """Queue a spin of about `seconds` on `stream` (default: the current one): what the host queues next
    waits behind it, so its kernels run back to back however long the host takes to launch them."""
    if seconds > 0:
        with torch.cuda.stream(stream or torch.cuda.current_stream()):
            torch.cuda._sleep(int(seconds * SLEEP_CYCLES_PER_S))


class L2Flusher:
    """Writes a buffer larger than the L2 cache so the next kernel starts cold."""

    def __init__(self, device: torch.device) -> None:
        props = torch.cuda.get_device_properties(device)
        self.l2_bytes = int(getattr(props, "L2_cache_size", 50 * 2**20))
        self._buf = torch.empty(2 * self.l2_bytes // 4 + 1, dtype=torch.int32, device=device)

    def __call__(self) -> None:
        self._buf.zero_()


def time_region(fn: Callable[[], object], *, warmup: int, repeats: int, inner: int = 1,
                before: Callable[[], object] | None = None,
                stream: torch.cuda.Stream | None = None, gate_s: float = 0.0) -> list[float]:
    """Seconds per call of `fn`: `repeats` samples, each `inner` back-to-back calls between two
    CUDA events (divided by `inner`); `before` (e.g. an L2 flush) runs outside the events.

    Without a gate an idle GPU reaches the start event at once and then waits for the host to launch
    `fn`'s first kernel, so the sample also holds the host's launch path (tens to hundreds of
    microseconds for SDPA through cuDNN and for autograd.grad). `gate_s` > 0 queues a spin of that
    long before the start event (hold_gpu): the host has launched everything by the time the GPU
    passes the start event, so the sample is the kernels' own time."""
    stream = stream or torch.cuda.current_stream()
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        if before is not None:
            before()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        hold_gpu(gate_s, stream)
        start.record(stream)
        for _ in range(inner):
            fn()
        end.record(stream)
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1e3 / inner)
    return samples


def estimate_s(fn: Callable[[], object]) -> float:
    """One synchronised call, timed with events (a rough size for `inner`)."""
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3
