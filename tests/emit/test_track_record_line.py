"""autotune's, predict's and report.md's sentence on how well plans of the winner's kind were predicted
(mist_ds/emit/report.py track_record_line, mist_ds/config/track_record.py)."""

from __future__ import annotations

import json
from pathlib import Path

from mist_ds.config import Plan
from mist_ds.config.plan_kind import plan_kind
from mist_ds.config.track_record import KindRecord, TrackRecord, shipped_track_record
from mist_ds.emit.report import track_record_line
from mist_ds.predict import main as predict_main

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"
PLAN = ACCURACY / "l27-1g-c40-s2048-z3-off1-mb2-blk.plan.json"     # zero3-offload (whole-block fetch), 1 GPU
KIND = "zero3-offload (whole-block fetch), 1 GPU"


def _record(**changes) -> KindRecord:
    fields = dict(runs=5, plans=2, ok=4, time_median=0.031, time_max=0.12, time_median_signed=-0.02,
                  slower_than_predicted=3, allocated_median=0.004, allocated_max=0.02, oom_predicted_to_fit=0,
                  gpus=("NVIDIA H200",), first_date="2026-11-30", last_date="2026-12-04")
    return KindRecord(**{**fields, **changes})


def test_a_kind_with_runs_gets_their_errors():
    plan = Plan.load(PLAN)
    line = track_record_line(plan, TrackRecord(source="s", kinds={plan_kind(plan): _record()}))
    assert line == (f"Track record of {KIND} plans: 5 GPU runs of 2 plans (NVIDIA H200, 2026-11-30 .. 2026-12-04), "
                    "held out of every fit, re-predicted by this cost model: time off by 3.1% (median), 12.0% at "
                    "most, 3 of 4 slower than "
                    "predicted; peak memory (allocated) off by 0.4% (median), 2.0% at most "
                    "(bench/results/accuracy.md).")


def test_out_of_memory_runs_predicted_to_fit_are_named():
    plan = Plan.load(PLAN)
    line = track_record_line(plan, TrackRecord(source="s", kinds={plan_kind(plan): _record(oom_predicted_to_fit=2)}))
    assert "; 2 ran out of memory although predicted to fit (bench" in line


def test_an_unrun_kind_says_its_prediction_is_untested():
    line = track_record_line(Plan.load(PLAN), TrackRecord(source="s", kinds={}))
    assert line.startswith(f"Track record of {KIND} plans: none has run on a GPU yet")


