"""bench/accuracy/offload_share.py: the scored mistpipe runs' time error by optimizer offload share and node."""

from __future__ import annotations

import json

from bench.accuracy.offload_share import committed_share, offload_share, table
from bench.accuracy.report import RESULTS
from mist_ds.config import Plan

ACCURACY = RESULTS / "accuracy"


def _row(hardware, share, error, plan_id, family="mistpipe", status="ok", targeted=True):
    return {"hardware": hardware, "share": share, "time_error": error, "plan_id": plan_id, "family": family,
            "status": status, "targeted": targeted}


def test_a_plan_is_classed_by_the_optimizer_share_its_stages_offload():
    assert offload_share(Plan.load(ACCURACY / "h100-auto-g13-1g-c24-s2048-b32.plan.json")) == "partial"
    assert offload_share(Plan.load(ACCURACY / "h100n-auto-g13-1g-c16-s2048-b32.plan.json")) == "all"
    assert offload_share(Plan.load(ACCURACY / "h100n-auto-l321b-1g-c40-s8192-b8.plan.json")) == "none"


def test_the_table_counts_only_scored_mistpipe_runs_that_ran():
    rows = [_row("n", "partial", -0.04, "a"), _row("n", "partial", -0.02, "a"), _row("n", "all", 0.01, "b"),
            _row("n", "all", -0.50, "c", family="zero3"), _row("n", "all", None, "d", status="oom"),
            _row("n", "all", -0.40, "e", targeted=False)]
    lines = table(rows, lambda row: row["share"])
    assert len(lines) == 4  # header, rule, partial, all: the other family, the OOM and the untargeted run left out
    assert lines[2] == "| n | partial | 2 | 1 | -3.0% | 3.0% | -4.0% .. -2.0% | 2 of 2 |"
    assert lines[3] == "| n | all | 1 | 1 | +1.0% | 1.0% | +1.0% .. +1.0% | 0 of 1 |"


def test_the_committed_runs_all_land_in_one_row():
    runs = json.loads((RESULTS / "accuracy.json").read_text())["runs"]
    counted = [r for r in runs if r["family"] == "mistpipe" and r["status"] == "ok" and r["targeted"]]
    lines = table(runs, committed_share)
    assert counted and sum(int(line.split(" | ")[2]) for line in lines[2:]) == len(counted)
