"""Fit a HardwareProfile's run-derived terms from measured runs.

* Time terms (TIME_TERMS): predicted iteration time is linear in each of them (they add seconds per
  micro-batch, block pass, ZeRO-3 fetch or step, or bytes / bandwidth), so each run gives one linear
  equation in the unknowns: base + J x = measured, with base the prediction with every time term
  at zero and J its finite-difference derivative. The fit minimises the squared *relative* errors
  with x >= 0 (exact non-negative least squares over the few terms: every active set is tried).
  A term that no run exercises (a zero column: no ZeRO-3 run, no offload run) keeps the input
  profile's value. pageable_h2d_bandwidth_gbps enters as its inverse (s per GB).
* allocator_overhead_fraction: the median over measured stages of max_memory_allocated / predicted
  peak without allowance - 1 (the median minimises the median |error| against allocated memory, which
  decides OOM under expandable segments: config/hardware.py).
* allocator_cache_fraction: the median over measured stages of max_memory_reserved /
  max_memory_allocated - 1 (what the cache holds beyond the live peak; reported, never searched on).
* host_process_base_bytes: the median over measured stages of peak RSS - predicted host memory
  without base (cost/host_memory.py).
Only runs with status 'ok' are used; the others are listed as skipped.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field

import numpy as np

from mist_ds.calibration.runs import RunPair
from mist_ds.compare import stage_peaks
from mist_ds.config import HardwareProfile

TIME_TERMS = ("host_microbatch_overhead_s", "host_layer_overhead_s", "host_step_overhead_s",
              "zero3_fetch_overhead_s", "pageable_h2d_bandwidth_gbps")
"""Run-derived time terms of HardwareProfile, in fitting order."""
INVERSE_TERMS = ("pageable_h2d_bandwidth_gbps",)
"""Terms fitted as 1 / value (a bandwidth: time is linear in its inverse)."""
PROBE = {"host_microbatch_overhead_s": 1e-3, "host_layer_overhead_s": 1e-4, "host_step_overhead_s": 1e-2,
         "zero3_fetch_overhead_s": 1e-4, "pageable_h2d_bandwidth_gbps": 1.0}
"""Finite-difference step of each term (the derivative is exact: time is linear in them)."""


@dataclass
class Calibration:
    """What a calibration fitted and how well the fitted profile reproduces the runs it used."""

    profile: HardwareProfile
    fitted: dict[str, float | int | None] = field(default_factory=dict)
    """Term -> fitted value (only terms the runs determine)."""
    kept: list[str] = field(default_factory=list)
    """Terms no run exercises: the input profile's value is kept."""
    used: list[str] = field(default_factory=list)
    """Names of the runs used."""
    skipped: list[str] = field(default_factory=list)
    """'name: reason' of the runs not used."""
    time_errors: dict[str, float] = field(default_factory=dict)
    """Run -> relative time error of the calibrated profile (in-sample)."""


FREE_GBPS = 1e12
"""A bandwidth at which the base prediction's copies cost nothing (time is linear in 1 / bandwidth)."""


def zeroed(hw: HardwareProfile, terms: tuple[str, ...] = TIME_TERMS) -> HardwareProfile:
    """`hw` with the run-derived time `terms` off (0 s; a bandwidth term: copies free)."""
    return hw.model_copy(update={t: (FREE_GBPS if t in INVERSE_TERMS else 0.0) for t in terms})


