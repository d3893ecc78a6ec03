"""Bulk evaluation of stage strategies with the cost model's compiled expressions, and memory pruning.

Two passes, both vectorised over many layouts at once:

1. *screen*: every (layout, stage, layer count) at the fastest corner (no recompute, no activation
   offload) and at the smallest ones (no or full recompute, with the most activation offload). This
   gives every layout an exact feasibility test and a lower bound on its stage times.
2. *resolve* (only for layouts the branch and bound still needs): per activation-offload ratio, the
   best recompute count. Without activation offload it is the fewest recomputed layers that fit,
   found by bisection: exact because, in the cost model, recomputing one more layer then never lowers
   the stable time, never changes the per-iteration delta and, from one recomputed layer on, never
   raises the peak (tests/search/test_monotone.py checks these properties on the real model). With
   activation offload, recompute also shrinks the offload traffic, so every count is evaluated.
   Offloading more never lowers the stable time either, so the screening corner (no recompute, no
   offload) bounds every choice from below.

A layout whose executor gives every stage its own memory setting (mistpipe: space.layout_settings)
has one row per (stage, layer count, setting): the screen's bounds and memory floor take the best
setting, and resolve hands the partition every setting's options (StageOptions.setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.config.executors import offloaded_layer_count
from mist_ds.config.plan import gathers_nothing, is_stock_zero3
from mist_ds.cost.stage_args import stage_args
from mist_ds.search import feasibility as ok
from mist_ds.search.partition import StageOptions, dense_min, dominated_by
from mist_ds.search.space import Layout, layout_settings, screen_settings

# Rows per cost-model call: bounds the temporary arrays (~100 float64 arrays of this length).
CHUNK_ROWS = 200_000
LAYOUT_FIELDS = ("num_stages", "tp", "dp", "micro_batch", "grad_accum")
MEMORY_FIELDS = ("zero_stage", "offload_weights", "offload_gradients", "offload_optimizer")


@dataclass(frozen=True)
class Limits:
    """What a stage strategy must fit in."""

    gpu_bytes: float
    """Per-GPU memory cap."""
    gpus_per_node: int
    """GPU processes sharing one node's host memory."""
    host_bytes: float
    """Host memory of one node that offloaded state may take (HostLimits.usable_bytes)."""
    host_margin_bytes: float = 0.0
    """Host memory kept free per GPU process of a strategy that offloads."""

    @classmethod
    def of(cls, request: TuneRequest, hardware: HardwareProfile) -> Limits:
        """The limits of `request`: its GPU memory cap (else the card's) and its host limits
        (TuneRequest.host_limits: --host-memory-gb / --host-memory-margin, else the profile's)."""
        host = request.host_limits(hardware)
        cap = request.gpu_memory_cap_bytes or hardware.gpu_memory_bytes
        return cls(float(cap), request.cluster.gpus_per_node, float(host.usable_bytes), float(host.margin_bytes))


@dataclass(frozen=True)
class Screen:
    """One layout after the screening pass; arrays have one entry per (stage, layer count)."""

    layout: Layout
    stage: np.ndarray
    layers: np.ndarray
    stable_fast: np.ndarray
    """Stable time (with p2p) without recompute or offload: a lower bound for every choice."""
    delta: np.ndarray
    fits_any: np.ndarray
    """Some recompute / activation-offload choice fits."""
    min_peak: np.ndarray
    """(stages, layers + 1) smallest peak bytes over recompute and offload choices, whatever the GPU
    cap (host memory respected)."""
    setting: np.ndarray | None = None
    """Per row, the memory setting (index into space.layout_settings of the layout)."""

    def bound_options(self) -> StageOptions:
        """Feasible (stage, layers) rows with their fastest possible stable time."""
        keep = self.fits_any
        return StageOptions(self.stage[keep], self.layers[keep], np.zeros(int(keep.sum()), int),
                            self.stable_fast[keep], self.delta[keep])


