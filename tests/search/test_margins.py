"""The search's default memory margin and the tie tolerance are what the
committed accuracy runs (bench/results/accuracy.json) say: re-derived here from the runs themselves,
so a new accuracy report that moves them fails this test until the constants follow.

Memory is judged against max_memory_allocated, which decides OOM under expandable segments (the
runtime's allocator setting): the allocator releases its cache before it fails, keeping only a few
hundred MiB (each OOM run's `unreleased_bytes`). Runs made without expandable segments, and runs scored on a
profile no run calibrated (`uncalibrated`: it prices no host-thread time), are scored apart by the report, and so
here."""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path

import pytest

from mist_ds.api import MAX_HEADROOM_STEPS
from mist_ds.config.units import GIB
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy.json"


@pytest.fixture(scope="module")
def runs() -> list[dict]:
    return json.loads(ACCURACY.read_text())["runs"]


@pytest.fixture(scope="module")
def ran(runs) -> list[dict]:
    """The runs that ran, of plans the current search would emit, with expandable segments, on a calibrated
    profile (the report's summary; the others are listed apart there)."""
    return [run for run in runs if run["status"] == "ok" and run["targeted"]]


def _round_up_percent(value: float) -> float:
    return math.ceil(round(100 * value, 6)) / 100


def _cap_bytes(run: dict) -> float:
    found = re.search(r"/(\d+)GiB/", run["workload"])
    assert found, f"{run['name']}: an OOM run without a memory cap"
    return int(found[1]) * GIB


def _under_predictions(ran: list[dict]) -> list[float]:
    """How far each plan's allocated peak exceeded its prediction, as a fraction (0: not exceeded),
    each distinct plan once at its worst run (re-runs of one plan, bench/accuracy/repeats.py, and
    copies of one plan file in several folders, same plan_id, would otherwise weigh it several times).
    A plan predicted at p with error e = (p - a) / a < 0 holds a = p / (1 + e) allocated."""
    worst: dict[str, float] = {}
    for run in ran:
        worst[run["plan_id"]] = max(worst.get(run["plan_id"], 0.0), -run["mem_error_allocated"])
    return sorted(worst.values())


def _unreleased_share(runs: list[dict]) -> float:
    """The largest share of its cap an OOM run (with expandable segments) held reserved but unallocated."""
    held = [run["unreleased_bytes"] / _cap_bytes(run) for run in runs
            if run["unreleased_bytes"] is not None and not run["no_expandable_segments"]]
    assert len(held) >= 3
    return max(held)


def test_memory_margin_covers_nine_in_ten_under_predictions_and_the_unreleased_cache(runs, ran):
    under = _under_predictions(ran)
    assert len(under) >= 30
    p90 = under[math.ceil(0.9 * len(under)) - 1]
    assert DEFAULT_MEMORY_MARGIN_RATIO == _round_up_percent(p90 + _unreleased_share(runs))


def test_tie_tolerance_is_the_median_time_error_rounded_up(ran):
    errors = [abs(run["time_error"]) for run in ran]
    assert MODEL_TIME_ERROR_RATIO == _round_up_percent(statistics.median(errors))


def test_headroom_steps_are_the_fewest_that_cover_every_under_prediction(ran):
    """Beyond MAX_HEADROOM_STEPS margins more free memory buys no more safety: that many steps cover
    every measured under-prediction and one step fewer does not (mist_ds/api.py)."""
    # a plan under-predicted by e needs -e of its cap free (errors vs allocated: what decides OOM)
    needed = _under_predictions(ran)
    assert len(needed) >= 30 and needed[-1] > 0
    assert all(n <= MAX_HEADROOM_STEPS * DEFAULT_MEMORY_MARGIN_RATIO for n in needed)
    assert needed[-1] > (MAX_HEADROOM_STEPS - 1) * DEFAULT_MEMORY_MARGIN_RATIO


def test_margin_would_have_stopped_every_oom_predicted_to_fit(runs):
    """Every OOM run with expandable segments was predicted above cap x (1 - margin), so the search
    would not have emitted it. An OOM run predicted inside that bound (the llama-7b pp2 ZeRO-1 plan
    run without expandable segments: 18 GiB of fragmented cache at its failure; the same plan ran with
    them at 69.7 GiB allocated) is scored apart by the report, with its reason: not dropped here."""
    ooms = [run for run in runs if run["status"] == "oom"]
    inside = [run for run in ooms if max(m["predicted_bytes"] for m in run["memory"])
              <= _cap_bytes(run) * (1 - DEFAULT_MEMORY_MARGIN_RATIO)]
    assert len([run for run in ooms if not run["no_expandable_segments"]]) >= 3
    assert [run["name"] for run in inside if not run["no_expandable_segments"]] == []
    apart = json.loads(ACCURACY.read_text())["no_expandable_segments"]
    assert inside and all(run["name"] in apart for run in inside)
    assert all("without PYTORCH_CUDA_ALLOC_CONF=expandable_segments" in run["no_expandable_segments"]
               for run in inside)
