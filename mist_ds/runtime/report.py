"""Assemble and write RunReports (ok, oom, error) from inside a training process."""

from __future__ import annotations

from pathlib import Path

import deepspeed
import torch
import torch.distributed as dist

from mist_ds.config import HardwareProfile, Plan, RunReport
from mist_ds.runtime.measure import throughput, timing_stats


def device_name() -> str:
    """torch's name of this rank's GPU, or 'cpu'."""
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def memory_peaks() -> tuple[int, int]:
    """(max allocated, max reserved) bytes of this rank's GPU; (0, 0) on CPU."""
    if not torch.cuda.is_available():
        return 0, 0
    return torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()


def _base(plan: Plan, steps: int, warmup: int, precision: str) -> dict:
    return dict(plan_hash=plan.without_prediction().content_hash(), gpu_name=device_name(),
                num_gpus=plan.cluster.num_gpus, torch_version=torch.__version__,
                deepspeed_version=deepspeed.__version__, num_steps=steps,
                num_warmup_steps=min(warmup, steps), precision=precision)


def failure_report(plan: Plan, status: str, message: str, *, steps_done: int, warmup: int,
                   precision: str, losses: list[float]) -> RunReport:
    """What a failing rank knows: its own peak memory and the losses so far."""
    alloc, reserved = memory_peaks()
    rank = dist.get_rank() if dist.is_initialized() else 0
    first_line = (message.strip().splitlines() or [type(message).__name__])[0][:500]
    return RunReport(status=status, error_message=first_line or status,
                     peak_allocated_bytes=(alloc,) if alloc else (),
                     peak_reserved_bytes=(reserved,) if reserved else (),
                     losses=tuple(losses), failed_rank=rank,
                     **_base(plan, steps_done, warmup, precision))


def success_report(plan: Plan, losses: list[float], times: list[float], *, warmup: int,
                   precision: str, hardware: HardwareProfile | None) -> RunReport:
    """Gather every rank's memory peaks (collective: all ranks call it) and build the report."""
    peaks = [None] * dist.get_world_size()
    dist.all_gather_object(peaks, memory_peaks())
    timed = times[warmup:]
    median, iqr = timing_stats(timed)
    on_gpu = torch.cuda.is_available()
    peak = hardware.peak_bf16_tflops if (hardware is not None and on_gpu) else None
    tokens_s, tflops, mfu = throughput(plan, median, plan.cluster.num_gpus, peak)
    return RunReport(status="ok", peak_allocated_bytes=tuple(a for a, _ in peaks) if on_gpu else (),
                     peak_reserved_bytes=tuple(r for _, r in peaks) if on_gpu else (),
                     iteration_times_s=tuple(timed), median_iteration_time_s=median,
                     iteration_time_iqr_s=iqr, tokens_per_s=tokens_s, achieved_tflops_per_gpu=tflops,
                     mfu=mfu, losses=tuple(losses),
                     hardware_name=hardware.name if (hardware is not None and on_gpu) else "",
                     **_base(plan, len(losses), warmup, precision))


def write_report(report: RunReport, path: str | Path | None) -> None:
    """Atomic write (several failing ranks may race; each write is whole)."""
    if path is not None:
        report.save(path)