@lru_cache(maxsize=64)
def stage_layer_rows(num_stages: int, num_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """(stage, layers) of every stage and every layer count it can hold in some split: without a
    pipeline only all the layers (the partition, the bound and the memory floor read no other row of
    a one-stage layout: partition.py _single_stage, lower_bound, chain_dp)."""
    if num_stages == 1:
        return np.zeros(1, np.int64), np.full(1, num_layers, np.int64)
    span = num_layers - num_stages + 1
    stage = np.repeat(np.arange(num_stages), span)
    layers = np.tile(np.arange(1, span + 1), num_stages)
    return stage, layers


@dataclass(frozen=True)
class Rows:
    """Flat (layout index, stage, layers) rows over several layouts."""

    layouts: list[Layout]
    index: np.ndarray
    stage: np.ndarray
    layers: np.ndarray
    setting: np.ndarray | None = None
    """Per row, index into space.layout_settings of its layout (None: 0, the layout's own)."""

    def take(self, keep: np.ndarray) -> Rows:
        setting = None if self.setting is None else self.setting[keep]
        return Rows(self.layouts, self.index[keep], self.stage[keep], self.layers[keep], setting)


def row_memory(adapter, rows: Rows) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(MEMORY_FIELDS columns, per-stage-memory executor mask) of every row."""
    tables = [layout_settings(adapter.request, lay) for lay in rows.layouts]
    offsets = np.cumsum([0] + [len(t) for t in tables])
    flat = np.array([s for t in tables for s in t], dtype=float).reshape(-1, len(MEMORY_FIELDS))
    setting = np.zeros(len(rows.index), np.int64) if rows.setting is None else rows.setting
    picked = flat[offsets[rows.index] + setting]
    per_stage = np.array([lay.per_stage_memory for lay in rows.layouts], dtype=bool)[rows.index]
    return {f: picked[:, i] for i, f in enumerate(MEMORY_FIELDS)}, per_stage


def row_args(adapter, rows: Rows, recompute, act_fraction: float):
    """(StageArgs of `rows` at the recompute counts and activation-offload fraction, per-stage-memory
    mask)."""
    table = np.array([[getattr(lay, f) for f in LAYOUT_FIELDS] for lay in rows.layouts], dtype=float)
    col = {f: table[rows.index, i] for i, f in enumerate(LAYOUT_FIELDS)}
    memory, per_stage = row_memory(adapter, rows)
    col.update(memory)
    stock_z3 = is_stock_zero3(np.array([lay.executor for lay in rows.layouts])[rows.index],
                              col["zero_stage"]).astype(float)
    block_fetch = stock_z3 * gathers_nothing(col["dp"], col["offload_weights"])
    args = stage_args(
        stage_index=rows.stage, num_stages=col["num_stages"].astype(np.int64), num_layers=rows.layers,
        micro_batch=col["micro_batch"].astype(np.int64), dp=col["dp"].astype(np.int64),
        tp=col["tp"].astype(np.int64), grad_accum=col["grad_accum"].astype(np.int64),
        zero_stage=col["zero_stage"].astype(np.int64), offload_weights=col["offload_weights"],
        offload_gradients=col["offload_gradients"], offload_optimizer=col["offload_optimizer"],
        num_recompute=recompute, num_offloaded=offloaded_layer_count(act_fraction, rows.layers - recompute),
        # the search's plans bound ZeRO-3's gathered parameters to the reuse set and fetch whole blocks
        # where they can (plans.py)
        zero3_live_bound=stock_z3, zero3_block_fetch=block_fetch)
    return args, per_stage


def cost_rows(adapter, rows: Rows, recompute: np.ndarray, act_fraction: float, limits: Limits):
    """(stable with p2p, delta, peak, fits) of `rows` at the given recompute counts and activation-
    offload fraction (whole layers: executors.offloaded_layer_count); peak is inf where the host memory
    cannot hold the offloaded state (memory_rows: the memory terms alone)."""
    args, per_stage = row_args(adapter, rows, recompute, act_fraction)
    evaluate = (lambda args: adapter.evaluate(args, per_stage)) if per_stage.any() else adapter.model.evaluate
    cost = evaluate(args)
    stage, stages = rows.stage, np.asarray(args.num_stages)
    size = len(rows.index)
    stable, delta, peak, cpu = [np.broadcast_to(np.asarray(getattr(cost, name), float), (size,))
                                for name in ("stable_time_s", "delta_time_s", "peak_memory_bytes",
                                             "cpu_memory_bytes")]
    # p2p per micro-batch, once per neighbour, folded into the stable time (the effective stable
    # time of mist_ds.cost.clock.closed_form_bound)
    p2p = np.array([adapter.p2p_s(layout) for layout in rows.layouts])[rows.index]
    neighbours = (stage > 0).astype(float) + (stage < stages - 1).astype(float)
    # a strategy whose offloaded state overflows the host counts as needing infinite GPU memory
    host_fits = ok.host_memory_fits(cpu, limits.gpus_per_node, limits.host_bytes, limits.host_margin_bytes)
    peak = np.where(host_fits, peak, np.inf)
    return stable + p2p * neighbours, delta, peak, peak <= limits.gpu_bytes


def memory_rows(adapter, rows: Rows, recompute: np.ndarray, act_fraction: float, limits: Limits):
    """(peak, fits, GPU peak whatever the host) of `rows` as cost_rows, from the cost models' memory
    terms alone (StageCostModel.memory): the screening's memory corners read no time."""
    args, per_stage = row_args(adapter, rows, recompute, act_fraction)
    memory = adapter.memory(args, per_stage) if per_stage.any() else adapter.model.memory(args)
    device, cpu = (np.broadcast_to(np.asarray(v, float), (len(rows.index),)) for v in memory)
    host_fits = ok.host_memory_fits(cpu, limits.gpus_per_node, limits.host_bytes, limits.host_margin_bytes)
    peak = np.where(host_fits, device, np.inf)
    return peak, peak <= limits.gpu_bytes, device


def all_rows(layouts: list[Layout], num_layers: int, request, which: str = "all") -> tuple[Rows, np.ndarray]:
    """Rows of every (stage, layer count) of `layouts` times their memory settings: `which` is 'all'
    (space.layout_settings), 'fast' or 'bounding' (space.screen_settings); and each row's position in
    its layout's (stage, layer count) block."""
    parts, settings, slots = [], [], []
    for lay in layouts:
        stage, layers = stage_layer_rows(lay.num_stages, num_layers)
        fast, bounding = screen_settings(request, lay)
        chosen = {"fast": (fast,), "bounding": bounding}.get(which) or range(len(layout_settings(request, lay)))
        parts.append((np.tile(stage, len(chosen)), np.tile(layers, len(chosen))))
        settings.append(np.repeat(np.asarray(chosen, np.int64), len(stage)))
        slots.append(np.tile(np.arange(len(stage)), len(chosen)))
    rows = Rows(layouts, np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)]),
                np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate(settings))
    return rows, np.concatenate(slots)


