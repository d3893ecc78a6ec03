"""Fit a HardwareProfile's run-derived terms from measured runs.

* Time terms (TIME_TERMS): each adds seconds per micro-batch, block pass, ZeRO-3 fetch or step
  (or bytes / bandwidth), but the host-thread ones count only where the host falls behind the GPU
  (cost/host_overlap.py: max(GPU, host) per pass), so predicted time is piecewise linear in
  them, not linear. The fit minimises the squared *relative* errors with x >= 0 by iterated
  linearisation: at the current x each run gives base + J (x' - x) = measured (J by forward
  differences), exact non-negative least squares solves for x' (every active set is tried), and a
  step is kept only if the true objective falls (else it is halved), until it stops falling. It
  starts from the input profile's values and from all zero and keeps the better end. A term that
  changes no run's time even at a large value (no ZeRO-3 run, no offload run) keeps the input
  profile's value. pageable_h2d_bandwidth_gbps and pageable_d2h_bandwidth_gbps
  enter as their inverse (s per GB).
* allocator_overhead_fraction: the median over measured stages of max_memory_allocated / predicted
  peak without allowance - 1 (the median minimises the median |error| against allocated memory, which
  decides OOM under expandable segments: config/hardware.py).
* host_process_base_bytes: the median over measured stages of peak RSS - predicted host memory
  without base (cost/host_memory.py).
Memory terms (MEMORY_TERMS) are fitted when named (calibrate's `memory`, all by default).
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

TIME_TERMS = ("host_microbatch_overhead_s", "host_layer_overhead_s", "host_launch_overhead_s",
              "host_step_overhead_s", "host_step_tensor_overhead_s", "zero3_microbatch_overhead_s",
              "zero3_fetch_overhead_s", "zero3_param_overhead_s", "pageable_h2d_bandwidth_gbps",
              "pageable_d2h_bandwidth_gbps", "mistpipe_microbatch_overhead_s", "mistpipe_layer_overhead_s",
              "mistpipe_streamed_layer_overhead_s")
"""Run-derived time terms of HardwareProfile, in fitting order."""
MEMORY_TERMS = ("allocator_overhead_fraction", "host_process_base_bytes")
"""Run-derived memory terms of HardwareProfile (each a median over measured stages: module docstring)."""
INVERSE_TERMS = ("pageable_h2d_bandwidth_gbps", "pageable_d2h_bandwidth_gbps")
"""Terms fitted as 1 / value (a bandwidth: time is linear in its inverse)."""
STEP = {"host_microbatch_overhead_s": 1e-4, "host_layer_overhead_s": 1e-5, "host_launch_overhead_s": 1e-6,
        "host_step_overhead_s": 1e-3, "host_step_tensor_overhead_s": 1e-5, "zero3_microbatch_overhead_s": 1e-4,
        "zero3_fetch_overhead_s": 1e-5, "zero3_param_overhead_s": 1e-5, "pageable_h2d_bandwidth_gbps": 1e-2,
        "pageable_d2h_bandwidth_gbps": 1e-2, "mistpipe_microbatch_overhead_s": 1e-4,
        "mistpipe_layer_overhead_s": 1e-5, "mistpipe_streamed_layer_overhead_s": 1e-5}
"""Forward-difference step of each term, in fitted units (s; s per GB for inverse terms)."""
LARGE = {"host_microbatch_overhead_s": 10.0, "host_layer_overhead_s": 1.0, "host_launch_overhead_s": 0.1,
         "host_step_overhead_s": 10.0, "host_step_tensor_overhead_s": 0.1, "zero3_microbatch_overhead_s": 10.0,
         "zero3_fetch_overhead_s": 1.0, "zero3_param_overhead_s": 1.0,
         "pageable_h2d_bandwidth_gbps": 1e-3, "pageable_d2h_bandwidth_gbps": 1e-3,
         "mistpipe_microbatch_overhead_s": 10.0,
         "mistpipe_layer_overhead_s": 1.0, "mistpipe_streamed_layer_overhead_s": 1.0}
"""A value of each term (profile units) at which it shows in every run that exercises it: the
activity probe (host work this large exceeds any GPU time)."""
MAX_ITERATIONS = 50


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
"""A bandwidth at which copies cost nothing (the fitted inverse 0)."""


def with_terms(hw: HardwareProfile, terms: tuple[str, ...], x) -> HardwareProfile:
    """`hw` with the time `terms` at fitted values `x` (inverse terms: x = 1 / bandwidth)."""
    update = {}
    for term, value in zip(terms, x):
        value = max(float(value), 0.0)
        update[term] = (1.0 / value if value > 1.0 / FREE_GBPS else FREE_GBPS) if term in INVERSE_TERMS else value
    return hw.model_copy(update=update)


FALLBACK = {"mistpipe_microbatch_overhead_s": "mistpipe_microbatch_s", "mistpipe_layer_overhead_s": "mistpipe_layer_s",
            "zero3_microbatch_overhead_s": "zero3_microbatch_s",
            "pageable_d2h_bandwidth_gbps": "pageable_h2d_bandwidth_gbps"}
"""Terms whose unset value (None) charges another: the profile attribute charged in their place."""


def start_point(hw: HardwareProfile, terms: tuple[str, ...]) -> np.ndarray:
    """The profile's values of `terms` in fitted units (an unset bandwidth: 0, copies free; an unset
    term of FALLBACK: the term it falls back to)."""
    values = [getattr(hw, FALLBACK.get(t, t)) for t in terms]
    return np.array([(0.0 if not v else 1.0 / v) if t in INVERSE_TERMS else float(v or 0.0)
                     for t, v in zip(terms, values)])


def predict_times(hw: HardwareProfile, pairs: list[RunPair]) -> np.ndarray:
    """Predicted iteration seconds of every pair under `hw`."""
    return np.array([p.predict(hw).iteration_time_s for p in pairs])


def time_system(hw: HardwareProfile, pairs: list[RunPair], terms: tuple[str, ...], x: np.ndarray,
                active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(predicted seconds, J (runs x terms)) of the pairs with `terms` at `x`. `active` (terms x runs,
    exercise_masks): only the runs a term can move are re-predicted for its column, the others' are 0."""
    base = predict_times(with_terms(hw, terms, x), pairs)
    jac = np.zeros((len(pairs), len(terms)))
    for i, term in enumerate(terms):
        rows = np.arange(len(pairs)) if active is None else np.flatnonzero(active[i])
        probe = x.copy()
        probe[i] += STEP[term]
        moved = predict_times(with_terms(hw, terms, probe), [pairs[j] for j in rows])
        jac[rows, i] = (moved - base[rows]) / STEP[term]
    return base, jac


