"""The measured training loop: one optimizer step per iteration, timed after a device sync."""

from __future__ import annotations

import time

import torch
import torch.distributed as dist

from mist_ds.config import Plan
from mist_ds.runtime.data import TokenSource, micro_batches
from mist_ds.runtime.build import Runtime
from mist_ds.runtime.host_clock import StepHost
from mist_ds.runtime.reporting import alloc_retries


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(plan: Plan, rt: Runtime, source: TokenSource, step: int, mark=None) -> float:
    """One optimizer step; returns the global mean loss (over micro-batches and dp ranks). `mark`, when
    given, is called with 'forward', 'backward' and 'step' after each of a micro-batch's engine calls
    (bench/runtime/phase_train.py times them); pipelined plans make one call and never mark."""
    batches = micro_batches(source, step, global_batch=plan.global_batch_size,
                            micro_batch=plan.micro_batch_size, dp=rt.dp,
                            dp_rank=rt.dp_rank, grad_accum=plan.grad_accum_steps, device=rt.device)
    if rt.pipelined:  # DeepSpeed averages over micro-batches and dp, and broadcasts to all stages
        return float(rt.engine.train_batch(data_iter=iter(batches)))
    total = torch.zeros((), device=rt.device, dtype=torch.float32)
    mark = mark or (lambda _phase: None)
    for tokens, labels in batches:
        loss = rt.engine(tokens, labels)
        mark("forward")
        rt.engine.backward(loss)
        mark("backward")
        rt.engine.step()
        mark("step")
        total += loss.detach().float()
    total /= len(batches)
    dist.all_reduce(total)  # tp ranks hold equal values: the world mean is the dp mean
    return float(total) / dist.get_world_size()


def run_steps(plan: Plan, rt: Runtime, source: TokenSource, steps: int, on_step=None,
              losses: list[float] | None = None, host: StepHost | None = None,
              retries: list[int] | None = None):
    """Run `steps` optimizer steps; returns (losses, wall seconds per step, max over ranks).
    `losses`, when given, is filled in place (so a failure handler sees the losses so far); `host`,
    when given, applies its garbage-collection policy and records each step's collector pauses
    (inside the step's timing: a manual collection is part of the step it runs in); `retries`, when
    given, gets this rank's caching-allocator retries of each step (nothing on CPU)."""
    losses = [] if losses is None else losses
    times: list[float] = []
    host = host if host is not None else StepHost()
    host.start()
    try:
        for step in range(steps):
            _sync(rt.device)
            retried = alloc_retries()  # read outside the step's timing
            start = time.perf_counter()
            host.before_step(step)
            losses.append(train_step(plan, rt, source, step))
            _sync(rt.device)
            times.append(time.perf_counter() - start)
            host.after_step()
            if retries is not None and retried is not None:
                retries.append(alloc_retries() - retried)
            if on_step is not None:
                on_step(step, losses, times)
    finally:
        host.stop()
    slowest = torch.tensor(times, dtype=torch.float64, device=rt.device)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    return losses, slowest.tolist()