def _smallest(adapter, rows: Rows, keys: np.ndarray, size: int, corners, limits: Limits):
    """Per key (a layout's stage and layer count): the smallest peak (inf where the host overflows)
    and whether any row fits, over `rows` at the screening corners. A per-stage-memory row counts as
    fitting when its GPU peak does, whatever the host: the memory-bounding settings bound the GPU
    peak, not the host bytes, so `fits_any` may then include a pair that resolve() finds infeasible
    (a weaker bound, never a lost plan), and `min_peak` may exceed the best over all settings."""
    peak, fits = np.full(size, np.inf), np.zeros(size, bool)
    per_stage = np.array([lay.per_stage_memory for lay in rows.layouts], bool)[rows.index]
    for counts, act in corners:
        corner_peak, corner_fits, gpu_peak = memory_rows(adapter, rows, counts(rows), act, limits)
        np.minimum.at(peak, keys, corner_peak)
        np.logical_or.at(fits, keys, np.where(per_stage, gpu_peak <= limits.gpu_bytes, corner_fits))
    return peak, fits


def _screen_chunk(adapter, layouts: list[Layout], num_layers: int, limits: Limits,
                  recompute: bool, max_act: float) -> list[Screen]:
    """The fastest corner (no recompute, no activation offload, the fastest memory setting) and the
    smallest ones (no or full recompute with the most activation offload, the memory-bounding
    settings of space.screen_settings)."""
    request = adapter.request
    rows, _ = all_rows(layouts, num_layers, request, "fast")
    zeros = np.zeros_like(rows.layers)
    stable, delta, peak, fits = cost_rows(adapter, rows, zeros, 0.0, limits)
    bounds = np.searchsorted(rows.index, np.arange(len(layouts) + 1))
    corners = (([(np.zeros_like, max_act)] if max_act > 0 else [])
               + ([(lambda r: r.layers, max_act)] if recompute else []))
    small, slot = all_rows(layouts, num_layers, request, "bounding")
    corner_peak, corner_fits = _smallest(adapter, small, bounds[small.index] + slot, len(rows.index), corners,
                                         limits)
    peak, fits = np.minimum(peak, corner_peak), fits | corner_fits
    screens = []
    for i, layout in enumerate(layouts):
        s = slice(bounds[i], bounds[i + 1])
        min_peak = dense_min(rows.stage[s], rows.layers[s], peak[s], layout.num_stages, num_layers)
        screens.append(Screen(layout, rows.stage[s], rows.layers[s], stable[s], delta[s], fits[s],
                              min_peak, rows.setting[s]))
    return screens


