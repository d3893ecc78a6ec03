"""The one entry function: `tune(request, hardware) -> TuneResult`.

`python -m mist_ds.autotune`, `ds_configs/generate.py`, the benchmarks and the tests all tune through
here, so ranking and prediction happen one way. The search (mist_ds/search) finds the best layouts and
partitions under the partition objective (cost/clock.py closed_form_bound) that fit the per-GPU
cap less a memory margin; `tune` then predicts each candidate's plan with `predict_plan` — the
pipeline clock, the numbers predict, report.md and plan.png show — and ranks the plans by that,
honestly: plans closer in predicted time than the cost model's measured error are a tie
(`honest_order`), and that error is each plan kind's own where the committed GPU runs measured a larger one
(the shipped track record: `time_tolerance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mist_ds.config import HardwareProfile, Plan, TuneRequest
from mist_ds.config.request import MAX_HOST_MEMORY_BYTES
from mist_ds.config.track_record import TrackRecord, record_for, shipped_track_record
from mist_ds.emit.ranking import LostTie, find_lost_tie
from mist_ds.emit.report import cap_reserving_stages, memory_cap, peak_bytes
from mist_ds.search import MemoryFloor, search
from mist_ds.search.driver import (DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO, Progress,
                                   RecomputeMode, SearchStats)
from mist_ds.search.plans import predicted_plan

# The search keeps this many times the candidate pool under its objective, so the clock's re-ranking
# can promote a candidate the closed form placed just outside it.
CANDIDATE_FACTOR = 2
# ... and as many stock DeepSpeed candidates beside them (search keep_stock), so that honest_order
# measures every other executor's plans against the stock plans a stock-only search would rank: with
# both executors searched, mistpipe's per-stage variants of one mesh can otherwise fill the candidate
# list under the closed form (llama-13b on 2 GPUs at 78 GiB: its 20 best candidates are all mistpipe)
# and leave no stock plan for a near-tie to fall back on.
# Plans ranked (and tie-broken) whatever top_k asks for, so that the winner does not depend on how
# many plans a caller lists (generate.py asks for 1, autotune for 5).
MIN_POOL = 10
# Headroom counts in whole steps of the search's memory margin (DEFAULT_MEMORY_MARGIN_RATIO), up to
# this many steps: within one step two plans are equally safe; beyond 1 step (4% of the cap since session 26,
# more than every measured under-prediction of allocated memory, 3.6% at most: bench/results/accuracy.json,
# tests/search/test_margins.py) more free memory buys no more safety.
MAX_HEADROOM_STEPS = 1


@dataclass(frozen=True)
class TuneResult:
    """Plans best first (each with its prediction), search statistics, and the memory floor when none fits."""

    plans: tuple[Plan, ...]
    stats: SearchStats
    floor: MemoryFloor | None
    warnings: tuple[str, ...] = ()
    """Candidates left out because predict_plan could not cost them (one line each)."""
    ties: tuple[tuple[int, ...], ...] = ()
    """Per plan (same order), the 1-based ranks of the listed plans it ties with, itself included: plans
    predicted closer than the larger of their time tolerances (honest_order). (): each only with itself."""
    tie_rtol: float = MODEL_TIME_ERROR_RATIO
    """Relative time difference below which two plans were a tie, at least (the floor of every plan's
    tolerance)."""
    tolerances: tuple[float, ...] = ()
    """Per plan (same order), its time_tolerance: tie_rtol, or its kind's median time error when larger."""
    per_kind: bool = True
    """True when the ranking's track record held any kind (a kind's error could widen a tie beyond tie_rtol)."""
    lost_tie: LostTie | None = None
    """The fastest plan of the whole ranking predicted faster than the winner that lost its tie to it, listed
    or not (emit/ranking.py find_lost_tie); None when the winner is the fastest that ties with it."""

    def first(self, count: int) -> TuneResult:
        """The same result listing only its first `count` plans."""
        ties = tuple(tuple(r for r in ranks if r <= count) for ranks in self.ties[:count])
        return replace(self, plans=self.plans[:count], ties=ties, tolerances=self.tolerances[:count])

    def tied_ranks(self, index: int) -> tuple[int, ...]:
        """1-based ranks of the listed plans plans[index] ties with (itself included)."""
        return self.ties[index] if self.ties else (index + 1,)


def headroom_bytes(plan: Plan, hardware: HardwareProfile) -> int:
    """Per-GPU memory the plan's predicted peak leaves free under its cap (negative: over the cap)."""
    return memory_cap(plan, hardware) - peak_bytes(plan)


