"""parity.py unpack rebuilds a plan whose plans/ file did not come back with the bundle, and commits
it only when it is the plan that ran (same plan_hash as the mist_ds run)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.runtime.parity import CONFIGS, Workload, make_plan, rebuilt_plan
from bench.runtime.parity_report import _rebuilt_plan
from mist_ds.config import RunReport
from mist_ds.config.plan import plan_file_hashes

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT / "bench" / "results" / "runtime" / "parity"
BUNDLE = PARITY / "parity_h200x2_2026-11-30.bundle.json"


def test_the_committed_parity_plans_are_the_plans_that_ran():
    bundle = json.loads(BUNDLE.read_text())
    ran = [pair for pair in bundle["pairs"] if (pair.get("mist_ds") or {}).get("result")]
    assert {pair["config"]["name"] for pair in ran} == {"zero3-rc", "zero1", "pp2"}
    for pair in ran:
        name = pair["config"]["name"]
        run = RunReport.load(PARITY / f"{name}.mist.run.json")
        assert rebuilt_plan(pair).without_prediction().content_hash() == run.plan_hash
        assert run.plan_hash in plan_file_hashes(PARITY / f"{name}.plan.json")


def test_a_rebuilt_plan_that_did_not_run_is_not_written(tmp_path):
    other = make_plan(Workload(), CONFIGS["zero2"])
    run = json.loads((PARITY / "zero1.mist.run.json").read_text())
    lines = _rebuilt_plan(other, run, tmp_path / "zero1.plan.json")
    assert "not written" in lines[0] and not (tmp_path / "zero1.plan.json").exists()
    lines = _rebuilt_plan(make_plan(Workload(), CONFIGS["zero1"]), run, tmp_path / "zero1.plan.json")
    assert "rebuilt" in lines[0] and (tmp_path / "zero1.plan.json").exists()
