"""Bulk evaluation of stage strategies with the cost model's compiled expressions, and memory pruning.

Two passes, both vectorised over many layouts at once:

1. *screen*: every (layout, stage, layer count) with no recompute and with full recompute. No
   recompute is the fastest choice and full recompute the smallest, so this gives every layout an
   exact feasibility test and a lower bound on its stage times.
2. *resolve* (only for layouts the branch and bound still needs): the fewest recomputed layers that
   fit, by bisection. Exact because, in the cost model, recomputing one more layer never lowers the
   stable time, never changes the per-iteration delta and, from one layer on, never raises the peak
   (tests/search/test_recompute_monotone.py checks these three properties on the real model); so the
   fewest fitting layers dominate every other choice of that (stage, layer count).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mist_ds.search import feasibility as ok
from mist_ds.search.partition import StageOptions, dense_min
from mist_ds.search.space import Layout

# Rows per cost-model call: bounds the temporary arrays (~100 float64 arrays of this length).
CHUNK_ROWS = 200_000
LAYOUT_FIELDS = ("num_stages", "tp", "dp", "micro_batch", "grad_accum", "zero_stage",
                 "offload_weights", "offload_gradients", "offload_optimizer", "offload_activations")


@dataclass(frozen=True)
class Limits:
    """What a stage strategy must fit in."""

    gpu_bytes: float
    gpus_per_node: int
    host_bytes: float


@dataclass(frozen=True)
class Screen:
    """One layout after the screening pass; arrays have one entry per (stage, layer count)."""

    layout: Layout
    stage: np.ndarray
    layers: np.ndarray
    stable_none: np.ndarray
    """Stable time (with p2p) without recompute: a lower bound for every recompute count."""
    delta: np.ndarray
    fits_none: np.ndarray
    fits_all: np.ndarray
    """Fits with every layer recomputed (False when recompute is switched off)."""
    stable_all: np.ndarray
    min_peak: np.ndarray
    """(stages, layers + 1) smallest peak bytes over recompute choices, whatever the cap."""

    def bound_options(self) -> StageOptions:
        """Feasible (stage, layers) rows with their fastest possible stable time."""
        keep = self.fits_none | self.fits_all
        return StageOptions(self.stage[keep], self.layers[keep], np.zeros(int(keep.sum()), int),
                            self.stable_none[keep], self.delta[keep])


@lru_cache(maxsize=64)
def stage_layer_rows(num_stages: int, num_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """(stage, layers) of every stage and every layer count it can hold."""
    span = num_layers - num_stages + 1
    stage = np.repeat(np.arange(num_stages), span)
    layers = np.tile(np.arange(1, span + 1), num_stages)
    return stage, layers


def cost_rows(adapter, layouts: list[Layout], index: np.ndarray, stage: np.ndarray,
              layers: np.ndarray, recompute: np.ndarray, limits: Limits):
    """(stable with p2p, delta, peak, fits) for rows given as (layout index, stage, layers, recompute)."""
    table = np.array([[getattr(lay, f) for f in LAYOUT_FIELDS] for lay in layouts], dtype=float)
    col = {f: table[index, i] for i, f in enumerate(LAYOUT_FIELDS)}
    stages, accum = col["num_stages"].astype(np.int64), col["grad_accum"].astype(np.int64)
    cost = adapter.model.evaluate(
        num_layers=layers, micro_batch=col["micro_batch"].astype(np.int64),
        dp=col["dp"].astype(np.int64), tp=col["tp"].astype(np.int64),
        zero_stage=col["zero_stage"].astype(np.int64), offload_weights=col["offload_weights"],
        offload_gradients=col["offload_gradients"], offload_optimizer=col["offload_optimizer"],
        offload_activations=col["offload_activations"], num_recompute=recompute,
        # 1F1B: stage i holds min(S - i, G) micro-batches (mist_ds.cost.inflight_microbatches)
        num_inflight=np.maximum(1, np.minimum(stages - stage, accum)), grad_accum=accum,
        has_embedding=stage == 0, has_head=stage == stages - 1, num_stages=stages)
    size = len(index)
    stable, delta, peak, cpu = [np.broadcast_to(np.asarray(getattr(cost, name), float), (size,))
                                for name in ("stable_time_s", "delta_time_s", "peak_memory_bytes",
                                             "cpu_memory_bytes")]
    # p2p per micro-batch, once per neighbour, folded into the stable time (the effective stable
    # time of mist_ds.cost.pipeline.pipeline_iteration_time)
    p2p = np.array([adapter.p2p_s(layout) for layout in layouts])[index]
    neighbours = (stage > 0).astype(float) + (stage < stages - 1).astype(float)
    fits = (peak <= limits.gpu_bytes) & ok.host_memory_fits(cpu, limits.gpus_per_node, limits.host_bytes)
    return stable + p2p * neighbours, delta, peak, fits


def _screen_chunk(adapter, layouts: list[Layout], num_layers: int, limits: Limits,
                  recompute: bool) -> list[Screen]:
    parts = [stage_layer_rows(lay.num_stages, num_layers) for lay in layouts]
    index = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
    stage = np.concatenate([p[0] for p in parts])
    layers = np.concatenate([p[1] for p in parts])
    stable0, delta, peak0, fits0 = cost_rows(adapter, layouts, index, stage, layers,
                                             np.zeros_like(layers), limits)
    if recompute:
        stable1, _, peak1, fits1 = cost_rows(adapter, layouts, index, stage, layers, layers, limits)
    else:
        stable1, peak1, fits1 = stable0, peak0, np.zeros(len(index), bool)
    bounds = np.searchsorted(index, np.arange(len(layouts) + 1))
    screens = []
    for i, layout in enumerate(layouts):
        s = slice(bounds[i], bounds[i + 1])
        min_peak = dense_min(stage[s], layers[s], np.minimum(peak0[s], peak1[s]),
                             layout.num_stages, num_layers)
        screens.append(Screen(layout, stage[s], layers[s], stable0[s], delta[s], fits0[s], fits1[s],
                              stable1[s], min_peak))
    return screens


def screen_layouts(adapter, layouts: list[Layout], num_layers: int, limits: Limits, *,
                   recompute: bool = True, progress=None) -> list[Screen]:
    """Pass 1 over all layouts, in chunks of about CHUNK_ROWS cost-model rows."""
    screens: list[Screen] = []
    start = 0
    while start < len(layouts):
        stop, rows = start, 0
        while stop < len(layouts) and (rows == 0 or rows < CHUNK_ROWS):
            rows += 2 * layouts[stop].num_stages * (num_layers - layouts[stop].num_stages + 1)
            stop += 1
        screens.extend(_screen_chunk(adapter, layouts[start:stop], num_layers, limits, recompute))
        if progress is not None:
            progress(stop - start)
        start = stop
    return screens


def resolve(adapter, screens: list[Screen], limits: Limits, mode: str) -> list[StageOptions]:
    """Pass 2: exact options per (stage, layers) of each screened layout.

    mode 'tune': fewest fitting recomputed layers (bisection on [1, l]); 'all-or-nothing': none if
    it fits, else all; 'none': no recompute."""
    layouts = [sc.layout for sc in screens]
    index = np.concatenate([np.full(len(sc.stage), i) for i, sc in enumerate(screens)])
    stage = np.concatenate([sc.stage for sc in screens])
    layers = np.concatenate([sc.layers for sc in screens])
    fits0 = np.concatenate([sc.fits_none for sc in screens])
    fits1 = np.concatenate([sc.fits_all for sc in screens])
    stable = np.where(fits0, np.concatenate([sc.stable_none for sc in screens]),
                      np.concatenate([sc.stable_all for sc in screens]))
    delta = np.concatenate([sc.delta for sc in screens])
    chosen = np.where(fits0, 0, layers)
    if mode == "tune":
        todo = np.flatnonzero(~fits0 & fits1 & (layers > 1))
        lo, hi = np.ones(len(todo), np.int64), layers[todo].copy()
        while len(todo):
            mid = (lo + hi) // 2
            mid_stable, _, _, mid_fits = cost_rows(adapter, layouts, index[todo], stage[todo],
                                                   layers[todo], mid, limits)
            hi = np.where(mid_fits, mid, hi)
            lo = np.where(mid_fits, lo, mid + 1)
            stable[todo] = np.where(mid_fits, mid_stable, stable[todo])
            done = lo >= hi
            chosen[todo[done]] = hi[done]
            todo, lo, hi = todo[~done], lo[~done], hi[~done]
    keep_rows = fits0 | fits1
    options = []
    for i in range(len(screens)):
        rows = np.flatnonzero(keep_rows & (index == i))
        options.append(StageOptions(stage[rows], layers[rows], chosen[rows], stable[rows], delta[rows]))
    return options