def _on_last_stage(rows: Rows) -> np.ndarray:
    """Per row, whether its stage is its layout's last (the one holding the LM head: StageArgs.has_head)."""
    return rows.stage == np.array([lay.num_stages - 1 for lay in rows.layouts])[rows.index]


def _rescreen_last_stage(adapter, base: list[Screen], num_layers: int, limits: Limits, recompute: bool,
                         max_act: float) -> list[Screen]:
    """`base` (screens of the same layouts by another adapter) with their last stage's rows screened again by
    `adapter`: for an adapter that prices only the stage holding the head differently (the fused head loss:
    StageArgs.has_head), the same screens _screen_chunk would give, at the cost of one stage's rows."""
    request, layouts = adapter.request, [sc.layout for sc in base]
    rows, _ = all_rows(layouts, num_layers, request, "fast")
    last = _on_last_stage(rows)
    bounds = np.searchsorted(rows.index, np.arange(len(layouts) + 1))
    keep = np.flatnonzero(last)
    stable, delta = (np.concatenate([getattr(sc, name) for sc in base]) for name in ("stable_fast", "delta"))
    fits = np.concatenate([sc.fits_any for sc in base])
    peak = np.full(len(rows.index), np.inf)
    fresh = cost_rows(adapter, rows.take(keep), np.zeros(len(keep), np.int64), 0.0, limits)
    stable[keep], delta[keep], peak[keep], fits[keep] = fresh
    corners = (([(np.zeros_like, max_act)] if max_act > 0 else [])
               + ([(lambda r: r.layers, max_act)] if recompute else []))
    small, slot = all_rows(layouts, num_layers, request, "bounding")
    on_last = np.flatnonzero(_on_last_stage(small))
    corner_peak, corner_fits = _smallest(adapter, small.take(on_last), (bounds[small.index] + slot)[on_last],
                                         len(rows.index), corners, limits)
    peak, fits[keep] = np.minimum(peak, corner_peak), fits[keep] | corner_fits[keep]
    screens = []
    for i, (layout, old) in enumerate(zip(layouts, base)):
        s = slice(bounds[i], bounds[i + 1])
        min_peak = old.min_peak.copy()
        mine = last[s]
        min_peak[-1] = dense_min(np.zeros(int(mine.sum()), np.int64), rows.layers[s][mine], peak[s][mine], 1,
                                 num_layers)[0]
        screens.append(Screen(layout, rows.stage[s], rows.layers[s], stable[s], delta[s], fits[s], min_peak,
                              rows.setting[s]))
    return screens


