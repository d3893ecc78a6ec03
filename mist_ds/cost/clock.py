"""The pipeline clock: iteration time of DeepSpeed's 1F1B pipeline from per-stage times.

`simulate_pipeline` is THE clock: `predict_plan`, report.md and plan.png all read it. It executes the
instruction stream of DeepSpeed's `TrainSchedule` (runtime/pipe/schedule.py; `train_schedule_steps`
reproduces it and tests/cost/test_pipeline_clock.py checks it against DeepSpeed's own generator) with
the semantics of `PipelineEngine` (runtime/pipe/engine.py, pipe/p2p.py): forward and backward passes
run in order on each stage, a send and its matching receive are blocking and complete together (the
p2p transfer time after both sides arrived), and at the end of the batch the stages holding tied
weights all-reduce them (ReduceTiedGrads) before each stage's gradient reduction and optimizer step
(the stage's `delta`).

`closed_form_bound` is Mist's closed form (MIST.md section 3; Narayanan et al. 2021 section 2.2),
T = sum st + (G-1) max st + max_i (delta_i - sum_{j<i} st_j). It equals the clock for uniform stages.
When every stage's forward is the same share of its stable time (the cost model's split is close to
that) it is never below the clock, and above it when an early stage is the slowest (its forwards run
ahead while later stages fill): by up to 12% for stages within +-20% of each other
(tests/cost/test_pipeline_clock.py). The exact partition search optimises this bound
(search/partition.py) because it decomposes over stages; the search's candidates are then ranked and
reported by the clock (mist_ds/api.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from mist_ds.cost.groups import boundary_spans_nodes


def slowest_boundary_p2p_s(rates, boundaries: Sequence[tuple[int, float]], gpus_per_node: int,
                           num_nodes: int) -> float:
    """Seconds of the slowest stage-boundary p2p transfer of one micro-batch.

    `boundaries` holds (first global rank of the receiving stage, bytes sent) per boundary. Stages
    occupy consecutive rank blocks (DeepSpeed PipeDataParallelTopology puts the pipe axis
    outermost, runtime/pipe/topology.py), so a boundary is inter-node when the ranks on either side
    of it sit on different nodes; the time is the profile's p2p alpha-beta fit (`rates.collective_s`).
    """
    worst = 0.0
    for first_rank, nbytes in boundaries:
        inter = boundary_spans_nodes(first_rank, gpus_per_node, num_nodes)
        worst = max(worst, float(rates.collective_s("p2p", nbytes, 2, inter)))
    return worst


def closed_form_bound(stable_s: Sequence[float], delta_s: Sequence[float], p2p_s: float,
                      grad_accum: int) -> float:
    """Mist's closed-form 1F1B iteration time (module docstring), with st_i = stable_i + p2p_s per
    neighbour of stage i: the partition search's objective, the clock's approximation."""
    stable = np.asarray(stable_s, float)
    delta = np.asarray(delta_s, float)
    num = len(stable)
    if num == 0 or len(delta) != num:
        raise ValueError("need one stable and one delta time per stage")
    if grad_accum < 1:
        raise ValueError("grad_accum must be >= 1")
    neighbours = np.full(num, 2.0)
    neighbours[0] -= 1
    neighbours[-1] -= 1
    effective = stable + p2p_s * np.maximum(neighbours, 0.0)
    before = np.concatenate(([0.0], np.cumsum(effective)[:-1]))
    return float(effective.sum() + (grad_accum - 1) * effective.max() + np.max(delta - before))


def _step_to_micro_batch(step: int, stage: int, num_stages: int) -> tuple[int, bool]:
    """TrainSchedule._step_to_micro_batch: (micro-batch id, is_forward) of `stage` at `step`."""
    if step % 2 == stage % 2:  # forward steps: even/even and odd/odd
        return (step - stage % 2) // 2 - stage // 2, True
    if step % 2 == 0:          # even step, odd stage
        return step // 2 - num_stages + (stage + 1) // 2, False
    return (step - 1) // 2 - num_stages + 1 + stage // 2, False


def train_schedule_steps(stage: int, num_stages: int, grad_accum: int) -> Iterator[list[tuple[str, int]]]:
    """DeepSpeed TrainSchedule(micro_batches=G, stages=S, stage_id=stage).steps() as (command, micro-batch)
    lists: 'send_act', 'recv_act', 'send_grad', 'recv_grad', 'fwd', 'bwd', and 'step' at the end
    (ReduceTiedGrads + ReduceGrads + OptimizerStep). Buffers and LoadMicroBatch are left out."""
    valid = lambda mb: 0 <= mb < grad_accum  # noqa: E731
    prev, total = -1, 2 * (grad_accum + num_stages - 1)
    for step in range(total):
        mb, forward = _step_to_micro_batch(step, stage, num_stages)
        cmds: list[tuple[str, int]] = []
        if forward:
            if valid(prev) and stage > 0:
                cmds.append(("send_grad", prev))
            if valid(mb) and stage > 0:
                cmds.append(("recv_act", mb))
        else:
            if valid(mb) and stage < num_stages - 1:
                cmds.append(("recv_grad", mb))
            if valid(prev) and stage < num_stages - 1:
                cmds.append(("send_act", prev))
        if valid(mb):
            cmds.append(("fwd" if forward else "bwd", mb))
        if step == total - 1:
            cmds.append(("step", -1))
        prev = mb
        yield cmds


@dataclass(frozen=True)
class Slot:
    """One box of the pipeline timeline."""

    stage: int
    kind: str
    """'F' (forward), 'B' (backward) or 'step' (gradient reduction + optimizer step)."""
    micro_batch: int
    start_s: float
    duration_s: float


@dataclass(frozen=True)
class PipelineTimeline:
    """The clock's answer: every box, and the iteration time (the last box's end)."""

    slots: tuple[Slot, ...]
    iteration_s: float


_PEER = {"send_act": (1, "act"), "recv_act": (-1, "act"), "send_grad": (-1, "grad"), "recv_grad": (1, "grad")}


def simulate_pipeline(forward_s: Sequence[float], backward_s: Sequence[float], delta_s: Sequence[float],
                      p2p_s: float, grad_accum: int, tied_sync_s: float | None = None) -> PipelineTimeline:
    """Run the TrainSchedule instruction streams of every stage (module docstring). `tied_sync_s`:
    seconds of the tied-weight all-reduce between the first and the last stage (None: no tied weights
    or one stage)."""
    num = len(forward_s)
    if num == 0 or not len(backward_s) == len(delta_s) == num or grad_accum < 1:
        raise ValueError("need one forward, backward and delta time per stage and grad_accum >= 1")
    streams = [[c for step in train_schedule_steps(i, num, grad_accum) for c in step] for i in range(num)]
    clock, pos, slots = [0.0] * num, [0] * num, []
    waiting: dict[tuple, tuple[float, int]] = {}  # (channel, lower stage, mb) -> (arrival, stage)
    tied_arrival: dict[int, float] = {}
    while any(pos[i] < len(streams[i]) for i in range(num)):
        progressed = False
        for i in range(num):
            while pos[i] < len(streams[i]):
                cmd, mb = streams[i][pos[i]]
                if cmd in ("fwd", "bwd"):
                    duration = (forward_s if cmd == "fwd" else backward_s)[i]
                    slots.append(Slot(i, "F" if cmd == "fwd" else "B", mb, clock[i], duration))
                    clock[i] += duration
                elif cmd == "step":
                    if tied_sync_s is not None and num > 1 and i in (0, num - 1):
                        if len(tied_arrival) < 2:
                            tied_arrival[i] = clock[i]
                            if len(tied_arrival) < 2:
                                break
                            clock[0] = clock[num - 1] = max(tied_arrival.values()) + tied_sync_s
                    slots.append(Slot(i, "step", -1, clock[i], delta_s[i]))
                    clock[i] += delta_s[i]
                else:
                    offset, channel = _PEER[cmd]
                    key = (channel, min(i, i + offset), mb)
                    arrived, waiter = waiting.get(key, (clock[i], i))
                    if waiter == i:  # the peer is not there yet: block until it arrives
                        waiting[key] = (arrived, i)
                        break
                    del waiting[key]
                    clock[i] = clock[i + offset] = max(arrived, clock[i]) + p2p_s
                    pos[i + offset] += 1
                pos[i] += 1
                progressed = True
        if not progressed:
            raise RuntimeError("pipeline schedule deadlocked")  # cannot happen for TrainSchedule
    return PipelineTimeline(tuple(slots), max(clock))