def exercise_masks(hw: HardwareProfile, pairs: list[RunPair], terms: tuple[str, ...]) -> np.ndarray:
    """(terms x runs) whether a term at its LARGE value (the others at zero) changes the run's time. Predicted
    time never falls as a term grows and a term a run's formulas lack never moves it, so a run it leaves
    unmoved there it leaves unmoved at every value: the fit's Jacobian skips it (time_system)."""
    zero = with_terms(hw, terms, np.zeros(len(terms)))
    base = predict_times(zero, pairs)
    return np.array([np.abs(predict_times(zero.model_copy(update={t: LARGE[t]}), pairs) - base) > 1e-12
                     for t in terms]).reshape(len(terms), len(pairs))


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


def objective(hw: HardwareProfile, pairs: list[RunPair], terms: tuple[str, ...], x: np.ndarray) -> float:
    """Sum of squared relative time errors of the pairs with `terms` at `x`."""
    measured = np.array([p.run.median_iteration_time_s for p in pairs])
    return float(np.sum((predict_times(with_terms(hw, terms, x), pairs) / measured - 1) ** 2))


def solve_time(hw: HardwareProfile, pairs: list[RunPair], terms: tuple[str, ...], x: np.ndarray,
               active: np.ndarray | None = None) -> np.ndarray:
    """Iterated linearisation of the relative squared time error over x >= 0 (module docstring); `active`:
    the runs each term can move (exercise_masks)."""
    measured = np.array([p.run.median_iteration_time_s for p in pairs])
    best = objective(hw, pairs, terms, x)
    for _ in range(MAX_ITERATIONS):
        base, jac = time_system(hw, pairs, terms, x, active)
        target = nnls(jac / measured[:, None], (measured - base + jac @ x) / measured)
        step, improved = target - x, False
        for _ in range(12):                     # halve the step until the true objective falls
            trial = np.maximum(x + step, 0.0)
            value = objective(hw, pairs, terms, trial)
            if value < best - 1e-12 * max(best, 1e-30):
                x, best, improved = trial, value, True
                break
            step = step / 2
        if not improved:
            break
    return x