def _chunks(adapter, layouts: list[Layout], num_layers: int):
    """(start, stop) of consecutive layouts holding about CHUNK_ROWS cost-model rows each."""
    start = 0
    while start < len(layouts):
        stop, count = start, 0
        while stop < len(layouts) and (count == 0 or count < CHUNK_ROWS):
            count += (layouts[stop].num_stages * (num_layers - layouts[stop].num_stages + 1)
                      * (1 + 2 * len(screen_settings(adapter.request, layouts[stop])[1])))
            stop += 1
        yield start, stop
        start = stop


def screen_layouts(adapter, layouts: list[Layout], num_layers: int, limits: Limits, *,
                   recompute: bool = True, act_fractions: tuple[float, ...] = (0.0,),
                   progress=None, base: list[Screen] | None = None) -> list[Screen]:
    """Pass 1 over all layouts, in chunks of about CHUNK_ROWS cost-model rows. With `base` (the same
    layouts' screens by an adapter that differs from this one on the last stage only), only the last
    stage's rows are screened again (_rescreen_last_stage)."""
    screens: list[Screen] = []
    for start, stop in _chunks(adapter, layouts, num_layers):
        if base is None:
            screens.extend(_screen_chunk(adapter, layouts[start:stop], num_layers, limits, recompute,
                                         max(act_fractions)))
        else:
            screens.extend(_rescreen_last_stage(adapter, base[start:stop], num_layers, limits, recompute,
                                                max(act_fractions)))
        if progress is not None:
            progress(stop - start)
    return screens


