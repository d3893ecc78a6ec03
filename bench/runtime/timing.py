"""Timing and peak-memory helpers of the runtime GPU benchmarks (bench/runtime/gpu_bench.py)."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device, *, warmup: int = 2, repeats: int = 5,
            setup: Callable[[], object] | None = None) -> float:
    """Median wall time of fn() in ms (CUDA events on GPUs); setup() runs before each call,
    outside the timed region."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        sync(device)
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def peak_extra_bytes(fn: Callable[[], object], device: torch.device) -> int | None:
    """Peak bytes allocated by fn() above what was allocated before it (None on CPU)."""
    if device.type != "cuda":
        return None
    sync(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    sync(device)
    return torch.cuda.max_memory_allocated(device) - base


def liger_available() -> bool:
    try:
        import liger_kernel.ops  # noqa: F401
    except ImportError:
        return False
    return True


def flash_attn_available() -> bool:
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        return False
    return True


class Budget:
    """Wall-clock budget: cases after it is spent are recorded as skipped."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() > self.deadline


def run_case(budget: Budget, fn: Callable[[], dict]) -> dict:
    """fn()'s result, {'skipped': 'budget'} past the budget, or the error in one line."""
    if budget.spent():
        return {"skipped": "time budget spent"}
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - a kernel that cannot run a shape is a result
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
