"""The baseline grid's early stop (bench/baseline/grid.py EARLY_STOP_RATIO, train_hf.py --stop-above-s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.baseline import grid
from bench.baseline.train_hf import stops_early


def _result(status: str, median: float | None, **extra) -> dict:
    return {"status": status, "median_iteration_time_s": median, **extra}


def test_only_the_first_timed_step_decides():
    assert not stops_early([9.0, 9.0], warmup=1, above_s=None)          # no threshold: never
    assert not stops_early([30.0], warmup=1, above_s=10.0)              # a warm-up step never decides
    assert stops_early([30.0, 10.5], warmup=1, above_s=10.0)            # first timed step 10.5 > 10
    assert not stops_early([30.0, 9.5], warmup=1, above_s=10.0)
    assert not stops_early([30.0, 9.5, 12.0], warmup=1, above_s=10.0)   # later steps never stop a run


def test_threshold_is_the_ratio_of_the_best_full_run():
    done = {"a": _result("ok", 8.0), "b": _result("oom", None), "c": _result("ok", 6.0, stopped_early_above_s=5.0),
            "d": _result("ok", 10.0)}
    assert grid.best_median_s(done) == 8.0       # c stopped early: its one step never counts as the best
    assert grid.early_stop_s(done) == pytest.approx(grid.EARLY_STOP_RATIO * 8.0)
    assert grid.early_stop_s({"b": _result("oom", None)}) is None


def test_estimates_and_argv_with_an_early_stop():
    w = grid.WORKLOADS["llama7b-2g-c78-s4096-b32"]
    config = grid.Config(1, 1, True)
    full, limit = grid.estimates(w, config, steps=5, warmup=2)
    assert grid.estimates(w, config, steps=5, warmup=2, stop_above_s=1e6) == (full, limit)  # never above full
    start = grid.estimates(w, config, steps=0)[0]       # start-up alone
    step = (full - start) / (1.3 * 5)
    stopped, same_limit = grid.estimates(w, config, steps=5, warmup=2, stop_above_s=0.0)
    assert stopped == pytest.approx(start + 1.3 * 3 * step) and same_limit == limit   # ends after step 3
    argv = grid.launch_argv(w, config, 29999, Path("h"), Path("r.json"), 5, 2, stop_above_s=9.75)
    assert argv[argv.index("--stop-above-s") + 1] == "9.750"
    assert "--stop-above-s" not in grid.launch_argv(w, config, 29999, Path("h"), Path("r.json"), 5, 2)


def test_the_budget_learns_from_the_points_this_call_ran():
    assert grid.calibrated_s(100.0, True, []) == 100.0                     # nothing measured yet
    observed = [(True, 100.0, 62.0), (True, 90.0, 69.3), (False, 50.0, 80.0)]
    assert grid.calibrated_s(100.0, True, observed) == pytest.approx(77.0)  # the slowest offload point's 0.77
    assert grid.calibrated_s(100.0, False, observed) == pytest.approx(160.0)  # a kind learns from its own