def moving_parts(plan: Plan) -> int:
    """How many mechanisms beyond plain data parallelism (with ZeRO and recompute) the plan uses:
    pipeline stages, tensor parallelism, weight offload, optimizer/gradient offload, activation
    offload. Each is where the cost model is least reliable in the committed accuracy runs: the runs that
    ran out of memory while predicted to fit (before the memory margin existed) were pipeline or
    tensor-parallel plans, and the pipeline-engine and offload families carry the largest time and
    memory errors (bench/results/accuracy.md, "By family", regenerated by `make accuracy`)."""
    memories = [plan.stage_memory(i) for i in range(plan.num_stages)]
    return (int(plan.num_stages > 1) + int(plan.tp > 1)
            + int(any(m.offload_weights_ratio > 0 for m in memories))
            + int(any(m.offload_optimizer_ratio > 0 or m.offload_gradients_ratio > 0 for m in memories))
            + int(any(s.num_offloaded_layers > 0 for s in plan.stages)))


def time_tolerance(plan: Plan, tie_rtol: float, record: TrackRecord | None = None) -> float:
    """How far apart two predicted times must be before the model can tell which plan is faster, for
    `plan`: `tie_rtol` (the model's median time error over all scored runs), or the median time error of
    the held-out runs of the plan's kind (config/track_record.py) when larger. A kind the model has
    predicted worse needs a larger predicted lead (in session 40, mistpipe on several GPUs: 12.4% off in
    the median over 6 runs of session 6's engine, against 2.2% for the stock pipelines it was predicted
    3.5% faster than on llama-7b; bench/results/accuracy.md, "By kind"). A kind with no scored run gets
    `tie_rtol`. tie_rtol 0: 0."""
    if tie_rtol <= 0:
        return 0.0
    _, kind = record_for(plan, record)
    return max(tie_rtol, kind.time_median or 0.0) if kind is not None else tie_rtol


def record_steps(tolerance: float, tie_rtol: float) -> int:
    """A plan's tolerance in whole steps of `tie_rtol` (1 for every kind the model predicts within its median
    error): among tied plans the one whose kind the model has predicted better (fewer steps) ranks first,
    before the stock-first rule. The stock-first rule rests on the record being mostly stock DeepSpeed's; a
    stock kind the record says the model misprices (session 41: stock weight offload with the optimizer on
    the GPU, 54% off) must not win a tie on it. Whole steps, so that kinds within one median error of each
    other (3.0% and 3.9%) still tie-break on the rules after it."""
    return math.floor(tolerance / tie_rtol + 1e-9) if tie_rtol > 0 else 0


def _tie_break_key(plan: Plan, hardware: HardwareProfile) -> tuple:
    """Among tied plans (after honest_order's record_steps and stock-first rules): fewer moving parts, then a
    plan whose reserved memory is not predicted to reach the cap (emit/report.py cap_reserving_stages: allocator
    retries, which cost what emit/report.py RETRY_COST says and are not in the predicted time), then more
    headroom in whole steps of the model's memory error (at most MAX_HEADROOM_STEPS), then the faster
    prediction, then more headroom."""
    free = headroom_bytes(plan, hardware) / memory_cap(plan, hardware)
    steps = min(MAX_HEADROOM_STEPS, math.floor(max(free, 0.0) / DEFAULT_MEMORY_MARGIN_RATIO))
    return (moving_parts(plan), bool(cap_reserving_stages(plan, hardware)), -steps,
            plan.prediction.iteration_time_s, -free)


def _near_stock(plans: Sequence[Plan], tolerance: dict[int, float]) -> dict[int, bool]:
    """By id: True for a plan of another executor than stock DeepSpeed not predicted faster than the
    fastest stock plan of `plans` by more than the larger of their tolerances. Until that stock plan is
    ranked, such a plan ranks after it: the fastest stock plan wins every tie it is part of with a plan whose
    kind's record is no better in record_steps (the cost model's measured record is mostly stock DeepSpeed's:
    bench/results/accuracy.md, "By kind")."""
    stock = [p for p in plans if p.executor == "deepspeed"]
    if not stock:
        return {id(p): False for p in plans}
    fastest = min(stock, key=lambda p: p.prediction.iteration_time_s)
    return {id(p): p.executor != "deepspeed" and not _clearly_faster(p, fastest, tolerance) for p in plans}


