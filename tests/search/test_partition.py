"""The inter-stage partition against brute force on random synthetic cost tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mist_ds.cost.clock import closed_form_bound
from mist_ds.search.partition import (
    StageOptions,
    best_partition,
    chain_dp,
    dense_min,
    lower_bound,
    pareto_by_group,
)


def _compositions(total: int, parts: int):
    for cuts in itertools.combinations(range(1, total), parts - 1):
        bounds = (0, *cuts, total)
        yield tuple(b - a for a, b in zip(bounds, bounds[1:]))


def _random_options(rng, stages, layers, max_recompute_options=3, drop=0.2):
    rows = []
    for i in range(stages):
        for l in range(1, layers - stages + 2):
            for c in range(min(l + 1, max_recompute_options)):
                if rng.random() < drop:
                    continue  # memory-infeasible
                stable = l * rng.uniform(0.8, 1.2) + c * rng.uniform(0.1, 0.4) + (0.5 if i == 0 else 0)
                delta = l * rng.uniform(0.0, 3.0) + rng.uniform(0, 1)
                rows.append((i, l, c, stable, delta))
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return StageOptions(arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2].astype(int),
                        arr[:, 3], arr[:, 4])


def _brute_force(options, stages, layers, accum):
    by_key = {}
    for k in range(len(options.stable)):
        by_key.setdefault((int(options.stage[k]), int(options.layers[k])), []).append(k)
    best = np.inf
    for split in _compositions(layers, stages):
        choices = [by_key.get((i, l), []) for i, l in enumerate(split)]
        for combo in itertools.product(*choices):
            combo = list(combo)
            best = min(best, closed_form_bound(options.stable[combo], options.delta[combo], 0.0, accum))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_partition_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    stages = int(rng.integers(1, 5))
    layers = int(rng.integers(stages, 9))
    accum = int(rng.choice([1, 2, 3, 8]))
    options = _random_options(rng, stages, layers)
    expected = _brute_force(options, stages, layers, accum)
    found = best_partition(options, stages, layers, accum)
    if not np.isfinite(expected):
        assert found is None
        return
    assert found is not None
    assert sum(found.layers) == layers and len(found.layers) == stages
    assert found.objective_s == pytest.approx(expected, rel=1e-12)
    assert lower_bound(options, stages, layers, accum) <= expected + 1e-9
    assert closed_form_bound(found.stable_s, found.delta_s, 0.0, accum) == pytest.approx(found.objective_s)


def test_partition_is_non_uniform_when_first_stage_is_heavier():
    # Stage 0 carries the embedding (+3 s per micro-batch): the best split gives it fewer layers.
    stage, lay, stable = [], [], []
    for i in range(2):
        for l in range(1, 12):
            stage.append(i), lay.append(l), stable.append(l + (3.0 if i == 0 else 0.0))
    n = len(stage)
    options = StageOptions(np.array(stage), np.array(lay), np.zeros(n, int), np.array(stable), np.zeros(n))
    found = best_partition(options, 2, 12, grad_accum=16)
    assert found.layers == (5, 7) or found.layers == (4, 8)
    assert found.layers[0] < 6


def test_upper_bound_prunes_everything():
    rng = np.random.default_rng(0)
    options = _random_options(rng, 3, 8, drop=0.0)
    assert best_partition(options, 3, 8, 4, upper_bound=1e-6) is None


def test_no_feasible_split():
    options = StageOptions(np.array([0]), np.array([1]), np.array([0]), np.array([1.0]), np.array([0.0]))
    assert best_partition(options, 2, 2, 4) is None


def test_chain_dp_minimax_and_sum():
    table = np.full((2, 5), np.inf)
    table[0, 1:] = [1, 2, 3, 9]
    table[1, 1:] = [2, 2, 3, 3]
    assert chain_dp(table, 4, "max") == (2.0, (2, 2))
    value, split = chain_dp(table, 4, "sum")
    assert (value, split) == (4.0, (1, 3))  # ties: the first stage takes the fewest layers
    assert dense_min(np.array([0, 0]), np.array([1, 1]), np.array([5.0, 3.0]), 1, 1)[0, 1] == 3.0


def test_pareto_by_group():
    group = np.array([0, 0, 0, 1, 1])
    x = np.array([1.0, 2.0, 3.0, 1.0, 1.0])
    y = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    kept = set(pareto_by_group(group, x, y).tolist())
    assert kept == {0, 1, 4}
