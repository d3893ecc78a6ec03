"""Pure fitting code against synthetic measurements."""

from __future__ import annotations

import math
import random

import pytest

from mist_ds.profile.fit import (
    channel_combos,
    fit_alpha_beta,
    max_slowdown_model,
    model_error,
    pairwise_product_model,
    summarize,
)


def test_summarize_median_and_spread():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median == 3.0
    assert s.count == 5
    assert s.spread > 1.0  # the outlier widens the p10..p90 window
    assert summarize([2.0] * 7).spread == 0.0
    with pytest.raises(ValueError):
        summarize([])


def test_alpha_beta_recovers_exact_line():
    alpha, beta = 15e-6, 1 / 350e9
    xs = [2.0**p for p in range(10, 31)]
    fit = fit_alpha_beta(xs, [alpha + beta * x for x in xs])
    assert fit.alpha == pytest.approx(alpha, rel=1e-6)
    assert fit.beta == pytest.approx(beta, rel=1e-6)
    assert fit.rel_error < 1e-9


def test_alpha_beta_with_noise_reports_error():
    rng = random.Random(0)
    alpha, beta = 20e-6, 1 / 100e9
    xs = [2.0**p for p in range(12, 30)]
    times = [(alpha + beta * x) * (1 + rng.uniform(-0.05, 0.05)) for x in xs]
    fit = fit_alpha_beta(xs, times)
    assert fit.alpha == pytest.approx(alpha, rel=0.15)
    assert 1 / fit.beta == pytest.approx(100e9, rel=0.05)
    assert 0.0 < fit.rel_error <= fit.max_rel_error <= 0.1


def test_alpha_beta_clamps_negative_latency():
    # pure bandwidth with a super-linear tail would give alpha < 0; the fit clamps it
    xs = [1e6, 2e6, 4e6, 8e6]
    times = [x / 1e9 * (1 + 0.02 * i) for i, x in enumerate(xs)]
    fit = fit_alpha_beta(xs, times)
    assert fit.alpha == 0.0
    assert fit.beta > 0


def test_alpha_beta_rejects_bad_input():
    with pytest.raises(ValueError):
        fit_alpha_beta([1.0], [1.0])
    with pytest.raises(ValueError):
        fit_alpha_beta([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        fit_alpha_beta([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])


def _synthetic_interference(model):
    pairs = {("compute", "nccl"): {"compute": 1.1, "nccl": 1.5},
             ("compute", "h2d"): {"compute": 1.02, "h2d": 1.1},
             ("nccl", "h2d"): {"nccl": 1.2, "h2d": 1.3}}
    measured = dict(pairs)
    measured[("compute", "nccl", "h2d")] = model({**pairs, ("compute", "nccl", "h2d"): {}})[
        ("compute", "nccl", "h2d")]
    return measured


def test_pairwise_product_exact_on_product_data():
    measured = _synthetic_interference(pairwise_product_model)
    assert measured[("compute", "nccl", "h2d")]["nccl"] == pytest.approx(1.5 * 1.2)
    assert model_error(measured, pairwise_product_model(measured)) == pytest.approx(0.0)
    assert model_error(measured, max_slowdown_model(measured)) > 0.05


def test_max_model_exact_on_saturating_data():
    measured = _synthetic_interference(max_slowdown_model)
    assert measured[("compute", "nccl", "h2d")]["h2d"] == pytest.approx(1.3)
    assert model_error(measured, max_slowdown_model(measured)) == pytest.approx(0.0)


def test_model_error_none_without_triples():
    pairs = {("compute", "nccl"): {"compute": 1.1, "nccl": 1.5}}
    assert model_error(pairs, pairwise_product_model(pairs)) is None


def test_channel_combos_counts():
    combos = channel_combos(["compute", "nccl", "h2d", "d2h"])
    assert len(combos) == 11
    assert all(len(a) <= len(b) for a, b in zip(combos, combos[1:]))
    assert channel_combos(["compute"]) == []
    assert math.comb(3, 2) + 1 == len(channel_combos("abc"))