def _beaten_counts(plans: Sequence[Plan],
                   tolerance: dict[int, float]) -> tuple[dict[int, list[Plan]], dict[int, int]]:
    """(by id: the plans each plan is clearly faster than, by id: how many plans are clearly faster than it)."""
    beats = {id(q): [p for p in plans if _clearly_faster(q, p, tolerance)] for q in plans}
    beaten = {id(p): 0 for p in plans}
    for losers in beats.values():
        for p in losers:
            beaten[id(p)] += 1
    return beats, beaten


def _clearly_faster(a: Plan, b: Plan, tolerance: dict[int, float]) -> bool:
    """True when `a` is predicted faster than `b` by more than the larger of their tolerances (by id)."""
    lead = 1.0 + max(tolerance[id(a)], tolerance[id(b)])
    return a.prediction.iteration_time_s * lead < b.prediction.iteration_time_s


def honest_order(plans: Sequence[Plan], hardware: HardwareProfile, tie_rtol: float = MODEL_TIME_ERROR_RATIO,
                 record: TrackRecord | None = None) -> tuple[tuple[Plan, ...], tuple[tuple[int, ...], ...]]:
    """(plans best first, per plan the 1-based ranks of the plans it ties with, itself included).

    Two plans tie when neither is predicted faster than the other by more than the larger of their
    time_tolerance (`tie_rtol`, or the median time error of the plan kind's runs in `record`, default the
    shipped track record): the model cannot tell which is faster. Each rank goes to one of the plans no
    remaining plan is clearly faster than (the fastest remaining is always one): first a plan whose tolerance
    is fewer record_steps, then one that is not _near_stock while no stock plan is ranked, then by
    _tie_break_key. tie_rtol 0: by predicted time alone, equal times keeping the order of `plans`.

    Against stock DeepSpeed a plan of another executor (mistpipe) so comes first only when it is
    predicted faster than the fastest stock plan of `plans` by more than the larger tolerance of the two,
    or that stock plan's kind has a worse record (more steps) or is clearly slower than another plan: else
    it ties with that stock plan, which ranks before it (and before every other plan not clearly faster
    with as good a record); once a stock plan is ranked, _tie_break_key ranks the rest."""
    remaining = sorted(plans, key=lambda p: p.prediction.iteration_time_s)
    tolerance = {id(p): time_tolerance(p, tie_rtol, record) for p in plans}
    steps = {id(p): record_steps(tolerance[id(p)], tie_rtol) for p in plans}
    near_stock = _near_stock(plans, tolerance)
    base = {id(p): _tie_break_key(p, hardware) for p in plans} if tie_rtol > 0 else {}
    beats, beaten = _beaten_counts(remaining, tolerance)
    ordered: list[Plan] = []
    while remaining:
        open_ = [p for p in remaining if beaten[id(p)] == 0]
        if tie_rtol > 0:
            stock_ranked = any(p.executor == "deepspeed" for p in ordered)
            open_.sort(key=lambda p: (steps[id(p)], near_stock[id(p)] and not stock_ranked, *base[id(p)]))
        pick = open_[0]
        ordered.append(pick)
        remaining = [p for p in remaining if p is not pick]
        for p in beats[id(pick)]:
            beaten[id(p)] -= 1
    ties = tuple(tuple(j + 1 for j, q in enumerate(ordered)
                       if not (_clearly_faster(p, q, tolerance) or _clearly_faster(q, p, tolerance)))
                 for p in ordered)
    return tuple(ordered), ties


