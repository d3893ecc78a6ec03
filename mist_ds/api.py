"""The one entry function: `tune(request, hardware) -> TuneResult`.

`python -m mist_ds.autotune`, `ds_configs/generate.py`, the benchmarks and the tests all tune through
here, so ranking and prediction happen one way. The search (mist_ds/search) finds the best layouts and
partitions under the partition objective (cost/clock.py closed_form_bound) that fit the per-GPU
cap less a memory margin; `tune` then predicts each candidate's plan with `predict_plan` — the
pipeline clock, the numbers predict, report.md and plan.png show — and ranks the plans by that,
honestly: plans closer in predicted time than the cost model's measured error are a tie
(`honest_order`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mist_ds.config import HardwareProfile, Plan, TuneRequest
from mist_ds.config.request import MAX_HOST_MEMORY_BYTES
from mist_ds.emit.report import memory_cap, peak_bytes
from mist_ds.search import MemoryFloor, search
from mist_ds.search.driver import (DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO, Progress,
                                   RecomputeMode, SearchStats)
from mist_ds.search.plans import predicted_plan

# The search keeps this many times the candidate pool under its objective, so the clock's re-ranking
# can promote a candidate the closed form placed just outside it.
CANDIDATE_FACTOR = 2
# Plans ranked (and tie-broken) whatever top_k asks for, so that the winner does not depend on how
# many plans a caller lists (generate.py asks for 1, autotune for 5).
MIN_POOL = 10
# Headroom counts in whole steps of the search's memory margin (DEFAULT_MEMORY_MARGIN_RATIO), up to
# this many steps: within one step two plans are equally safe; beyond 3 steps (12% of the cap, more
# than every measured under-prediction of allocated memory, 9.7% at most, where 2 steps are not:
# bench/results/accuracy.json, tests/search/test_margins.py) more free memory buys no more safety.
MAX_HEADROOM_STEPS = 3


@dataclass(frozen=True)
class TuneResult:
    """Plans best first (each with its prediction), search statistics, and the memory floor when none fits."""

    plans: tuple[Plan, ...]
    stats: SearchStats
    floor: MemoryFloor | None
    warnings: tuple[str, ...] = ()
    """Candidates left out because predict_plan could not cost them (one line each)."""
    tie_groups: tuple[int, ...] = ()
    """Per plan (same order), the number of its tie group (1 = the winner's): plans sharing a number
    are predicted within the model's time error of the group's fastest plan (honest_order)."""
    tie_rtol: float = MODEL_TIME_ERROR_RATIO
    """Relative time difference below which two plans were a tie."""

    def first(self, count: int) -> TuneResult:
        """The same result listing only its first `count` plans."""
        return replace(self, plans=self.plans[:count], tie_groups=self.tie_groups[:count])

    def tied_ranks(self, index: int) -> tuple[int, ...]:
        """1-based ranks of every plan in plans[index]'s tie group (itself included)."""
        if not self.tie_groups:
            return (index + 1,)
        group = self.tie_groups[index]
        return tuple(i + 1 for i, g in enumerate(self.tie_groups) if g == group)


def headroom_bytes(plan: Plan, hardware: HardwareProfile) -> int:
    """Per-GPU memory the plan's predicted peak leaves free under its cap (negative: over the cap)."""
    return memory_cap(plan, hardware) - peak_bytes(plan)


def moving_parts(plan: Plan) -> int:
    """How many mechanisms beyond plain data parallelism (with ZeRO and recompute) the plan uses:
    pipeline stages, tensor parallelism, weight offload, optimizer/gradient offload, activation
    offload. Each is where the cost model is least reliable in the committed accuracy runs: all 4
    runs that ran out of memory while predicted to fit were pipeline or tensor-parallel plans, and the
    offload families have the largest time (23-33% median) and memory (19-54%) errors
    (bench/results/accuracy.md, "By family")."""
    memories = [plan.stage_memory(i) for i in range(plan.num_stages)]
    return (int(plan.num_stages > 1) + int(plan.tp > 1)
            + int(any(m.offload_weights_ratio > 0 for m in memories))
            + int(any(m.offload_optimizer_ratio > 0 or m.offload_gradients_ratio > 0 for m in memories))
            + int(any(s.num_offloaded_layers > 0 for s in plan.stages)))


def _tie_break_key(plan: Plan, hardware: HardwareProfile) -> tuple:
    """Inside a tie group: stock DeepSpeed before another executor (mistpipe has no measured runs
    yet: config/executors.py), fewer moving parts, then more headroom in whole steps of the model's
    memory error (at most MAX_HEADROOM_STEPS), then the faster prediction, then more headroom."""
    free = headroom_bytes(plan, hardware) / memory_cap(plan, hardware)
    steps = min(MAX_HEADROOM_STEPS, math.floor(max(free, 0.0) / DEFAULT_MEMORY_MARGIN_RATIO))
    return (plan.executor != "deepspeed", moving_parts(plan), -steps, plan.prediction.iteration_time_s, -free)


def honest_order(plans: Sequence[Plan], hardware: HardwareProfile,
                 tie_rtol: float = MODEL_TIME_ERROR_RATIO) -> tuple[tuple[Plan, ...], tuple[int, ...]]:
    """(plans, tie group per plan): groups in order of predicted time, each holding the fastest plan
    not yet placed and every plan predicted at most `tie_rtol` slower than it (a tie: the model
    cannot tell them apart); inside a group, _tie_break_key decides. tie_rtol 0: by time alone."""
    remaining = sorted(plans, key=lambda p: p.prediction.iteration_time_s)
    ordered: list[Plan] = []
    groups: list[int] = []
    while remaining:
        limit = remaining[0].prediction.iteration_time_s * (1.0 + tie_rtol)
        group = [p for p in remaining if p.prediction.iteration_time_s <= limit]
        remaining = remaining[len(group):]
        ordered += sorted(group, key=lambda p: _tie_break_key(p, hardware)) if tie_rtol > 0 else group
        groups += [groups[-1] + 1 if groups else 1] * len(group)
    return tuple(ordered), tuple(groups)


def tune(request: TuneRequest, hardware: HardwareProfile, *, top_k: int = 5, progress: Progress | None = None,
         recompute: RecomputeMode | None = None, memory_margin_ratio: float = DEFAULT_MEMORY_MARGIN_RATIO,
         tie_rtol: float = MODEL_TIME_ERROR_RATIO) -> TuneResult:
    """The `top_k` best plans for `request` on `hardware` whose predicted peak fits the per-GPU cap
    less `memory_margin_ratio` of it, in honest_order (memory_margin_ratio 0 and tie_rtol 0: the
    fastest plans by predicted iteration time, ties keeping the search's order: simpler first)."""
    pool = max(top_k, MIN_POOL)
    hardware = request.host_profile(hardware)  # --host-memory-gb / --cpu-cores reach the cost model
    result = search(request, hardware, top_k=CANDIDATE_FACTOR * pool, progress=progress, recompute=recompute,
                    memory_margin_ratio=memory_margin_ratio)
    plans, warnings = [], []
    for rank, candidate in enumerate(result.ranked, start=1):
        try:
            plans.append(predicted_plan(request, candidate, hardware))
        except ValueError as err:  # e.g. a profile lacking a collective the plan needs
            warnings.append(f"candidate #{rank} ({candidate.layout.describe()}) left out: "
                            + " ".join(str(err).split())[:160])
    ordered, groups = honest_order(plans[:], hardware, tie_rtol)
    return TuneResult(ordered[:top_k], result.stats, result.floor, tuple(warnings), groups[:top_k], tie_rtol)


MIN_FALLBACK_SAVING_RATIO = DEFAULT_MEMORY_MARGIN_RATIO
"""A fallback must be predicted to need at least this fraction less memory (GPU or host) than the plan
it replaces: a smaller saving is inside the model's median memory error, so the fallback would likely
fail the same way (mist_ds.run applies the same rule at run time)."""


def saves_memory(plan_bytes: int, failed_bytes: int) -> bool:
    """True when `plan_bytes` is less than `failed_bytes` by at least MIN_FALLBACK_SAVING_RATIO of it."""
    return plan_bytes < (1.0 - MIN_FALLBACK_SAVING_RATIO) * failed_bytes


def fallback_plans(result: TuneResult, hardware: HardwareProfile, count: int) -> tuple[Plan, ...]:
    """Up to `count` plans to run, in rank order, when the winner runs out of memory: each is predicted
    to need clearly less per-GPU peak memory or less host memory per GPU than the winner (saves_memory;
    mist_ds.run skips, at run time, those not saving the memory that ran out)."""
    if not result.plans:
        return ()
    winner = result.plans[0]
    gpu, host = peak_bytes(winner), host_bytes_per_gpu(winner)
    chosen = [p for p in result.plans[1:] if saves_memory(peak_bytes(p), gpu) or saves_memory(host_bytes_per_gpu(p), host)]
    return tuple(chosen[:count])


def host_bytes_per_gpu(plan: Plan) -> int:
    """The plan's predicted host memory of offloaded state per GPU (its largest stage)."""
    return max(s.cpu_memory_bytes for s in plan.prediction.stages)


@dataclass(frozen=True)
class BindingLimit:
    """Why nothing fits: 'batch' (no layout splits the global batch), 'margin' (a plan fits the cap
    but not the cap less the margin), 'host' (plans fit the GPU only by offloading more than the
    node's host memory holds), 'gpu' (no plan fits the GPU cap), or 'none' (no plan at all)."""

    kind: str
    host_example: Plan | None = None
    """For 'host': the fastest plan that fits the GPUs when host memory is unlimited."""
    host_memory_bytes: float = 0
    """For 'host' and 'gpu': the node's host memory the search let offloaded state take
    (HostLimits.usable_bytes: the request's or the hardware profile's, less the share kept free)."""
    unlimited_floor: MemoryFloor | None = None
    """For 'gpu': the memory floor with unlimited host memory (below the result's own floor when more
    offload would help, yet still over the cap)."""


def binding_limit(request: TuneRequest, hardware: HardwareProfile, result: TuneResult) -> BindingLimit:
    """Which limit makes `result` empty. The search runs once more without a host limit (the request's
    --host-memory-gb and margin lifted; same size as the first: bounded by autotune's search-size check)
    to tell host memory from GPU memory."""
    stats, floor = result.stats, result.floor
    if stats.num_layouts == 0:
        return BindingLimit("batch")
    if floor is not None and floor.peak_bytes <= stats.memory_cap_bytes:
        return BindingLimit("margin")
    node_bytes = request.host_limits(hardware).usable_bytes
    relaxed = request.model_copy(update={"host_memory_bytes": MAX_HOST_MEMORY_BYTES, "host_memory_margin_bytes": 0,
                                         "host_memory_free_fraction": 0.0})
    again = search(relaxed, relaxed.host_profile(hardware), top_k=1, memory_margin_ratio=stats.memory_margin_ratio)
    if again.ranked:
        example = predicted_plan(request, again.ranked[0], request.host_profile(hardware))
        return BindingLimit("host", example, node_bytes)
    if floor is None:
        return BindingLimit("none")
    return BindingLimit("gpu", host_memory_bytes=node_bytes, unlimited_floor=again.floor)