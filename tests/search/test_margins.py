"""The search's default memory margin and the tie tolerance are what the
committed accuracy runs (bench/results/accuracy.json) say: re-derived here from the runs themselves,
so a new accuracy report that moves them fails this test until the constants follow."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from mist_ds.api import MAX_HEADROOM_STEPS
from mist_ds.config.units import GIB
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy.json"


@pytest.fixture(scope="module")
def ran() -> list[dict]:
    """The runs that ran, of plans the current search would emit (the report's summary; the runs it
    rejects, e.g. for host memory, are listed apart there)."""
    return [run for run in json.loads(ACCURACY.read_text())["runs"] if run["status"] == "ok" and not run["rejected"]]


def _round_up_percent(value: float) -> float:
    return math.ceil(round(100 * value, 6)) / 100


def test_memory_margin_is_the_median_memory_error_rounded_up(ran):
    errors = [abs(run["mem_error_reserved"]) for run in ran]
    assert len(errors) >= 30
    assert DEFAULT_MEMORY_MARGIN_RATIO == _round_up_percent(statistics.median(errors))


def test_tie_tolerance_is_the_median_time_error_rounded_up(ran):
    errors = [abs(run["time_error"]) for run in ran]
    assert MODEL_TIME_ERROR_RATIO == _round_up_percent(statistics.median(errors))


def test_headroom_steps_cover_what_their_comment_says(ran):
    # a plan under-predicted by e (e = (predicted - measured) / measured < 0) needs -e of its cap free
    needed = [max(0.0, -run["mem_error_reserved"]) for run in ran]
    covered = sum(n <= MAX_HEADROOM_STEPS * DEFAULT_MEMORY_MARGIN_RATIO for n in needed)
    assert covered >= 32 and covered < len(needed)


def test_margin_would_have_stopped_every_oom_predicted_to_fit():
    runs = json.loads(ACCURACY.read_text())["runs"]
    fits = [run for run in runs if run["status"] == "oom" and run["predicted_fit"]]
    cap = 78 * GIB  # every one ran under a 78 GiB cap (its workload name says so)
    assert all("/78GiB/" in run["workload"] for run in fits)
    headroom = [(cap - max(m["predicted_bytes"] for m in run["memory"])) / cap for run in fits]
    assert len(headroom) >= 1 and all(h < DEFAULT_MEMORY_MARGIN_RATIO for h in headroom)
