"""The search: enumerate layouts, evaluate stage strategies in bulk, prune by memory, then solve the
exact partition of the most promising layouts first (branch and bound on a partition lower bound)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.config.executors import MISTPIPE
from mist_ds.config.search_stats import SearchStats
from mist_ds.search.costing import StageCostAdapter
from mist_ds.search.evaluate import Limits, Screen, resolve, screen_layouts
from mist_ds.search.partition import INF, Partition, best_partition, chain_dp, lower_bound
from mist_ds.search.space import Layout, activation_fractions, enumerate_layouts

Progress = Callable[[int, int], None]
RecomputeMode = Literal["tune", "all-or-nothing", "none"]
# Times within this relative distance count as a tie, broken towards simpler plans (less offload,
# lower ZeRO stage, fewer recomputed layers), then by the layout's fields. (Float noise only: the
# ranking that treats plans within the cost model's measured error as equal is mist_ds/api.py's.)
TIE_RTOL = 1e-6

# --- What the committed accuracy runs say about the cost model (bench/results/accuracy.json,
# `make accuracy`: 119 plan + run pairs on 1-2 H200 of plans the search would emit, run with expandable
# segments, 116 of them ran (69 distinct plans), re-predicted by the current model for the kernels each ran).
# tests/search/test_margins.py re-derives both numbers from that file and fails when a new accuracy
# report moves them.
DEFAULT_MEMORY_MARGIN_RATIO = 0.04
"""Fraction of the per-GPU memory cap the search keeps free by default (autotune --memory-margin); 0.02 until
session 26, when the Llama 3.2 3B mistpipe winner at 24 GiB (batch b19) ran out of memory 3.5% below its cap.
It is measured against what decides OOM: max_memory_allocated (under expandable segments the allocator
releases its cache before failing; config/hardware.py allocator_overhead_fraction). The margin is the
90th percentile of the model's under-prediction of allocated memory over the plans that ran, each at
its worst run (1.3%: 9 in 10 plans need no more; a plan is its content, however many folders hold a copy), plus the
largest share of its cap an OOM run still held reserved but unallocated when it failed (2.5%, the Llama 3.2 3B run at
24 GiB; 0.34% before it), rounded up to a whole percent. It was 4% until 2026-12-01, when plans were still counted per
file, so copies of the worst-predicted plans weighed twice, and 3% until session 17 priced ZeRO-1's boundary gradient
partition and ZeRO-3's prefetched parameters (cost/memory.py), the model's largest under-predictions then (and briefly
in session 18, until ZeRO-3's first bucket reduction was priced: cost/stage.py phase_parts). A plan predicted at p fits
when p <= cap x (1 - margin). No run with expandable segments that ran out of memory was predicted within it; the runs
without them (an allocator the runtime no longer uses) are scored apart."""
MODEL_TIME_ERROR_RATIO = 0.03
"""The cost model's measured time error: the median |predicted - measured| / measured iteration time of the runs that
ran (summary time.median, the repeats of bench/accuracy/repeats.py included: 2.81% over 411 runs in session 53, once the
1-GPU H200 node's host step was measured; 2.97% over 393 runs in session 48, 2.98% over 385 runs in session 47, once the
host step of mistpipe's cpu_adam path was measured, hence 3% again; 3.01% over 380 runs in session 46, with the H100
node's held-out batches b49 and b50, 4%; 2.98% over 337 runs in session 38, once ZeRO-3 optimizer offload's backward
coupling was priced, 3% from then until session 46; 3.1% in session 37 and 3.6% over 206 runs in session 24), rounded up
to a whole percent. Plans whose predicted times differ by less than this, or than the median time error of either plan's
kind when larger (mist_ds/api.py time_tolerance), are a tie (mist_ds/api.py honest_order)."""
# Layouts resolved per vectorised bisection call.
RESOLVE_BATCH = 16


@dataclass(frozen=True)
class Candidate:
    """One layout with its best partition and predicted iteration time."""

    layout: Layout
    partition: Partition
    time_s: float
    """The partition objective, seconds: closed_form_bound of the stages (stable times include p2p);
    mist_ds.api ranks candidates by the pipeline clock (predict_plan) instead."""
    fused_head_loss: bool = False
    """The candidate's last stage computes the LM head and its loss chunk by chunk (Plan.head_loss 'fused';
    mistpipe only), as its stages were priced."""

    def sort_key(self) -> tuple:
        """Rank by time quantised to TIE_RTOL, then stock DeepSpeed before other executors, then the
        logits head before the fused one, then the simpler plan, then the layout (deterministic)."""
        lay, memory = self.layout, self.partition.memory
        offload = lay.offload_weights + lay.offload_gradients + lay.offload_optimizer \
            + sum(self.partition.offloaded) + sum(w + g + o for _, w, g, o in memory)
        zero = max([lay.zero_stage] + [z for z, *_ in memory])
        quantum = float(f"{self.time_s:.6e}")
        return (quantum, lay.executor != "deepspeed", self.fused_head_loss, offload, zero,
                sum(self.partition.recompute), lay, self.partition.layers, self.partition.recompute, memory)


@dataclass(frozen=True)
class MemoryFloor:
    """The plan needing the least per-GPU memory, whatever the cap."""

    peak_bytes: float
    layout: Layout
    layers: tuple[int, ...]
    fused_head_loss: bool = False
    """The plan computes the LM head and its loss chunk by chunk (Candidate.fused_head_loss)."""

    def describe(self) -> str:
        """The layout's one-line description, and the fused head loss where the floor needs it."""
        return self.layout.describe() + (", fused head loss" if self.fused_head_loss else "")