def tune(request: TuneRequest, hardware: HardwareProfile, *, top_k: int = 5, progress: Progress | None = None,
         recompute: RecomputeMode | None = None, memory_margin_ratio: float = DEFAULT_MEMORY_MARGIN_RATIO,
         tie_rtol: float = MODEL_TIME_ERROR_RATIO, record: TrackRecord | None = None) -> TuneResult:
    """The `top_k` best plans for `request` on `hardware` whose predicted peak fits the per-GPU cap
    less `memory_margin_ratio` of it, in honest_order under `record` (default: the shipped track record)
    (memory_margin_ratio 0 and tie_rtol 0: the fastest plans by predicted iteration time, ties keeping
    the search's order: simpler first)."""
    pool = max(top_k, MIN_POOL)
    hardware = request.host_profile(hardware)  # --host-memory-gb / --cpu-cores reach the cost model
    result = search(request, hardware, top_k=CANDIDATE_FACTOR * pool, progress=progress, recompute=recompute,
                    memory_margin_ratio=memory_margin_ratio, keep_stock=CANDIDATE_FACTOR * pool)
    plans, warnings = [], []
    for rank, candidate in enumerate(result.ranked, start=1):
        try:
            plans.append(predicted_plan(request, candidate, hardware))
        except ValueError as err:  # e.g. a profile lacking a collective the plan needs
            warnings.append(f"candidate #{rank} ({candidate.layout.describe()}) left out: "
                            + " ".join(str(err).split())[:160])
    ordered, ties = honest_order(plans[:], hardware, tie_rtol, record)
    tolerances = tuple(time_tolerance(p, tie_rtol, record) for p in ordered)
    per_kind = tie_rtol > 0 and bool((record or shipped_track_record()).kinds)
    return TuneResult(ordered, result.stats, result.floor, tuple(warnings), ties, tie_rtol, tolerances,
                      per_kind, find_lost_tie(ordered, ties, tolerances)).first(top_k)


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
    chosen = [p for p in result.plans[1:]
              if saves_memory(peak_bytes(p), gpu) or saves_memory(host_bytes_per_gpu(p), host)]
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
    """For 'host': the fastest plan that fits the GPUs on a node with `host_enough_bytes` of host memory."""
    host_enough_bytes: int = 0
    """For 'host': node host memory (what --host-memory-gb sets; the request's margins and free share
    kept) with which host_example fits: within HOST_BISECTION_STEPS of the least that any plan needs."""
    host_short_bytes: int = 0
    """For 'host': the largest node host memory tried with which no plan fits (at first the request's)."""
    host_memory_bytes: float = 0
    """For 'host' and 'gpu': the node's host memory the search let offloaded state take
    (HostLimits.usable_bytes: the request's or the hardware profile's, less the share kept free)."""
    unlimited_floor: MemoryFloor | None = None
    """For 'gpu': the memory floor with unlimited host memory (below the result's own floor when more
    offload would help, yet still over the cap)."""


HOST_BISECTION_STEPS = 5
"""Searches binding_limit spends, when host memory binds, narrowing the node host memory with which a
plan first fits: bisection in log space between the request's and what the fastest plan of unlimited
host memory needs, so the answer is within (need / memory) ** (1 / 32) of the least any plan needs
(10x short: within 7.5%). Each is one search of the request's size (about 5 s for llama-70b on 16 GPUs)."""


def least_host_memory(request: TuneRequest, hardware: HardwareProfile, margin_ratio: float,
                      fastest: Plan) -> tuple[int, int, Plan]:
    """(short, enough, plan): a node with `short` bytes of host memory holds no plan that fits the GPUs
    (the request's margins and free share kept), one with `enough` holds `plan`, the fastest there.
    Starts from the request's node memory and the memory `fastest` (which fits the GPUs) needs."""
    limits = request.host_limits(hardware)
    short = limits.memory_bytes
    need = limits.node_need_bytes(host_bytes_per_gpu(fastest)) / (1.0 - limits.free_fraction)
    enough, plan = min(MAX_HOST_MEMORY_BYTES, math.ceil(need) + 1), fastest
    for _ in range(HOST_BISECTION_STEPS):
        mid = math.isqrt(short * enough)
        if not short < mid < enough:
            break
        trial = request.model_copy(update={"host_memory_bytes": mid})
        found = search(trial, trial.host_profile(hardware), top_k=1, memory_margin_ratio=margin_ratio)
        if found.ranked:
            enough, plan = mid, predicted_plan(request, found.ranked[0], request.host_profile(hardware))
        else:
            short = mid
    return short, enough, plan


def binding_limit(request: TuneRequest, hardware: HardwareProfile, result: TuneResult) -> BindingLimit:
    """Which limit makes `result` empty. The search runs once more without a host limit (the request's
    --host-memory-gb and margin lifted; same size as the first: bounded by autotune's search-size check)
    to tell host memory from GPU memory; when host memory binds, least_host_memory's searches say how much
    a node needs."""
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
        fastest = predicted_plan(request, again.ranked[0], request.host_profile(hardware))
        short, enough, example = least_host_memory(request, hardware, stats.memory_margin_ratio, fastest)
        return BindingLimit("host", example, host_enough_bytes=enough, host_short_bytes=short,
                            host_memory_bytes=node_bytes)
    if floor is None:
        return BindingLimit("none")
    return BindingLimit("gpu", host_memory_bytes=node_bytes, unlimited_floor=again.floor)
