"""CUDA-event timing with warm-up and repeats (GPU side; torch imported lazily by callers)."""

from __future__ import annotations

from collections.abc import Callable

import torch


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
                stream: torch.cuda.Stream | None = None) -> list[float]:
    """Seconds per call of `fn`: `repeats` samples, each `inner` back-to-back calls between two
    CUDA events (divided by `inner`); `before` (e.g. an L2 flush) runs outside the events."""
    stream = stream or torch.cuda.current_stream()
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        if before is not None:
            before()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
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