def test_predict_quotes_the_shipped_record(capsys):
    assert plan_kind(Plan.load(PLAN)) in shipped_track_record().kinds
    assert predict_main([str(PLAN), "--hardware", "h200-1gpu-node"]) == 0
    assert f"Track record of {KIND} plans: " in capsys.readouterr().out
    assert predict_main([str(PLAN), "--hardware", "h200-1gpu-node", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)["track_record"]
    assert record["kind"] == KIND
    assert record["record"] == shipped_track_record().kinds[record["kind"]].model_dump(mode="json")


def test_compare_sets_a_runs_error_beside_its_kinds_record(capsys):
    from mist_ds.compare import main as compare_main, track_record_note

    track = {"kind": "zero3, 1 GPU", "record": _record().model_dump(mode="json")}
    assert track_record_note(track, -0.05) == ("track record of zero3, 1 GPU plans: 4 held-out runs of 2 plans were off "
                                              "by 3.1% (median), 12.0% at most; this run's -5.0% is within that")
    assert track_record_note(track, 0.2).endswith("this run's +20.0% is beyond that")
    assert track_record_note(track, None).endswith("12.0% at most")
    ranged = {"kind": "zero3, 1 GPU", "record": _record(time_ratio_low=0.9, time_ratio_high=1.1,
                                                        time_ratio_span="min-max").model_dump(mode="json")}
    # error -0.05: measured = predicted / 0.95, 1.05x the prediction
    assert track_record_note(ranged, -0.05).endswith(
        "this run's -5.0% is within that; it took 1.05x its prediction, inside the expected 0.90-1.10x")
    assert track_record_note(ranged, -0.2).endswith("it took 1.25x its prediction, outside the expected 0.90-1.10x")
    assert track_record_note(ranged, -0.2, ranged=False).endswith("this run's -20.0% is beyond that")
    assert track_record_note({"kind": "zero3, 1 GPU", "record": None}, 0.1) == (
        "track record of zero3, 1 GPU plans: none has run on a GPU yet (bench/results/accuracy.md)")
    run = PLAN.with_name(PLAN.name.replace(".plan.json", ".run.json"))
    assert compare_main([str(PLAN), str(run)]) == 0
    assert f"track record of {KIND} plans: " in capsys.readouterr().out.splitlines()[-1]
    assert compare_main([str(PLAN), str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["track_record"]["kind"] == KIND


def test_the_top_plans_tables_carry_the_short_form():
    from mist_ds.emit.report import track_record_cell

    plan = Plan.load(PLAN)
    assert track_record_cell(plan, TrackRecord(source="s", kinds={KIND: _record()})) == "3%/12% (4)"
    assert track_record_cell(plan, TrackRecord(source="s", kinds={})) == "none run"
    only_oom = _record(ok=0, time_median=None, time_max=None, allocated_median=None, allocated_max=None)
    assert track_record_cell(plan, TrackRecord(source="s", kinds={KIND: only_oom})) == "none trained (5)"


def test_the_expected_time_scales_the_prediction_by_the_kind_s_range():
    from mist_ds.config.track_record import expected_time_range_s
    from mist_ds.cost import predict_plan
    from mist_ds.config.profiles import load_hardware
    from mist_ds.emit.report import expected_time_line

    bare, hw = Plan.load(PLAN), load_hardware("h200-1gpu-node")
    plan = bare.model_copy(update={"prediction": predict_plan(bare.without_prediction(), hw)})
    t = plan.prediction.iteration_time_s
    ranged = TrackRecord(source="s", kinds={KIND: _record(plans=12, ok=20, time_ratio_low=0.95, time_ratio_high=1.10,
                                                         time_ratio_span="p10-p90")})
    low, high = expected_time_range_s(plan, hw, ranged)
    assert abs(low - 0.95 * t) < 1e-12 and abs(high - 1.10 * t) < 1e-12
    assert expected_time_line(plan, hw, ranged) == (
        f"Expect {0.95 * t:.3g}-{1.10 * t:.3g} s/iter: the held-out runs of {KIND} plans took 0.95-1.10x their "
        "predictions (10th-90th percentile of 20 runs of 12 plans, each plan weighted equally).")
    few = TrackRecord(source="s", kinds={KIND: _record(plans=3, ok=4, time_ratio_low=0.9, time_ratio_high=1.2,
                                                      time_ratio_span="min-max")})
    assert "(the whole range of 4 runs of 3 plans)" in expected_time_line(plan, hw, few)
    assert expected_time_range_s(plan, hw, TrackRecord(source="s", kinds={KIND: _record()})) is None  # no range
    assert expected_time_line(plan, hw, TrackRecord(source="s", kinds={})) is None                   # no record
    assert expected_time_range_s(bare.without_prediction(), hw, ranged) is None                 # no prediction
    # an uncalibrated profile (no host-thread terms): the record's runs say nothing of its predictions
    assert expected_time_range_s(plan, load_hardware("h100-sxm-80gb"), ranged) is None


def test_predict_json_and_text_carry_the_expected_time():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert predict_main([str(PLAN), "--json"]) == 0
    result = json.loads(out.getvalue())
    record = shipped_track_record().kinds[KIND]
    low, high = result["expected_time_range_s"]
    assert abs(low - record.time_ratio_low * result["iteration_time_s"]) < 1e-9
    assert abs(high - record.time_ratio_high * result["iteration_time_s"]) < 1e-9
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert predict_main([str(PLAN)]) == 0
    assert f"Expect {low:.3g}-{high:.3g} s/iter: the held-out runs of {KIND} plans" in out.getvalue()


def test_autotune_json_gives_each_plan_its_expected_time(capsys):
    from mist_ds.autotune import main as autotune_main
    from mist_ds.config.profiles import load_hardware
    from mist_ds.config.track_record import expected_time_range_s

    flags = ["--model", "llama-1.3b", "--gpus-per-node", "1", "--seq-len", "2048", "--global-batch", "8", "--json",
             "--hardware", "h200-1gpu-node"]
    assert autotune_main(flags) == 0
    plans = json.loads(capsys.readouterr().out)["plans"]
    for summary in plans:
        plan = Plan.from_json_text(json.dumps(summary["plan"]))
        expected = expected_time_range_s(plan, load_hardware("h200-1gpu-node"))
        assert summary["expected_time_range_s"] == (None if expected is None else list(expected))
    assert any(summary["expected_time_range_s"] for summary in plans)
