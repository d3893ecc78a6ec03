"""bench/accuracy/probe_scaled.py: a run's time error with its host terms scaled by its start probe."""

from __future__ import annotations

from bench.accuracy.probe_scaled import probed_runs, scaled_error
from bench.accuracy.report import RESULTS


def test_a_factor_of_one_gives_the_shipped_error_and_a_slower_host_a_longer_prediction():
    runs = probed_runs(RESULTS / "accuracy.json")
    row, _, probe = next(r for r in runs if r[0]["name"] == "auto-qw15b-1g-c40-s4096-b32")
    assert probe > 0
    cache: dict = {}
    assert abs(scaled_error(row, 1.0, cache) - row["time_error"]) < 1e-9
    assert scaled_error(row, 1.5, cache) > row["time_error"]
