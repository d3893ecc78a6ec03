"""Repeated measurements of suite plans (bench/accuracy/repeats.py): committing a bundle's runs beside
the suite's plans, refusing runs of another plan, and the spread table the report prints."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bench.accuracy import repeats
from bench.accuracy.scoring import score
from mist_ds.config import RunReport
from tests.bench.test_accuracy_report import write_pair

NAME = "l7-2g-c78-z3-mb2-rc32"


def bundle_of(tmp_path, time_s: float, plan_hash: str | None = None) -> dict:
    run = RunReport.load(tmp_path / f"{NAME}.run.json").model_dump(mode="json")
    run["median_iteration_time_s"] = time_s
    if plan_hash:
        run["plan_hash"] = plan_hash
    return {"batch": "b", "runs": [{"case": NAME, "report": run}]}


def test_add_writes_a_labelled_repeat_and_refuses_another_plans_run(tmp_path):
    write_pair(tmp_path, NAME)
    (tmp_path / "b.json").write_text(json.dumps(bundle_of(tmp_path, 2.0)))
    lines = repeats.add(tmp_path / "b.json", "S9-1", suite=tmp_path)
    assert lines[0].startswith("wrote") and (tmp_path / "repeats" / f"{NAME}.S9-1.run.json").exists()
    assert (tmp_path / "repeats" / "bundles" / "S9-1.json").exists()
    (tmp_path / "c.json").write_text(json.dumps(bundle_of(tmp_path, 2.0, plan_hash="0" * 16)))
    assert repeats.add(tmp_path / "c.json", "S9-2", suite=tmp_path)[0].startswith("refused")
    assert not (tmp_path / "repeats" / f"{NAME}.S9-2.run.json").exists()
    [(label, plan, run)] = repeats.repeat_pairs(tmp_path)
    assert label == f"repeat:{NAME}.S9-1" and plan == tmp_path / f"{NAME}.plan.json"


def test_spread_groups_a_plans_runs_and_scores_the_median(tmp_path):
    pair = write_pair(tmp_path, NAME, time_scale=1.0)
    predicted = pair["pred"].iteration_time_s
    for label, scale in (("a", 1.2), ("b", 1.5)):
        (tmp_path / f"{label}.json").write_text(json.dumps(bundle_of(tmp_path, predicted * scale)))
        repeats.add(tmp_path / f"{label}.json", label, suite=tmp_path)
    rows = [score(name, "suite", plan, run, (), {}) for name, plan, run in
            [(NAME, tmp_path / f"{NAME}.plan.json", tmp_path / f"{NAME}.run.json")] + repeats.repeat_pairs(tmp_path)]
    table = repeats.spread_rows(rows)
    assert len(table) == 3   # header, rule, one plan
    cells = [c.strip() for c in table[2].split("|")]
    assert cells[2] == "eager" and cells[4] == "50.0%"          # 1.5 / 1.0 - 1
    assert cells[6] == f"{1 / 1.2 - 1:+.1%}"                    # against the median, 1.2x the prediction
    # 1.0 / 1.2 / 1.5: the best single prediction, 2 x 1.5 / 2.5 = 1.2, is 20% off both ends
    assert repeats.best_max_error([1.0, 1.2, 1.5]) == pytest.approx(0.2)
    summary = repeats.spread_summary(rows, 0.10)
    assert "Of 1 plan and kernel-set groups" in summary and ", 1 spread so far" in summary and "20.0%" in summary
    assert ", 0 spread so far" in repeats.spread_summary(rows, 0.25)
    # a run that wrote back on the device (runtime/writeback_cast.py) is its own group: the rest still make one
    apart = rows[:2] + [replace(rows[2], writeback_cast="device")]
    assert len(repeats.spread_rows(apart)) == 3 and "+ writeback device" not in repeats.spread_rows(apart)[2]
    apart.append(replace(rows[0], writeback_cast="device"))
    assert sum("+ writeback device" in line for line in repeats.spread_rows(apart)) == 1


@pytest.mark.parametrize("kernels, cls", [("not recorded", "eager"),
                                          ("norm torch, activation torch, rope none, attention sdpa, loss chunked", "eager"),
                                          ("norm torch, activation compile, rope compile, attention sdpa, loss liger",
                                           "norm torch, activation compile, rope compile, attention sdpa, loss liger")])
def test_kernel_class(kernels, cls):
    assert repeats.kernel_class(kernels) == cls


def test_a_repeat_without_recorded_cores_takes_its_bundles_node(tmp_path):
    """A run that predates RunReport.host_cpu_cores is scored on the node kind of the call it came from
    (its bundle's cpu_count), whatever machine files lie in the repeats folder."""
    write_pair(tmp_path, NAME)
    bundle = bundle_of(tmp_path, 2.0) | {"machine": {"cpu_count": 16}}
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    repeats.add(tmp_path / "b.json", "S9-1", suite=tmp_path)
    (tmp_path / "repeats" / "machine_S9-9.txt").write_text("NVIDIA H200\n32\n")  # another call's file
    run_path = tmp_path / "repeats" / f"{NAME}.S9-1.run.json"
    row = score("r", "repeat", tmp_path / f"{NAME}.plan.json", run_path, (), {})
    assert row.hardware == "h200-1gpu-node"
    bundle["machine"]["cpu_count"] = 32
    (tmp_path / "repeats" / "bundles" / "S9-1.json").write_text(json.dumps(bundle))
    assert score("r", "repeat", tmp_path / f"{NAME}.plan.json", run_path, (), {}).hardware == "h200"