@dataclass(frozen=True)
class SearchResult:
    """Top-k candidates (best first); `floor` is set when nothing fits."""

    ranked: tuple[Candidate, ...]
    floor: MemoryFloor | None
    stats: SearchStats

    @property
    def memory_cap_bytes(self) -> int:
        """The per-GPU cap the search used."""
        return self.stats.memory_cap_bytes


def recompute_mode(request: TuneRequest) -> RecomputeMode:
    """'tune' (any count per stage), or 'none' when recompute is switched off."""
    return "tune" if request.space.recompute else "none"


def memory_floor(screens: list[Screen], num_layers: int) -> MemoryFloor | None:
    """Smallest over layouts of the min-max-memory partition (exact minimax DP per layout)."""
    best: MemoryFloor | None = None
    for item in screens:
        peak, layers = chain_dp(item.min_peak, num_layers, "max")
        if np.isfinite(peak) and (best is None or (peak, item.layout) < (best.peak_bytes, best.layout)):
            best = MemoryFloor(peak, item.layout, layers)
    return best


def _bounded(screens: list[Screen], num_layers: int) -> list[tuple[float, Screen]]:
    """(lower bound, screen) of every layout with a feasible split, ascending (ties: layout order)."""
    out = []
    for item in screens:
        options = item.bound_options()
        if len(options.stage):
            lay = item.layout
            bound = lower_bound(options, lay.num_stages, num_layers, lay.grad_accum)
            if np.isfinite(bound):
                out.append((bound, item))
    out.sort(key=lambda entry: (entry[0], entry[1].layout))
    return out


def _limit(ranked: list[Candidate], top_k: int) -> float:
    """Time to beat to enter the top-k (with a relative slack so near-ties are still solved); -inf
    for a top-0."""
    if top_k <= 0:
        return -INF
    return ranked[top_k - 1].time_s * (1 + TIE_RTOL) if len(ranked) >= top_k else INF


class _Leaders:
    """The top_k candidates, and beside them the keep_stock best stock DeepSpeed ones."""

    def __init__(self, top_k: int, keep_stock: int):
        self.top_k, self.keep_stock = top_k, keep_stock
        self.ranked: list[Candidate] = []
        self.stock: list[Candidate] = []

    def limit(self, layout: Layout | None = None) -> float:
        """Time a candidate of `layout` must beat to be kept (None: of any layout, the loosest)."""
        own = _limit(self.ranked, self.top_k)
        if layout is not None and layout.executor != "deepspeed":
            return own
        return max(own, _limit(self.stock, self.keep_stock))

    def add(self, candidate: Candidate) -> None:
        """Keep `candidate` if it ranks among the best; one candidate per layout (a layout weighed with
        both head losses keeps the better: head_loss_passes)."""
        for kept, size in ((self.ranked, self.top_k),
                           (self.stock, self.keep_stock if candidate.layout.executor == "deepspeed" else 0)):
            twin = next((c for c in kept if c.layout == candidate.layout), None)
            if twin is not None and twin.sort_key() <= candidate.sort_key():
                continue
            if twin is not None:
                kept.remove(twin)
            if size > 0:
                kept.append(candidate)
                kept.sort(key=Candidate.sort_key)
                del kept[size:]

    def result(self) -> list[Candidate]:
        """The top_k, then the kept stock candidates outside them, in Candidate.sort_key order."""
        extra = [c for c in self.stock if c not in self.ranked]
        return sorted(self.ranked + extra, key=Candidate.sort_key)