def time_system(hw: HardwareProfile, pairs: list[RunPair],
                terms: tuple[str, ...] = TIME_TERMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(base seconds, J (runs x terms), measured seconds) of the ok runs, `terms` at zero in base."""
    base_hw = zeroed(hw, terms)
    base, rows, measured = [], [], []
    for pair in pairs:
        t0 = pair.predict(base_hw).iteration_time_s
        row = []
        for term in terms:
            probe = base_hw.model_copy(update={term: PROBE[term]})
            # inverse terms: x = 1 / bandwidth; at bandwidth PROBE the added time is bytes * x
            scale = 1.0 / PROBE[term] if term not in INVERSE_TERMS else PROBE[term]
            row.append((pair.predict(probe).iteration_time_s - t0) * scale)
        base.append(t0)
        rows.append(row)
        measured.append(pair.run.median_iteration_time_s)
    return np.array(base), np.array(rows).reshape(len(pairs), len(terms)), np.array(measured)


def nnls(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||a x - y|| over x >= 0, by trying every active set (a has few columns)."""
    n = a.shape[1]
    best, best_x = np.inf, np.zeros(n)
    for k in range(n + 1):
        for subset in itertools.combinations(range(n), k):
            x = np.zeros(n)
            if subset:
                sol = np.linalg.lstsq(a[:, subset], y, rcond=None)[0]
                if np.any(sol < 0):
                    continue
                x[list(subset)] = sol
            residual = float(np.sum((a @ x - y) ** 2))
            if residual < best - 1e-18:
                best, best_x = residual, x
    return best_x


def fit_time(hw: HardwareProfile, pairs: list[RunPair],
             only: tuple[str, ...] = TIME_TERMS) -> tuple[dict[str, float | None], list[str]]:
    """Fitted time terms (those of `only` the runs exercise) and the names of the ones kept. Terms
    left out of `only` keep the profile's value and stay in the base prediction."""
    fixed = hw.model_copy(update={t: getattr(hw, t) for t in TIME_TERMS if t not in only})
    base, jac, measured = time_system(fixed, pairs, only)
    active = [i for i in range(len(only)) if np.any(np.abs(jac[:, i]) > 1e-15)]
    if len(pairs) < len(active):
        raise ValueError(f"{len(pairs)} ok run(s) cannot determine {len(active)} time terms "
                         f"({', '.join(only[i] for i in active)}): give more runs or fewer --fit terms")
    x = nnls(jac[:, active] / measured[:, None], (measured - base) / measured)
    fitted: dict[str, float | None] = {}
    for i, value in zip(active, x):
        term = only[i]
        if term in INVERSE_TERMS:
            fitted[term] = None if value <= 0 else float(f"{1.0 / value:.4g}")
        else:
            fitted[term] = float(f"{value:.4g}")
    return fitted, [t for t in TIME_TERMS if t not in fitted]


def stage_pairs(hw: HardwareProfile, pairs: list[RunPair], predicted: str,
                measured: str) -> list[tuple[float, float]]:
    """(measured, predicted) per stage with a measurement: `predicted` names a StagePrediction field
    (from `hw`), `measured` a per-rank RunReport field (the stage's largest rank, compare.stage_peaks)."""
    out = []
    for pair in pairs:
        values = [getattr(s, predicted) for s in pair.predict(hw).stages]
        out += [(m, p) for m, p in zip(stage_peaks(pair.plan, getattr(pair.run, measured)), values) if m]
    return out


def fit_allocator_fraction(hw: HardwareProfile, pairs: list[RunPair]) -> float | None:
    """Median allocated / predicted-without-allowance - 1 over measured stages, clamped to [0, 1]
    (None: no data)."""
    bare = hw.model_copy(update={"allocator_overhead_fraction": 0.0})
    ratios = [m / p - 1.0 for m, p in stage_pairs(bare, pairs, "peak_memory_bytes", "peak_allocated_bytes") if p]
    return round(min(1.0, max(0.0, statistics.median(ratios))), 4) if ratios else None


def fit_cache_fraction(pairs: list[RunPair]) -> float | None:
    """Median max_memory_reserved / max_memory_allocated - 1 over measured stages (each stage's
    largest rank of both, compare.stage_peaks), clamped to [0, 1] (None: no data)."""
    ratios = []
    for pair in pairs:
        allocated = stage_peaks(pair.plan, pair.run.peak_allocated_bytes)
        reserved = stage_peaks(pair.plan, pair.run.peak_reserved_bytes)
        ratios += [r / a - 1.0 for a, r in zip(allocated, reserved) if a and r]
    return round(min(1.0, max(0.0, statistics.median(ratios))), 4) if ratios else None


def fit_host_base(hw: HardwareProfile, pairs: list[RunPair]) -> int | None:
    """Median peak RSS - predicted host memory without base over measured stages (None: no data)."""
    bare = hw.model_copy(update={"host_process_base_bytes": 0})
    gaps = [m - p for m, p in stage_pairs(bare, pairs, "cpu_memory_bytes", "host_peak_rss_bytes")]
    return max(0, int(statistics.median(gaps))) if gaps else None


def calibrate(hw: HardwareProfile, pairs: list[RunPair], only: tuple[str, ...] = TIME_TERMS) -> Calibration:
    """Fit every run-derived term the ok runs determine (of the time terms, those in `only`); the
    profile carries the fitted values."""
    ok = [p for p in pairs if p.run.status == "ok" and p.run.median_iteration_time_s]
    result = Calibration(profile=hw, used=[p.name for p in ok],
                         skipped=[f"{p.name}: status {p.run.status}" for p in pairs if p not in ok])
    if not ok:
        raise ValueError("no run with status 'ok' and a measured iteration time: nothing to fit")
    time_terms, result.kept = fit_time(hw, ok, only)
    result.fitted.update(time_terms)
    fraction, cache, base = fit_allocator_fraction(hw, ok), fit_cache_fraction(ok), fit_host_base(hw, ok)
    for term, value in (("allocator_overhead_fraction", fraction), ("allocator_cache_fraction", cache),
                        ("host_process_base_bytes", base)):
        if value is None:
            result.kept.append(term)
        else:
            result.fitted[term] = value
    result.profile = hw.model_copy(update=result.fitted)
    for pair in ok:
        predicted = pair.predict(result.profile).iteration_time_s
        result.time_errors[pair.name] = predicted / pair.run.median_iteration_time_s - 1.0
    return result
