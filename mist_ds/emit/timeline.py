"""1F1B pipeline timeline of a plan (data for the PNG): which stage runs which micro-batch when."""

from __future__ import annotations

from dataclasses import dataclass

# Backward ~ 2x forward (Narayanan et al. 2021, "Efficient Large-Scale Language Model Training
# on GPU Clusters", section 3.5): a stage's stable time splits 1/3 forward, 2/3 backward.
FORWARD_SHARE = 1.0 / 3.0


@dataclass(frozen=True)
class Slot:
    """One box of the timeline."""

    stage: int
    kind: str
    """'F' (forward), 'B' (backward) or 'step' (per-iteration extra: grad sync, optimizer)."""
    micro_batch: int
    start_s: float
    duration_s: float


def stage_order(stage: int, num_stages: int, grad_accum: int) -> list[tuple[str, int]]:
    """1F1B order on one stage: warm-up forwards, alternating F/B, cool-down backwards
    (DeepSpeed runtime/pipe/schedule.py TrainSchedule; PipeDream-Flush)."""
    warmup = min(num_stages - stage - 1, grad_accum)
    order = [("F", m) for m in range(warmup)]
    for m in range(grad_accum - warmup):
        order += [("F", warmup + m), ("B", m)]
    order += [("B", m) for m in range(grad_accum - warmup, grad_accum)]
    return order


def simulate_1f1b(stable_s: list[float], delta_s: list[float], grad_accum: int) -> list[Slot]:
    """Start times of every forward/backward under 1F1B dependencies, then each stage's step."""
    num = len(stable_s)
    orders = [stage_order(i, num, grad_accum) for i in range(num)]
    done: dict[tuple[str, int, int], float] = {}
    free = [0.0] * num
    position = [0] * num
    slots: list[Slot] = []
    while any(position[i] < len(orders[i]) for i in range(num)):
        progressed = False
        for i in range(num):
            if position[i] >= len(orders[i]):
                continue
            kind, mb = orders[i][position[i]]
            deps = [("F", i - 1, mb)] if kind == "F" and i > 0 else []
            if kind == "B":
                deps = [("F", i, mb)] + ([("B", i + 1, mb)] if i < num - 1 else [])
            if not all(dep in done for dep in deps):
                continue
            start = max([free[i]] + [done[dep] for dep in deps])
            share = FORWARD_SHARE if kind == "F" else 1.0 - FORWARD_SHARE
            duration = stable_s[i] * share
            slots.append(Slot(i, kind, mb, start, duration))
            done[(kind, i, mb)] = free[i] = start + duration
            position[i] += 1
            progressed = True
        if not progressed:
            raise RuntimeError("1F1B schedule deadlocked")  # cannot happen for a valid order
    slots += [Slot(i, "step", -1, free[i], delta_s[i]) for i in range(num)]
    return slots
