"""The shipped track record (mist_ds/config/track_record.py) is what the committed runs give, and its
per-kind numbers are the suite's summary of those runs (bench/accuracy/track_record.py)."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

from bench.accuracy.report import scored
from bench.accuracy.scoring import Scored
from bench.accuracy.track_record import kind_record, track_record
from mist_ds.config.track_record import TRACK_RECORD_PATH, TrackRecord
from mist_ds.source_version import cost_model_digest

ROOT = Path(__file__).resolve().parents[2]


def _committed_rows() -> list[Scored]:
    runs = json.loads((ROOT / "bench" / "results" / "accuracy.json").read_text())["runs"]
    names = {f.name for f in fields(Scored)}
    return [Scored(**{k: v for k, v in run.items() if k in names}) for run in runs]


def _row(kind: str, status: str = "ok", time_error: float | None = 0.0, date: str = "2026-12-01",
         gpu: str = "NVIDIA H200", fit: bool = True, plan_id: str = "p1") -> Scored:
    return Scored(name="x", source="suite", plan_path="p", run_path="r", family=kind.split(",")[0], workload="w",
                  status=status, gpu_name=gpu, date=date, hardware="h200", same_plan=True, in_sample=(),
                  predicted_fit=fit, predicted_within_margin=fit, predicted_s=1.0,
                  measured_s=1.0 if status == "ok" else None, time_error=time_error if status == "ok" else None,
                  mem_error_allocated=0.01 if status == "ok" else None, kind=kind, plan_id=plan_id)


def test_the_shipped_record_is_what_the_committed_runs_give():
    # make accuracy rewrites both; a cost-model change committed without it fails here
    rows = scored(_committed_rows())
    assert TrackRecord.load(TRACK_RECORD_PATH) == track_record(rows)
    assert sum(r.runs for r in track_record(rows).kinds.values()) == sum(1 for r in rows if not r.in_sample)


def test_the_committed_accuracy_report_was_scored_by_this_cost_model():
    # a change under mist_ds/cost (even one that moves no prediction) is committed with `make accuracy`'s output
    data = json.loads((ROOT / "bench" / "results" / "accuracy.json").read_text())
    assert data["cost_model_digest"] == cost_model_digest(), "mist_ds/cost changed: run `make accuracy`"


def test_a_kind_counts_its_runs_signs_and_dates():
    rows = [_row("zero3, 1 GPU", time_error=e, date=d, plan_id=p)
            for e, d, p in ((-0.10, "2026-12-02", "a"), (0.02, "2026-11-30", "a"), (-0.04, "", "b"))]
    rows.append(_row("zero3, 1 GPU", status="oom", fit=True, gpu="NVIDIA H100", plan_id="c"))
    record = kind_record(rows)
    assert (record.runs, record.plans, record.ok, record.slower_than_predicted, record.oom_predicted_to_fit) == (
        4, 3, 3, 2, 1)   # a plan re-run counts once among the plans
    assert (record.time_median, record.time_max, record.time_median_signed) == (0.04, 0.10, -0.04)
    assert (record.first_date, record.last_date) == ("2026-11-30", "2026-12-02")
    assert record.gpus == ("NVIDIA H100", "NVIDIA H200")


def test_runs_that_fitted_a_term_are_left_out():
    held = _row("zero3, 1 GPU", time_error=-0.02)
    fitted = replace(_row("zero3, 1 GPU", time_error=-0.30), in_sample=("host_step_overhead_s",))
    only_fitted = replace(_row("zero1, 1 GPU", time_error=0.5), in_sample=("host_step_overhead_s",))
    kinds = track_record([held, fitted, only_fitted]).kinds
    assert set(kinds) == {"zero3, 1 GPU"} and (kinds["zero3, 1 GPU"].runs, kinds["zero3, 1 GPU"].time_max) == (1, 0.02)


def test_kinds_are_kept_apart():
    rows = [_row("zero3, 1 GPU", time_error=-0.1), _row("zero3, multi-GPU", time_error=0.3)]
    kinds = track_record(rows).kinds
    assert kinds["zero3, 1 GPU"].time_max == 0.1 and kinds["zero3, multi-GPU"].time_max == 0.3


def test_a_kind_with_only_out_of_memory_runs_has_no_time_error():
    record = kind_record([_row("zero1, 1 GPU", status="oom", fit=False)])
    assert (record.ok, record.time_median, record.oom_predicted_to_fit) == (0, None, 0)


def _timed(plan_id: str, measured: float, predicted: float = 1.0) -> Scored:
    return replace(_row("zero0, 1 GPU", plan_id=plan_id), measured_s=measured, predicted_s=predicted,
                   time_error=(predicted - measured) / measured)


def test_weighted_quantile_takes_the_first_value_whose_cumulative_weight_reaches_q():
    from bench.accuracy.track_record import weighted_quantile

    assert weighted_quantile([3.0, 1.0, 2.0], [1, 1, 1], 0.5) == 2.0
    assert weighted_quantile([1.0, 2.0], [9, 1], 0.9) == 1.0   # 0.9 of the weight sits on 1.0
    assert weighted_quantile([1.0, 2.0], [8, 2], 0.9) == 2.0


def test_the_time_range_needs_three_plans_and_takes_percentiles_from_ten():
    from bench.accuracy.track_record import time_ratio_range

    two = [_timed("a", 1.1), _timed("a", 1.2), _timed("b", 0.9)]
    assert time_ratio_range(two) == (None, None, "")
    three = [*two, _timed("c", 1.0, predicted=2.0)]   # ratios are measured / predicted
    assert time_ratio_range(three) == (0.5, 1.2, "min-max")
    # ten plans at 0.91..1.00, plus one plan re-run ten times at 2.0: it weighs as one plan of eleven (its
    # ten runs would be half the runs), so the 90th percentile stays at 1.00; the 10th is the second plan's
    many = [_timed(f"p{i}", 0.9 + 0.01 * (i + 1)) for i in range(10)] + [_timed("slow", 2.0) for _ in range(10)]
    low, high, span = time_ratio_range(many)
    assert span == "p10-p90" and abs(low - 0.92) < 1e-9 and abs(high - 1.0) < 1e-9
    assert kind_record(many).time_ratio_high == high


def test_each_plan_left_out_is_checked_against_the_others_range():
    from bench.accuracy.track_record import left_out_check

    # four plans at 1.0, 1.1, 1.2 and 1.5 (the last run twice, at 1.4 and 1.6)
    rows = [_timed("a", 1.0), _timed("b", 1.1), _timed("c", 1.2), _timed("d", 1.4), _timed("d", 1.6)]
    # left out: a (others 1.1-1.6) out; b (1.0-1.6) in; c in; d (others 1.0-1.2) out, both runs
    assert left_out_check(rows) == (4, 2, 5, 2)
    assert left_out_check(rows[:3]) == (0, 0, 0, 0)   # two plans left give no range
