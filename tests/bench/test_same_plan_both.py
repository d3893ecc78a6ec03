"""bench/engine/same_plan_both.py: one plan written for both executors, with a jobs file that runs them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from mist_ds.config import Plan

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("same_plan_both", ROOT / "bench" / "engine" / "same_plan_both.py")
same_plan_both = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(same_plan_both)
PLAN = ROOT / "bench/results/plan_quality/llama7b-2g-c78-s4096-b32.plan.json"


def test_the_same_layout_is_written_for_each_executor(tmp_path):
    assert same_plan_both.main([str(PLAN), "--out", str(tmp_path), "--steps", "3"]) == 0
    stock, mistpipe = (Plan.load(tmp_path / f"{e}.plan.json") for e in ("deepspeed", "mistpipe"))
    assert (stock.executor, mistpipe.executor) == ("deepspeed", "mistpipe")
    same = lambda p: p.without_prediction().model_copy(update={"executor": "x"})  # noqa: E731
    assert same(stock) == same(mistpipe)
    assert "mistpipe" in json.loads((tmp_path / "mistpipe.ds_config.json").read_text())
    assert "mistpipe" not in json.loads((tmp_path / "deepspeed.ds_config.json").read_text())
    jobs = json.loads((tmp_path / "jobs.json").read_text())
    assert [job["name"] for job in jobs] == ["deepspeed", "mistpipe"] and all(job["steps"] == 3 for job in jobs)
    assert jobs[1]["train_args"] == ["--ds-config", str(tmp_path / "mistpipe.ds_config.json")]


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert same_plan_both.main([str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
