"""Pure fitting of profiler measurements: repeat statistics, alpha-beta fits, interference models.

No torch: everything here runs (and is tested) on plain lists of numbers.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Median and spread of repeated timings."""

    median: float
    spread: float
    """(p90 - p10) / median: relative width of the middle 80% of the repeats."""
    count: int


def summarize(times: Sequence[float]) -> Summary:
    """Median and relative spread of a list of repeated timings (seconds)."""
    if not times:
        raise ValueError("summarize: no timings")
    ordered = sorted(times)
    med = statistics.median(ordered)
    lo = ordered[int(0.1 * (len(ordered) - 1))]
    hi = ordered[math.ceil(0.9 * (len(ordered) - 1))]
    return Summary(median=med, spread=(hi - lo) / med if med > 0 else 0.0, count=len(ordered))


@dataclass(frozen=True)
class AlphaBeta:
    """time = alpha + beta * x, fitted on relative error."""

    alpha: float
    """Fixed cost, seconds."""
    beta: float
    """Seconds per unit of x (x: bytes on the bus)."""
    rel_error: float
    """Median |fit - measured| / measured over the points."""
    max_rel_error: float
    """Largest |fit - measured| / measured."""


def fit_alpha_beta(xs: Sequence[float], times: Sequence[float]) -> AlphaBeta:
    """Least squares on relative residuals: minimise sum(((alpha + beta x_i) / t_i - 1)^2).

    Relative residuals weigh a 10 us small message like a 10 ms large one, so neither the
    latency nor the bandwidth end of the curve dominates. alpha is clamped at >= 0 (the fit is
    then redone for beta alone); beta must come out positive.
    """
    if len(xs) != len(times) or len(xs) < 2:
        raise ValueError("fit_alpha_beta: need >= 2 (x, time) pairs of equal length")
    if any(t <= 0 for t in times):
        raise ValueError("fit_alpha_beta: times must be positive")
    a = [1.0 / t for t in times]
    b = [x / t for x, t in zip(xs, times)]
    saa, sab, sbb = sum(v * v for v in a), sum(u * v for u, v in zip(a, b)), sum(v * v for v in b)
    sa, sb = sum(a), sum(b)
    det = saa * sbb - sab * sab
    alpha, beta = ((sa * sbb - sb * sab) / det, (saa * sb - sab * sa) / det) if det > 0 else (-1.0, 0.0)
    if alpha < 0:
        alpha, beta = 0.0, sb / sbb
    if beta <= 0:
        raise ValueError("fit_alpha_beta: time does not grow with size")
    errors = [abs(alpha + beta * x - t) / t for x, t in zip(xs, times)]
    return AlphaBeta(alpha=alpha, beta=beta, rel_error=statistics.median(errors),
                     max_rel_error=max(errors))


Combo = tuple[str, ...]


def pairwise_product_model(measured: Mapping[Combo, Mapping[str, float]]) -> dict[Combo, dict[str, float]]:
    """Predict every measured combination from its pairs alone: a channel's slowdown in a set is
    the product of its slowdowns in each pair it forms with the set's other channels."""
    pairs = {frozenset(c): s for c, s in measured.items() if len(c) == 2}
    predicted: dict[Combo, dict[str, float]] = {}
    for combo in measured:
        out = {}
        for ch in combo:
            factor = 1.0
            for other in combo:
                pair = pairs.get(frozenset((ch, other)))
                if other != ch and pair is not None:
                    factor *= pair[ch]
            out[ch] = factor
        predicted[combo] = out
    return predicted


def max_slowdown_model(measured: Mapping[Combo, Mapping[str, float]]) -> dict[Combo, dict[str, float]]:
    """Alternative: a channel's slowdown in a set is its worst slowdown in any pair of the set
    (contention for one shared resource saturates instead of compounding)."""
    pairs = {frozenset(c): s for c, s in measured.items() if len(c) == 2}
    predicted: dict[Combo, dict[str, float]] = {}
    for combo in measured:
        predicted[combo] = {
            ch: max([pairs[frozenset((ch, o))][ch] for o in combo
                     if o != ch and frozenset((ch, o)) in pairs] or [1.0])
            for ch in combo
        }
    return predicted


def model_error(measured: Mapping[Combo, Mapping[str, float]],
                predicted: Mapping[Combo, Mapping[str, float]]) -> float | None:
    """Median relative error of predicted vs measured slowdowns over sets of 3+ channels
    (pairs are inputs of both models); None when no such set was measured."""
    errs = [abs(predicted[c][ch] - s) / s for c, slow in measured.items() if len(c) > 2
            for ch, s in slow.items()]
    return statistics.median(errs) if errs else None


def channel_combos(channels: Iterable[str]) -> list[Combo]:
    """Every subset of two or more channels, pairs first."""
    chans = list(channels)
    return [c for r in range(2, len(chans) + 1) for c in itertools.combinations(chans, r)]