def fit_time(hw: HardwareProfile, pairs: list[RunPair],
             only: tuple[str, ...] = TIME_TERMS) -> tuple[dict[str, float | None], list[str]]:
    """Fitted time terms (those of `only` the runs exercise) and the names of the ones kept. Terms
    left out of `only` keep the profile's value."""
    masks = exercise_masks(hw, pairs, only)
    moved = [i for i, row in enumerate(masks) if row.any()]
    terms = tuple(only[i] for i in moved)
    if len(pairs) < len(terms):
        raise ValueError(f"{len(pairs)} ok run(s) cannot determine {len(terms)} time terms "
                         f"({', '.join(terms)}): give more runs or fewer --fit terms")
    x = np.zeros(0)
    if terms:       # piecewise linear: two starts (the profile's values, all zero), the better kept
        x = min((solve_time(hw, pairs, terms, start, masks[moved])
                 for start in (start_point(hw, terms), np.zeros(len(terms)))),
                key=lambda v: objective(hw, pairs, terms, v))
    fitted: dict[str, float | None] = {}
    for term, value in zip(terms, x):
        if term in INVERSE_TERMS:
            fitted[term] = None if value <= 1.0 / FREE_GBPS else float(f"{1.0 / value:.4g}")
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


def fit_host_base(hw: HardwareProfile, pairs: list[RunPair]) -> int | None:
    """Median peak RSS - predicted host memory without base over measured stages (None: no data)."""
    bare = hw.model_copy(update={"host_process_base_bytes": 0})
    gaps = [m - p for m, p in stage_pairs(bare, pairs, "cpu_memory_bytes", "host_peak_rss_bytes")]
    return max(0, int(statistics.median(gaps))) if gaps else None


def calibrate(hw: HardwareProfile, pairs: list[RunPair], only: tuple[str, ...] = TIME_TERMS,
              memory: tuple[str, ...] = MEMORY_TERMS) -> Calibration:
    """Fit every run-derived term the ok runs determine (of the time terms those in `only`, of the
    memory terms those in `memory`); the profile carries the fitted values, the others keep hw's."""
    ok = [p for p in pairs if p.run.status == "ok" and p.run.median_iteration_time_s]
    result = Calibration(profile=hw, used=[p.name for p in ok],
                         skipped=[f"{p.name}: status {p.run.status}" for p in pairs if p not in ok])
    if not ok:
        raise ValueError("no run with status 'ok' and a measured iteration time: nothing to fit")
    time_terms, result.kept = fit_time(hw, ok, only)
    result.fitted.update(time_terms)
    fitters = {"allocator_overhead_fraction": lambda: fit_allocator_fraction(hw, ok),
               "host_process_base_bytes": lambda: fit_host_base(hw, ok)}
    for term in MEMORY_TERMS:
        value = fitters[term]() if term in memory else None
        if value is None:
            result.kept.append(term)
        else:
            result.fitted[term] = value
    result.profile = hw.model_copy(update=result.fitted)
    for pair in ok:
        predicted = pair.predict(result.profile).iteration_time_s
        result.time_errors[pair.name] = predicted / pair.run.median_iteration_time_s - 1.0
    return result
