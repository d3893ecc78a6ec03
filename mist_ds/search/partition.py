"""Exact inter-stage partition: layer counts, recompute counts and (for executors with per-stage
memory, config/executors.py) memory settings per pipeline stage.

Objective: mist_ds.cost.clock.closed_form_bound (1F1B with first/last micro-batch imbalance; Mist,
EuroSys'25, section 5.2), with the p2p terms folded into each stage's stable time:

    T = sum_i s_i + (G - 1) * max_i s_i + max_i (d_i - sum_{j<i} s_j)

where s_i is stage i's steady per-micro-batch time and d_i its per-iteration extra (gradient sync,
optimizer step). The optimum is exact, over every split of the layers (no window around uniform):

* enumerate the cap M on max_i s_i over the distinct stable times (ascending, stopping once
  (G-1)*M + min sum_i s_i exceeds the best found);
* for each cap, a backward dynamic program over stages whose labels are the Pareto set of
  (sum of s, Q) per remaining-layer count, Q = max_k (d_k - sum of s before k within the suffix).
  Prepending a stage (s, d) maps (sum, Q) -> (sum + s, max(d, Q - s)); the final T is monotone in both,
  so dominated labels are dropped without loss.

An option is one (stage, layers, recompute, activation offload, memory setting) choice; the objective
only sees its (stable, delta), so a per-stage memory setting is just more options per (stage, layers):
the program stays exact over every combination of settings across stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mist_ds.cost.clock import closed_form_bound

INF = float("inf")


@dataclass(frozen=True)
class StageOptions:
    """Memory-feasible (stage, layers, recompute) choices of one layout with their times."""

    stage: np.ndarray
    """Pipeline stage index of each option."""
    layers: np.ndarray
    """Transformer blocks in the stage."""
    recompute: np.ndarray
    """Blocks of the stage that recompute."""
    stable: np.ndarray
    """Steady per-micro-batch time, seconds."""
    delta: np.ndarray
    """Per-iteration extra time, seconds."""
    offloaded: np.ndarray | None = None
    """Blocks whose saved activations go to CPU memory (None: none)."""
    setting: np.ndarray | None = None
    """Per option, an index into `setting_table`: the stage's own memory setting (None: the layout's)."""
    setting_table: tuple = ()
    """(zero stage, weights, gradients, optimizer offload ratios) of each index `setting` uses."""

    def take(self, keep: np.ndarray) -> StageOptions:
        """The options selected by a boolean mask or index array."""
        offloaded = None if self.offloaded is None else self.offloaded[keep]
        setting = None if self.setting is None else self.setting[keep]
        return StageOptions(self.stage[keep], self.layers[keep], self.recompute[keep],
                            self.stable[keep], self.delta[keep], offloaded, setting, self.setting_table)

    def memory_of(self, rows) -> tuple[tuple, ...]:
        """The memory settings of the given rows (empty: the layout's, shared by all stages)."""
        if self.setting is None:
            return ()
        return tuple(self.setting_table[int(self.setting[r])] for r in rows)

    def offloaded_of(self, rows) -> tuple[int, ...]:
        """Activation-offloaded block counts of the given rows."""
        if self.offloaded is None:
            return tuple(0 for _ in rows)
        return tuple(int(self.offloaded[r]) for r in rows)


@dataclass(frozen=True)
class Partition:
    """The chosen per-stage layer and recompute counts and their objective."""

    objective_s: float
    layers: tuple[int, ...]
    recompute: tuple[int, ...]
    stable_s: tuple[float, ...]
    delta_s: tuple[float, ...]
    offloaded: tuple[int, ...] = ()
    """Per-stage activation-offloaded block counts (empty: none)."""
    memory: tuple[tuple, ...] = ()
    """Per-stage (zero stage, weights, gradients, optimizer offload ratios) (empty: the layout's)."""


def pareto_by_group(group: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the (x, y)-minimal points within each group (ties: first in stable order kept),
    ordered by group descending, then x, then y."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((y, x, -group))
    ys, gs = y[order], group[order].astype(float)
    span = float(np.max(ys) - np.min(ys)) + 1.0
    key = ys + gs * span  # groups sorted descending: earlier groups never shadow later ones
    running = np.minimum.accumulate(key)
    keep = np.empty(len(key), dtype=bool)
    keep[0] = True
    keep[1:] = key[1:] < running[:-1]
    return order[keep]


def dominated_by(ref_key: np.ndarray, ref_stable: np.ndarray, ref_delta: np.ndarray, key: np.ndarray,
                 stable: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Per query (key, stable, delta): whether some reference with the same key has stable <= and
    delta <= the query's (weak Pareto dominance; vectorised: references sorted by key then delta,
    a running minimum of stable per key, one binary search per query)."""
    if len(ref_key) == 0 or len(key) == 0:
        return np.zeros(len(key), bool)
    n = len(ref_key)
    d_rank = np.unique(np.concatenate([ref_delta, delta]), return_inverse=True)[1].astype(np.int64)
    s_rank = np.unique(np.concatenate([ref_stable, stable]), return_inverse=True)[1].astype(np.int64)
    width, span = int(d_rank.max()) + 1, int(s_rank.max()) + 1
    ref_code = ref_key.astype(np.int64) * width + d_rank[:n]
    order = np.argsort(ref_code, kind="stable")
    code, ref_key, best = ref_code[order], ref_key.astype(np.int64)[order], s_rank[:n][order]
    # exact integer ranks; earlier keys get larger offsets, so a running minimum never crosses keys
    top = int(ref_key.max())
    shifted = np.minimum.accumulate(best + (top - ref_key) * span)
    at = np.searchsorted(code, key.astype(np.int64) * width + d_rank[n:], side="right") - 1
    found = at >= 0
    at = np.maximum(at, 0)
    same = found & (ref_key[at] == key)
    return same & (shifted[at] - (top - ref_key[at]) * span <= s_rank[n:])


def prune_options(options: StageOptions) -> StageOptions:
    """Keep, per (stage, layers), the recompute choices on the (stable, delta) Pareto front."""
    group = options.stage * 100_000 + options.layers
    return options.take(np.sort(pareto_by_group(group, options.stable, options.delta)))


def dense_min(stage: np.ndarray, layers: np.ndarray, value: np.ndarray, num_stages: int,
              num_layers: int) -> np.ndarray:
    """(num_stages, num_layers + 1) table of the smallest value per (stage, layers); inf where none."""
    table = np.full((num_stages, num_layers + 1), INF)
    np.minimum.at(table, (stage, layers), value)
    return table


def chain_dp(table: np.ndarray, num_layers: int, combine: str) -> tuple[float, tuple[int, ...]]:
    """Exact min over layer splits of max_i (combine='max') or sum_i (combine='sum') of table[i, l_i].

    Returns (value, layers per stage); (inf, ()) when no split exists."""
    num_stages = table.shape[0]
    r = np.arange(num_layers + 1)[:, None]
    lay = np.arange(num_layers + 1)[None, :]
    valid = (lay >= 1) & (lay < r)
    child_index = np.where(valid, r - lay, 0)
    best = table[num_stages - 1].copy()
    best[0] = INF
    choices = []
    for i in range(num_stages - 2, -1, -1):
        child = np.where(valid, best[child_index], INF)
        own = np.broadcast_to(table[i][None, :], child.shape)
        total = np.maximum(own, child) if combine == "max" else own + child
        pick = np.argmin(total, axis=1)
        choices.append(pick)
        best = total[np.arange(num_layers + 1), pick]
    value = float(best[num_layers])
    if not np.isfinite(value):
        return INF, ()
    split, remaining = [], num_layers
    for pick in reversed(choices):
        split.append(int(pick[remaining]))
        remaining -= split[-1]
    split.append(remaining)
    return value, tuple(split)


def _labels_dp(options: StageOptions, num_stages: int, num_layers: int, extra: float,
               upper_bound: float) -> list[int] | None:
    """Backward Pareto-label DP for one cap; returns option indices per stage (stage order) or None."""
    per_stage = [np.flatnonzero(options.stage == i) for i in range(num_stages)]
    idx = per_stage[-1]
    rem, tot, q = options.layers[idx], options.stable[idx], options.delta[idx]
    parent, chosen = np.full(len(idx), -1), idx
    history = []
    for i in range(num_stages - 1, -1, -1):
        if i < num_stages - 1:
            own = per_stage[i]
            lab, opt = np.divmod(np.arange(len(rem) * len(own)), len(own))
            s, d = options.stable[own][opt], options.delta[own][opt]
            rem, tot, q = rem[lab] + options.layers[own][opt], tot[lab] + s, np.maximum(d, q[lab] - s)
            parent, chosen = lab, own[opt]
        limit_ok = (rem == num_layers) if i == 0 else (rem <= num_layers - i)
        keep = np.flatnonzero(limit_ok & (extra + tot + q <= upper_bound))
        keep = keep[pareto_by_group(rem[keep], tot[keep], q[keep])]
        rem, tot, q, parent, chosen = rem[keep], tot[keep], q[keep], parent[keep], chosen[keep]
        history.append((parent, chosen))
        if len(rem) == 0:
            return None
    at = int(np.argmin(tot + q))
    path = []
    for parent, chosen in reversed(history):
        path.append(int(chosen[at]))
        at = int(parent[at])
    return path


def best_partition(options: StageOptions, num_stages: int, num_layers: int, grad_accum: int,
                   upper_bound: float = INF) -> Partition | None:
    """The exact minimum of the objective over layer splits and per-stage options, or None when
    no split fits (or none beats `upper_bound`)."""
    options = prune_options(options)
    if num_stages == 1:
        return _single_stage(options, num_layers, grad_accum, upper_bound)
    smin = dense_min(options.stage, options.layers, options.stable, num_stages, num_layers)
    bottleneck, _ = chain_dp(smin, num_layers, "max")
    min_sum, _ = chain_dp(smin, num_layers, "sum")
    if not np.isfinite(bottleneck):
        return None
    caps = [INF] if grad_accum == 1 else np.unique(options.stable[options.stable >= bottleneck])
    best: Partition | None = None
    for cap in caps:
        extra = 0.0 if grad_accum == 1 else (grad_accum - 1) * float(cap)
        if extra + min_sum > upper_bound:
            break
        path = _labels_dp(options.take(options.stable <= cap), num_stages, num_layers, extra,
                          upper_bound)
        if path is None:
            continue
        sub = options.take(options.stable <= cap)
        found = Partition(
            objective_s=closed_form_bound(sub.stable[path], sub.delta[path], 0.0, grad_accum),
            layers=tuple(int(v) for v in sub.layers[path]),
            recompute=tuple(int(v) for v in sub.recompute[path]),
            stable_s=tuple(float(v) for v in sub.stable[path]),
            delta_s=tuple(float(v) for v in sub.delta[path]),
            offloaded=sub.offloaded_of(path),
            memory=sub.memory_of(path),
        )
        if best is None or found.objective_s < best.objective_s:
            best, upper_bound = found, min(upper_bound, found.objective_s)
    return best


def _single_stage(options: StageOptions, num_layers: int, grad_accum: int,
                  upper_bound: float) -> Partition | None:
    """No pipeline: T = G * s + d over the options holding every layer (first minimum wins)."""
    rows = np.flatnonzero(options.layers == num_layers)
    if len(rows) == 0:
        return None
    totals = grad_accum * options.stable[rows] + options.delta[rows]
    best = rows[int(np.argmin(totals))]
    objective = closed_form_bound(options.stable[[best]], options.delta[[best]], 0.0, grad_accum)
    if objective > upper_bound:
        return None
    return Partition(objective, (num_layers,), (int(options.recompute[best]),),
                     (float(options.stable[best]),), (float(options.delta[best]),),
                     options.offloaded_of([best]), options.memory_of([best]))


def lower_bound(options: StageOptions, num_stages: int, num_layers: int, grad_accum: int) -> float:
    """A bound no partition beats: (G-1) * min-max stable + min-sum stable (Q >= d_0 >= 0)."""
    if num_stages == 1:
        whole = options.stable[options.layers == num_layers]
        return grad_accum * float(whole.min()) if len(whole) else INF
    smin = dense_min(options.stage, options.layers, options.stable, num_stages, num_layers)
    bottleneck, _ = chain_dp(smin, num_layers, "max")
    min_sum, _ = chain_dp(smin, num_layers, "sum")
    return (grad_accum - 1) * bottleneck + min_sum
