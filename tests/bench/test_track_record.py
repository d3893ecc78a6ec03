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
