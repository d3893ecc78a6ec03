"""Assemble and write RunReports (ok, oom, error) from inside a training process.

Host memory (issue 18): every rank records its peak RSS and the peak of torch's pinned host allocator,
and samples its node's MemAvailable from the moment this module is imported: launch/train.py
(mist_ds/runtime/rank.py, train) imports it before the model or the engine allocates anything, so the
minimum covers model build, engine set-up and every step.
"""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

import deepspeed
import torch
import torch.distributed as dist

from mist_ds.config import HardwareProfile, Plan, RunReport
from mist_ds.gpuinfo import driver_version, host_cpu_cores, host_cpu_model, host_l3_bytes
from mist_ds.runtime.host_clock import StepHost
from mist_ds.runtime.host_saves import activation_offload_copy
from mist_ds.runtime.measure import NodeMemoryMonitor, merge_nodes, peak_rss_bytes, throughput, timing_stats
from mist_ds.runtime.mistpipe.actoffload import recorded_queue_blocks
from mist_ds.runtime.mistpipe.engine import recorded_fused_head_loss, recorded_releases_logits
from mist_ds.runtime.mistpipe.hostmem import REGISTERED
from mist_ds.runtime.mistpipe.optimizer import recorded_host_buffers, recorded_norm_in_pieces, recorded_swap_gradients
from mist_ds.runtime.mistpipe.stage import recorded_fused_head_wgrad, recorded_fused_wgrad
from mist_ds.source_version import runtime_digest

NODE_MEMORY = NodeMemoryMonitor().start()
# torch.cuda.host_memory_stats keys of the pinned allocator's peak, newest name first.
PINNED_PEAK_KEYS = ("allocated_bytes.peak", "reserved_bytes.peak")


def device_name() -> str:
    """torch's name of this rank's GPU, or 'cpu'."""
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def memory_peaks() -> tuple[int, int]:
    """(max allocated, max reserved) bytes of this rank's GPU; (0, 0) on CPU."""
    if not torch.cuda.is_available():
        return 0, 0
    return torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()


def alloc_retries() -> int | None:
    """How often this rank's caching allocator freed its cache and retried a cudaMalloc
    (torch.cuda.memory_stats num_alloc_retries); None on CPU."""
    if not torch.cuda.is_available():
        return None
    return int(torch.cuda.memory_stats().get("num_alloc_retries", 0))


def pinned_peak_bytes() -> int | None:
    """Peak bytes of torch's pinned (page-locked) host allocator, which serves tensor.pin_memory()
    (DeepSpeed's offload buffers: accelerator/cuda_accelerator.py pin_memory) and
    torch.empty(pin_memory=True) (save_on_cpu); None on CPU runs or without the statistic."""
    stats_fn = getattr(torch.cuda, "host_memory_stats", None)
    if not torch.cuda.is_available() or stats_fn is None:
        return None
    stats = stats_fn()
    return next((int(stats[key]) for key in PINNED_PEAK_KEYS if key in stats), None)


def host_sample() -> tuple:
    """This rank's host-memory readings: (host, MemAvailable at start, lowest MemAvailable,
    MemTotal, peak RSS, pinned peak, peak registered through mistpipe's hostmem.py)."""
    NODE_MEMORY.sample()
    return (socket.gethostname(), NODE_MEMORY.start_bytes, NODE_MEMORY.min_bytes,
            NODE_MEMORY.total_bytes, peak_rss_bytes(), pinned_peak_bytes(), REGISTERED.peak)


def host_fields(samples: list[tuple]) -> dict:
    """RunReport host-memory fields from the host_sample() of one or more ranks (rank order)."""
    starts, lows, totals = merge_nodes([sample[:4] for sample in samples])
    pinned, registered = [sample[5] for sample in samples], [sample[6] for sample in samples]
    return dict(host_peak_rss_bytes=tuple(sample[4] for sample in samples),
                host_pinned_peak_bytes=() if None in pinned else tuple(pinned),
                host_registered_bytes=tuple(registered) if any(registered) else (),
                node_mem_available_start_bytes=starts, node_mem_available_min_bytes=lows,
                node_mem_total_bytes=totals)


def merge_kernels(per_rank: list[dict[str, str]]) -> dict[str, str]:
    """RunReport.kernels from every rank's record (rank order): the common name of each op, or, where
    ranks differ, each name with its ranks ('liger on ranks 0,1; chunked_compile on ranks 2,3');
    empty when a rank recorded nothing."""
    if not per_rank or not all(per_rank):
        return {}
    merged = {}
    for op in per_rank[0]:
        ranks: dict[str, list[str]] = {}
        for rank, record in enumerate(per_rank):
            ranks.setdefault(record[op], []).append(str(rank))
        merged[op] = next(iter(ranks)) if len(ranks) == 1 else "; ".join(
            f"{name} on ranks {','.join(who)}" for name, who in ranks.items())
    return merged


