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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.config.executors import offloaded_layer_count
from mist_ds.cost.stage_args import stage_args
from mist_ds.search import feasibility as ok
from mist_ds.search.partition import StageOptions, dense_min
from mist_ds.search.space import Layout

# Rows per cost-model call: bounds the temporary arrays (~100 float64 arrays of this length).
CHUNK_ROWS = 200_000
LAYOUT_FIELDS = ("num_stages", "tp", "dp", "micro_batch", "grad_accum", "zero_stage",
                 "offload_weights", "offload_gradients", "offload_optimizer")


@dataclass(frozen=True)
class Limits:
    """What a stage strategy must fit in."""

    gpu_bytes: float
    """Per-GPU memory cap."""
    gpus_per_node: int
    """GPU processes sharing one node's host memory."""
    host_bytes: float
    """Host memory of one node."""
    host_margin_bytes: float = 0.0
    """Host memory kept free per GPU process of a strategy that offloads."""

    @classmethod
    def of(cls, request: TuneRequest, hardware: HardwareProfile) -> Limits:
        """The limits of `request`: its GPU memory cap (else the card's) and its host limits
        (TuneRequest.host_limits: --host-memory-gb / --host-memory-margin, else the profile's)."""
        host = request.host_limits(hardware)
        cap = request.gpu_memory_cap_bytes or hardware.gpu_memory_bytes
        return cls(float(cap), request.cluster.gpus_per_node, float(host.memory_bytes), float(host.margin_bytes))


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

    def bound_options(self) -> StageOptions:
        """Feasible (stage, layers) rows with their fastest possible stable time."""
        keep = self.fits_any
        return StageOptions(self.stage[keep], self.layers[keep], np.zeros(int(keep.sum()), int),
                            self.stable_fast[keep], self.delta[keep])


@lru_cache(maxsize=64)
def stage_layer_rows(num_stages: int, num_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """(stage, layers) of every stage and every layer count it can hold."""
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

    def take(self, keep: np.ndarray) -> Rows:
        return Rows(self.layouts, self.index[keep], self.stage[keep], self.layers[keep])


def cost_rows(adapter, rows: Rows, recompute: np.ndarray, act_fraction: float, limits: Limits):
    """(stable with p2p, delta, peak, fits) of `rows` at the given recompute counts and activation-
    offload fraction (whole layers: executors.offloaded_layer_count); peak is inf where the host memory
    cannot hold the offloaded state."""
    table = np.array([[getattr(lay, f) for f in LAYOUT_FIELDS] for lay in rows.layouts], dtype=float)
    col = {f: table[rows.index, i] for i, f in enumerate(LAYOUT_FIELDS)}
    stages, stage = col["num_stages"].astype(np.int64), rows.stage
    cost = adapter.model.evaluate(stage_args(
        stage_index=stage, num_stages=stages, num_layers=rows.layers,
        micro_batch=col["micro_batch"].astype(np.int64), dp=col["dp"].astype(np.int64),
        tp=col["tp"].astype(np.int64), grad_accum=col["grad_accum"].astype(np.int64),
        zero_stage=col["zero_stage"].astype(np.int64), offload_weights=col["offload_weights"],
        offload_gradients=col["offload_gradients"], offload_optimizer=col["offload_optimizer"],
        num_recompute=recompute, num_offloaded=offloaded_layer_count(act_fraction, rows.layers - recompute)))
    size = len(rows.index)
    stable, delta, peak, cpu = [np.broadcast_to(np.asarray(getattr(cost, name), float), (size,))
                                for name in ("stable_time_s", "delta_time_s", "peak_memory_bytes",
                                             "cpu_memory_bytes")]
    # p2p per micro-batch, once per neighbour, folded into the stable time (the effective stable
    # time of mist_ds.cost.pipeline.closed_form_bound)
    p2p = np.array([adapter.p2p_s(layout) for layout in rows.layouts])[rows.index]
    neighbours = (stage > 0).astype(float) + (stage < stages - 1).astype(float)
    # a strategy whose offloaded state overflows the host counts as needing infinite GPU memory
    host_fits = ok.host_memory_fits(cpu, limits.gpus_per_node, limits.host_bytes, limits.host_margin_bytes)
    peak = np.where(host_fits, peak, np.inf)
    return stable + p2p * neighbours, delta, peak, peak <= limits.gpu_bytes


def all_rows(layouts: list[Layout], num_layers: int) -> Rows:
    """Rows of every (stage, layer count) of `layouts`."""
    parts = [stage_layer_rows(lay.num_stages, num_layers) for lay in layouts]
    return Rows(layouts, np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)]),
                np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def _screen_chunk(adapter, layouts: list[Layout], num_layers: int, limits: Limits,
                  recompute: bool, max_act: float) -> list[Screen]:
    rows = all_rows(layouts, num_layers)
    zeros = np.zeros_like(rows.layers)
    stable, delta, peak, fits = cost_rows(adapter, rows, zeros, 0.0, limits)
    corners = ([(zeros, max_act)] if max_act > 0 else []) + ([(rows.layers, max_act)] if recompute else [])
    for counts, act in corners:
        _, _, corner_peak, corner_fits = cost_rows(adapter, rows, counts, act, limits)
        peak, fits = np.minimum(peak, corner_peak), fits | corner_fits
    bounds = np.searchsorted(rows.index, np.arange(len(layouts) + 1))
    screens = []
    for i, layout in enumerate(layouts):
        s = slice(bounds[i], bounds[i + 1])
        min_peak = dense_min(rows.stage[s], rows.layers[s], peak[s], layout.num_stages, num_layers)
        screens.append(Screen(layout, rows.stage[s], rows.layers[s], stable[s], delta[s], fits[s],
                              min_peak))
    return screens