def _fastest_recompute_enumerated(adapter, rows: Rows, act: float, limits: Limits,
                                  max_count: np.ndarray | None = None):
    """(recompute count, stable, delta, fits) per row, trying every count 0..max_count (default l):
    with activation offload, recomputing more layers also offloads fewer, so the stable time need
    not grow with the count (the offloaded layers are a fraction of the non-recomputed ones)."""
    if len(rows.index) == 0:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty, empty, empty.astype(bool)
    counts = (rows.layers if max_count is None else np.minimum(max_count, rows.layers)) + 1
    owner = np.repeat(np.arange(len(rows.index)), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    recompute = np.arange(len(owner)) - np.repeat(starts, counts)
    stable, delta, _, fits = cost_rows(adapter, rows.take(owner), recompute, act, limits)
    # per row: the fitting count with the smallest stable time (ties: the fewest recomputed layers)
    order = np.lexsort((recompute, np.where(fits, stable, np.inf), owner))
    first = order[np.searchsorted(owner[order], np.arange(len(rows.index)))]
    return recompute[first], stable[first], delta[first], fits[first]


def _fewest_recompute(adapter, rows: Rows, act: float, limits: Limits, mode: str):
    """(recompute count, stable, delta, fits) per row at activation offload `act`: the fewest
    recomputed layers that fit (the fastest choice when the stable time grows with the count)."""
    zeros = np.zeros_like(rows.layers)
    stable, delta, _, fits0 = cost_rows(adapter, rows, zeros, act, limits)
    chosen = zeros.copy()
    if mode == "none":
        return chosen, stable, delta, fits0
    stable_all, _, _, fits_all = cost_rows(adapter, rows, rows.layers, act, limits)
    stable = np.where(fits0, stable, stable_all)
    chosen = np.where(fits0, 0, rows.layers)
    if mode == "tune":
        todo = np.flatnonzero(~fits0 & fits_all & (rows.layers > 1))
        lo, hi = np.ones(len(todo), np.int64), rows.layers[todo].copy()
        while len(todo):
            mid = (lo + hi) // 2
            mid_stable, _, _, mid_fits = cost_rows(adapter, rows.take(todo), mid, act, limits)
            hi, lo = np.where(mid_fits, mid, hi), np.where(mid_fits, lo, mid + 1)
            stable[todo] = np.where(mid_fits, mid_stable, stable[todo])
            done = lo >= hi
            chosen[todo[done]] = hi[done]
            todo, lo, hi = todo[~done], lo[~done], hi[~done]
    return chosen, stable, delta, fits0 | fits_all


def _matching(rows: Rows, screens: list[Screen], upper_bound: float) -> Rows:
    """The rows (every memory setting) of the (stage, layer count) pairs a screen found feasible and
    that may still belong to a partition under `upper_bound`: one whose fastest stable time s makes
    every partition holding it slower than G * s (its stage runs G micro-batches; closed_form_bound
    >= (G - 1) max_i s_i + sum_i s_i) is dropped."""
    size = max(int(sc.layers.max()) for sc in screens) + 1
    shape = (len(screens), max(sc.layout.num_stages for sc in screens), size)
    feasible = np.zeros(shape, bool)
    for i, sc in enumerate(screens):
        useful = sc.fits_any & (sc.layout.grad_accum * sc.stable_fast <= upper_bound)
        feasible[i, sc.stage[useful], sc.layers[useful]] = True
    keep = rows.layers < size
    keep[keep] = feasible[rows.index[keep], rows.stage[keep], rows.layers[keep]]
    return rows.take(np.flatnonzero(keep))


def _key(rows: Rows, space: Rows | None = None) -> np.ndarray:
    """One integer per (layout, stage, layer count), numbered within the ranges of `space` (default
    `rows` itself)."""
    space = rows if space is None else space
    width = int(space.layers.max()) + 1 if len(space.layers) else 1
    stages = int(space.stage.max()) + 1 if len(space.stage) else 1
    return (rows.index.astype(np.int64) * stages + rows.stage) * width + rows.layers


def _undominated_settings(adapter, rows: Rows, limits: Limits, upper_bound: float):
    """Drop the per-stage-memory rows that cannot give a useful option. Every option of a setting is
    at least as slow as its `fast` time (no recompute, no offload: recompute and offload never lower
    the stable time), so a setting is dropped when G x fast exceeds `upper_bound` (as in _matching),
    or when it does not fit at `fast` and another setting that does has no larger stable and delta
    time; and when its model states alone (MistpipeStageCostModel.state_floor) overflow the GPU or
    the host whatever the recompute and activation offload. Returns (rows, fast time per row; None
    without per-stage rows)."""
    if rows.setting is None or not any(lay.per_stage_memory for lay in rows.layouts):
        return rows, None
    args, per_stage = row_args(adapter, rows, np.zeros_like(rows.layers), 0.0)
    device, host = adapter.mistpipe.state_floor(args)
    rows = rows.take(np.flatnonzero(~per_stage | ((device <= limits.gpu_bytes) & ok.host_memory_fits(
        host, limits.gpus_per_node, limits.host_bytes, limits.host_margin_bytes))))
    fast, delta, _, fits = cost_rows(adapter, rows, np.zeros_like(rows.layers), 0.0, limits)
    key = _key(rows)
    accum = np.array([lay.grad_accum for lay in rows.layouts], float)[rows.index]
    # closed_form_bound >= G s_0 + d_0 for the first stage's option (its last term is >= d_0)
    beaten = (accum * fast + np.where(rows.stage == 0, delta, 0.0) > upper_bound) | (
        ~fits & dominated_by(key[fits], fast[fits], delta[fits], key, fast, delta))
    keep = np.flatnonzero(~beaten)
    return rows.take(keep), fast[keep]


def _beaten(rows: Rows, candidates: np.ndarray, fast: np.ndarray, delta: np.ndarray, found) -> np.ndarray:
    """Per candidate row: whether an option found so far (same layout, stage and layer count) has no
    larger stable time than the row's `fast` and no larger delta."""
    index, stage, layers, _, stable, ref_delta = (np.concatenate(parts) for parts in list(zip(*found))[:6])
    ref = Rows(rows.layouts, index, stage, layers)
    return dominated_by(_key(ref, rows), stable, ref_delta, _key(rows.take(candidates), rows),
                        fast[candidates], delta[candidates])


def resolve(adapter, screens: list[Screen], limits: Limits, mode: str,
            act_fractions: tuple[float, ...] = (0.0,), upper_bound: float = np.inf,
            known: dict | None = None) -> list[StageOptions]:
    """Pass 2: exact options per (stage, layers, activation-offload ratio) of each screened layout.

    mode 'tune': fewest fitting recomputed layers (bisection on [1, l]); 'all-or-nothing': none if
    it fits, else all; 'none': no recompute. Activation offload is tried only where it can win: on
    rows where no offload needs c* recomputed layers, an offloading option is faster only with fewer
    than c* (the stable time grows with offload at a fixed count), so only those counts are tried.
    Rows that cannot be part of a partition faster than `upper_bound` are skipped (_matching).
    `known`: layout -> its options resolved by an adapter that differs from this one on the last stage only
    (search/driver.py's fused pass), under a looser or equal bound: a layout found there keeps those options for
    its other stages (a superset of what this bound keeps, so the partition is the same) and resolves its last
    stage's rows alone."""
    layouts = [sc.layout for sc in screens]
    rows, _ = all_rows(layouts, max(int(sc.layers.max()) + sc.layout.num_stages - 1 for sc in screens),
                       adapter.request, "all")
    rows = _matching(rows, screens, upper_bound)
    if known:
        reused = np.array([lay in known for lay in layouts], bool)[rows.index]
        rows = rows.take(np.flatnonzero(~reused | _on_last_stage(rows)))
    options = _resolve_rows(adapter, rows, layouts, limits, mode, act_fractions, upper_bound)
    return [options[i] if not known or lay not in known else _merged(known[lay], options[i], lay.num_stages - 1)
            for i, lay in enumerate(layouts)]


def _merged(known: StageOptions, last: StageOptions, last_stage: int) -> StageOptions:
    """`known`'s options of every stage but `last_stage`, with `last`'s (options of that stage alone)."""
    before = known.take(known.stage != last_stage)
    setting = None if known.setting is None else np.concatenate([before.setting, last.setting])
    return StageOptions(*(np.concatenate([getattr(before, f), getattr(last, f)])
                          for f in ("stage", "layers", "recompute", "stable", "delta", "offloaded")),
                        setting, known.setting_table)


def _resolve_rows(adapter, rows: Rows, layouts: list[Layout], limits: Limits, mode: str,
                  act_fractions: tuple[float, ...], upper_bound: float) -> list[StageOptions]:
    """resolve's options of `rows` (every layout of `layouts`, in order)."""
    rows, fast = _undominated_settings(adapter, rows, limits, upper_bound)
    chosen, stable, delta, fits = _fewest_recompute(adapter, rows, 0.0, limits, mode)
    found = [(rows.index[fits], rows.stage[fits], rows.layers[fits], chosen[fits], stable[fits],
              delta[fits], np.zeros(int(fits.sum()), np.int64), rows.setting[fits])]
    # recompute counts an offloading option may use: below the no-offload optimum (all when none fits)
    below = np.where(fits, chosen, rows.layers + 1) if mode == "tune" else np.where(fits, 0, 1)
    candidates = np.flatnonzero(below > 0)
    for act in (a for a in act_fractions if a > 0):
        if fast is not None:  # an offloading option of a setting is no faster than the setting's `fast`
            candidates = candidates[~_beaten(rows, candidates, fast, delta, found)]
        sub = rows.take(candidates)
        if mode == "tune":
            got = _fastest_recompute_enumerated(adapter, sub, act, limits, below[candidates] - 1)
        else:
            got = _fewest_recompute(adapter, sub, act, limits, mode)
        a_chosen, a_stable, a_delta, a_fits = got
        keep = np.flatnonzero(a_fits)
        offloaded = offloaded_layer_count(act, sub.layers[keep] - a_chosen[keep])
        found.append((sub.index[keep], sub.stage[keep], sub.layers[keep], a_chosen[keep], a_stable[keep],
                      a_delta[keep], offloaded, sub.setting[keep]))
    index, stage, layers, chosen, stable, delta, offloaded, setting = (np.concatenate(parts) for parts in zip(*found))
    options = []
    for i, layout in enumerate(layouts):
        mine = np.flatnonzero(index == i)
        per_stage = layout.per_stage_memory
        options.append(StageOptions(stage[mine], layers[mine], chosen[mine], stable[mine], delta[mine],
                                    offloaded[mine], setting[mine] if per_stage else None,
                                    layout_settings(adapter.request, layout) if per_stage else ()))
    return options