def _base(plan: Plan, steps: int, warmup: int, precision: str) -> dict:
    return dict(plan_hash=plan.without_prediction().content_hash(), gpu_name=device_name(),
                num_gpus=plan.cluster.num_gpus, torch_version=torch.__version__,
                deepspeed_version=deepspeed.__version__, num_steps=steps,
                num_warmup_steps=min(warmup, steps), precision=precision,
                date_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                driver_version=driver_version() if torch.cuda.is_available() else "",
                host_cpu_cores=host_cpu_cores(), host_cpu_model=host_cpu_model(), host_l3_bytes=host_l3_bytes(),
                cuda_alloc_conf=os.environ.get("PYTORCH_CUDA_ALLOC_CONF", ""),
                activation_offload_copy=activation_offload_copy(plan), d2h_queue_blocks=recorded_queue_blocks(plan),
                swap_gradients=recorded_swap_gradients(plan), host_buffers=recorded_host_buffers(plan),
                fused_wgrad=recorded_fused_wgrad(plan), norm_in_pieces=recorded_norm_in_pieces(plan),
                releases_logits=recorded_releases_logits(plan),
                fused_head_wgrad=recorded_fused_head_wgrad(plan), fused_tied_head_wgrad=recorded_fused_head_wgrad(plan),
                fused_head_loss=recorded_fused_head_loss(plan), runtime_digest=runtime_digest())


def failure_report(plan: Plan, status: str, message: str, *, steps_done: int, warmup: int,
                   precision: str, losses: list[float], kernels: dict[str, str] | None = None,
                   zero_init: bool | None = None) -> RunReport:
    """What a failing rank knows: its own peak memory (GPU and host), the losses so far, the
    kernels its model was built with (None: it failed before) and whether its build used
    deepspeed.zero.Init (None: it failed before the build began)."""
    alloc, reserved = memory_peaks()
    retries = alloc_retries()
    rank = dist.get_rank() if dist.is_initialized() else 0
    first_line = (message.strip().splitlines() or [type(message).__name__])[0][:500]
    return RunReport(status=status, error_message=first_line or status,
                     peak_allocated_bytes=(alloc,) if alloc else (),
                     peak_reserved_bytes=(reserved,) if reserved else (),
                     alloc_retries=(retries,) if retries is not None else (),
                     losses=tuple(losses), failed_rank=rank, kernels=dict(kernels or {}), zero_init=zero_init,
                     **host_fields([host_sample()]),
                     **_base(plan, steps_done, warmup, precision))


def host_step_fields(per_rank: list[StepHost | None], warmup: int) -> dict:
    """RunReport gc_mode, gc_pause_s and host_steal_s (per timed step, the most over ranks), host_probe_s
    (per rank) and startup_s (the most over ranks) from every rank's StepHost (None: not measured)."""
    if not per_rank or None in per_rank:
        return {}
    pauses = [max(step) for step in zip(*(host.gc_pause_s[warmup:] for host in per_rank))]
    steals = [max(step) for step in zip(*(host.steal_s[warmup:] for host in per_rank))]
    probes = [host.probe_s for host in per_rank]
    startups = [host.startup_s for host in per_rank]
    return dict(gc_mode=per_rank[0].label(), gc_pause_s=tuple(pauses), host_steal_s=tuple(steals),
                host_probe_s=() if None in probes else tuple(probes),
                startup_s=None if None in startups else max(startups))


def timed_step_max(per_rank: list[list[int]], warmup: int, timed: int) -> tuple[int, ...]:
    """Per timed step, the most over ranks of a per-step count; () unless every rank counted every step."""
    if not per_rank or any(len(counts) != warmup + timed for counts in per_rank):
        return ()
    return tuple(max(step) for step in zip(*(counts[warmup:] for counts in per_rank)))


def success_report(plan: Plan, losses: list[float], times: list[float], *, warmup: int,
                   precision: str, hardware: HardwareProfile | None,
                   kernels: dict[str, str] | None = None, zero_init: bool | None = None,
                   host: StepHost | None = None, step_retries: list[int] | None = None) -> RunReport:
    """Gather every rank's memory peaks, kernels and step host record (collective: all ranks call it)
    and build the report; `kernels`: this rank's (runtime/build.py resolve_kernels); `zero_init`:
    whether the model was built under deepspeed.zero.Init (runtime/build.py uses_zero_init; the same on
    every rank); `host`: this rank's StepHost after run_steps; `step_retries`: this rank's allocator
    retries per step (run_steps' `retries`)."""
    peaks = [None] * dist.get_world_size()
    dist.all_gather_object(peaks, (memory_peaks(), host_sample(), dict(kernels or {}), alloc_retries(),
                                   (host, list(step_retries or ()))))
    timed = times[warmup:]
    median, iqr = timing_stats(timed)
    on_gpu = torch.cuda.is_available()
    peak = hardware.peak_bf16_tflops if (hardware is not None and on_gpu) else None
    tokens_s, tflops, mfu = throughput(plan, median, plan.cluster.num_gpus, peak)
    gpu, hosts, ran, retries, per_step = zip(*peaks)
    steps, step_retries_by_rank = zip(*per_step)
    return RunReport(status="ok", peak_allocated_bytes=tuple(a for a, _ in gpu) if on_gpu else (),
                     peak_reserved_bytes=tuple(r for _, r in gpu) if on_gpu else (),
                     alloc_retries=() if None in retries else tuple(retries),
                     iteration_times_s=tuple(timed), median_iteration_time_s=median,
                     iteration_time_iqr_s=iqr, tokens_per_s=tokens_s, achieved_tflops_per_gpu=tflops,
                     mfu=mfu, losses=tuple(losses),
                     hardware_name=hardware.name if (hardware is not None and on_gpu) else "",
                     kernels=merge_kernels(list(ran)), zero_init=zero_init,
                     step_alloc_retries=timed_step_max(list(step_retries_by_rank), warmup, len(timed)),
                     **host_fields(list(hosts)), **host_step_fields(list(steps), warmup),
                     **_base(plan, len(losses), warmup, precision))


def write_report(report: RunReport, path: str | Path | None) -> None:
    """Atomic write (several failing ranks may race; each write is whole)."""
    if path is not None:
        report.save(path)