def screen_layouts(adapter, layouts: list[Layout], num_layers: int, limits: Limits, *,
                   recompute: bool = True, act_fractions: tuple[float, ...] = (0.0,),
                   progress=None) -> list[Screen]:
    """Pass 1 over all layouts, in chunks of about CHUNK_ROWS cost-model rows."""
    screens: list[Screen] = []
    start = 0
    while start < len(layouts):
        stop, count = start, 0
        while stop < len(layouts) and (count == 0 or count < CHUNK_ROWS):
            count += 3 * layouts[stop].num_stages * (num_layers - layouts[stop].num_stages + 1)
            stop += 1
        screens.extend(_screen_chunk(adapter, layouts[start:stop], num_layers, limits, recompute,
                                     max(act_fractions)))
        if progress is not None:
            progress(stop - start)
        start = stop
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


def resolve(adapter, screens: list[Screen], limits: Limits, mode: str,
            act_fractions: tuple[float, ...] = (0.0,)) -> list[StageOptions]:
    """Pass 2: exact options per (stage, layers, activation-offload ratio) of each screened layout.

    mode 'tune': fewest fitting recomputed layers (bisection on [1, l]); 'all-or-nothing': none if
    it fits, else all; 'none': no recompute. Activation offload is tried only where it can win: on
    rows where no offload needs c* recomputed layers, an offloading option is faster only with fewer
    than c* (the stable time grows with offload at a fixed count), so only those counts are tried."""
    layouts = [sc.layout for sc in screens]
    rows = Rows(layouts, np.concatenate([np.full(len(sc.stage), i) for i, sc in enumerate(screens)]),
                np.concatenate([sc.stage for sc in screens]), np.concatenate([sc.layers for sc in screens]))
    rows = rows.take(np.flatnonzero(np.concatenate([sc.fits_any for sc in screens])))
    chosen, stable, delta, fits = _fewest_recompute(adapter, rows, 0.0, limits, mode)
    found = [(rows.index[fits], rows.stage[fits], rows.layers[fits], chosen[fits], stable[fits],
              delta[fits], np.zeros(int(fits.sum()), np.int64))]
    # recompute counts an offloading option may use: below the no-offload optimum (all when none fits)
    below = np.where(fits, chosen, rows.layers + 1) if mode == "tune" else np.where(fits, 0, 1)
    candidates = np.flatnonzero(below > 0)
    for act in (a for a in act_fractions if a > 0):
        sub = rows.take(candidates)
        if mode == "tune":
            got = _fastest_recompute_enumerated(adapter, sub, act, limits, below[candidates] - 1)
        else:
            got = _fewest_recompute(adapter, sub, act, limits, mode)
        a_chosen, a_stable, a_delta, a_fits = got
        keep = np.flatnonzero(a_fits)
        offloaded = offloaded_layer_count(act, sub.layers[keep] - a_chosen[keep])
        found.append((sub.index[keep], sub.stage[keep], sub.layers[keep], a_chosen[keep], a_stable[keep],
                      a_delta[keep], offloaded))
    index, stage, layers, chosen, stable, delta, offloaded = (np.concatenate(parts) for parts in zip(*found))
    options = []
    for i in range(len(screens)):
        mine = np.flatnonzero(index == i)
        options.append(StageOptions(stage[mine], layers[mine], chosen[mine], stable[mine], delta[mine],
                                    offloaded[mine]))
    return options