def _rank(adapter, screens: list[Screen], num_layers: int, leaders: _Leaders, limits: Limits, mode: str,
          act_fractions: tuple[float, ...], tick: Callable[[int], None], solved: dict, reuse: bool = False) -> None:
    """Branch and bound over layouts by ascending lower bound; exact partition of each survivor, added
    to `leaders` (which may already hold another pass's candidates: they tighten its limits).
    A stock DeepSpeed layout is also solved while it may enter the kept best stock candidates.
    `solved` collects each resolved layout's options; with `reuse` (the fused pass) the options it already
    holds serve every stage but the last (evaluate.py resolve, `known`)."""
    queue = _bounded(screens, num_layers)
    tick(len(screens) - len(queue))
    for start in range(0, len(queue), RESOLVE_BATCH):
        window = queue[start:start + RESOLVE_BATCH]
        # bounds ascend, so nothing after a window whose first bound beats every limit is worth solving
        batch = [(bound, item) for bound, item in window if bound <= leaders.limit(item.layout)]
        if window[0][0] > leaders.limit():
            break
        if not batch:
            continue
        options = resolve(adapter, [item for _, item in batch], limits, mode, act_fractions, leaders.limit(),
                          solved if reuse else None)
        if not reuse:
            solved.update((item.layout, opts) for (_, item), opts in zip(batch, options))
        for (bound, item), opts in zip(batch, options):
            tick(1)
            lay = item.layout
            limit = leaders.limit(lay)
            if bound > limit:
                continue
            found = best_partition(opts, lay.num_stages, num_layers, lay.grad_accum, limit)
            if found is not None:
                leaders.add(Candidate(lay, found, found.objective_s, adapter.fused_head_loss))


def head_loss_passes(request: TuneRequest, layouts: list[Layout]) -> tuple[tuple[bool, list[Layout]], ...]:
    """(fused head loss, layouts) of each search pass: every layout with the logits head, then, when the
    request lets the search weigh the fused head loss (SearchSpace.fused_head_loss), the mistpipe layouts
    again with it; the partition of each is exact, so the ranked union is the exact top-k of both."""
    fused = [lay for lay in layouts if lay.executor == MISTPIPE.name] if request.space.fused_head_loss else []
    return ((False, layouts),) + (((True, fused),) if fused else ())


def search(request: TuneRequest, hardware: HardwareProfile, *, top_k: int = 5,
           progress: Progress | None = None, recompute: RecomputeMode | None = None,
           memory_margin_ratio: float = 0.0, executors: tuple[str, ...] | None = None,
           keep_stock: int = 0) -> SearchResult:
    """The `top_k` fastest plans for `request` on `hardware` (exact within the search space) whose
    predicted peak fits the per-GPU cap less `memory_margin_ratio` of it, and with them the
    `keep_stock` fastest stock DeepSpeed plans that are not among them (those a stock-only search
    with top_k = keep_stock returns). With SearchSpace.fused_head_loss each mistpipe layout is weighed
    with both head losses (head_loss_passes).

    recompute: 'tune' (default when allowed), 'all-or-nothing' or 'none'; executors: the engines
    to search (config/executors.py; default the request's that train in its dtype)."""
    if not 0.0 <= memory_margin_ratio < 1.0:
        raise ValueError(f"memory margin must be in [0, 1), got {memory_margin_ratio}")
    passes = head_loss_passes(request, enumerate_layouts(request, executors))
    cap = request.gpu_memory_cap_bytes or hardware.gpu_memory_bytes
    host = Limits.of(request, hardware)  # the request's host memory / margin, else the profile's
    usable = SearchStats(0, 0, cap, memory_margin_ratio).usable_bytes
    limits = Limits(float(usable), host.gpus_per_node, host.host_bytes, host.host_margin_bytes)
    total, done = 2 * sum(len(layouts) for _, layouts in passes), 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(min(done, total), total)

    mode = recompute or recompute_mode(request)
    num_layers = request.model.num_layers
    acts = activation_fractions(request)
    corners = 1 + (mode != "none") + (max(acts) > 0)
    leaders, floors, rows, screened, solved = _Leaders(top_k, keep_stock), [], 0, {}, {}
    for fused, layouts in passes:
        adapter = StageCostAdapter(request, hardware, fused_head_loss=fused)
        # the fused head changes the last stage's rows only: the other stages' screens are the first pass's
        base = [screened[lay] for lay in layouts] if fused else None
        screens = screen_layouts(adapter, layouts, num_layers, limits, recompute=mode != "none",
                                 act_fractions=acts, progress=advance, base=base)
        if not fused:
            screened = {sc.layout: sc for sc in screens}
        _rank(adapter, screens, num_layers, leaders, limits, mode, acts, advance, solved, reuse=fused)
        floor = memory_floor(screens, num_layers)
        floors.append(None if floor is None else replace(floor, fused_head_loss=fused))
        rows += sum(int(np.sum(sc.stage == sc.layout.num_stages - 1)) if fused else len(sc.stage)
                    for sc in screens) * corners
    advance(total)
    ranked = leaders.result()
    floor = None if ranked else min((f for f in floors if f is not None), default=None,
                                    key=lambda f: (f.peak_bytes, f.layout))
    layouts_seen = sum(len(layouts) for _, layouts in passes)
    return SearchResult(tuple(ranked), floor, SearchStats(layouts_seen, rows, cap, memory_margin_ratio))
