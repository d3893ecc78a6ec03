"""bench/accuracy/writeback_rate.py: the pageable write-back rate implied by measured optimizer steps (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.accuracy.writeback_rate import PLANS, main, plan_rate, writes_back
from mist_ds.config import Plan

OFF1 = "g13-1g-c24-s2048-z3-off1-mb2-blk"
WEIGHTS_ON_HOST = "g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk"


def _phases(folder: Path, case: str, optimizer_steps: list[float]) -> Path:
    """A phase_train.py rank file: two warm-up steps, then one step per optimizer-step time given."""
    steps = [[{"forward": 0.05, "backward": 0.1, "step": 0.0}, {"forward": 0.05, "backward": 0.2, "step": s}]
             for s in [9.0, 9.0, *optimizer_steps]]
    path = folder / case / "rank0.phases.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"rank": 0, "steps": steps}))
    return path


def test_the_rate_is_the_bytes_over_the_step_less_the_other_terms():
    plan = Plan.load(PLANS / f"{OFF1}.plan.json")
    probe = plan_rate(plan, "h200-1gpu-node", [10.0])
    nbytes, others = probe["bytes"], probe["others_s"]
    assert 0 < others < 1.0 and nbytes > 1e9          # CPU Adam of 1.3B elements; 16-bit weights back
    steps = [others + nbytes / 5e9, others + nbytes / 4e9, others + nbytes / 3e9]
    assert plan_rate(plan, "h200-1gpu-node", steps)["rate_gbps"] == pytest.approx(4.0)


def test_plans_with_the_weights_on_the_host_write_nothing_back():
    assert writes_back(Plan.load(PLANS / f"{OFF1}.plan.json"), "h200-1gpu-node")
    assert not writes_back(Plan.load(PLANS / f"{WEIGHTS_ON_HOST}.plan.json"), "h200-1gpu-node")


def test_cli_reports_the_median_and_skips_plans_without_write_back(tmp_path, capsys):
    others = plan_rate(Plan.load(PLANS / f"{OFF1}.plan.json"), "h200-1gpu-node", [10.0])
    step = others["others_s"] + others["bytes"] / 3.5e9
    paths = [_phases(tmp_path, OFF1, [step] * 3), _phases(tmp_path, WEIGHTS_ON_HOST, [0.5] * 3)]
    assert main([str(p) for p in paths]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "median of 1 plans: 3.500 GB/s" in out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "no-such-case" / "rank0.phases.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    short = _phases(tmp_path, OFF1, [0.01])                 # shorter than CPU Adam alone
    assert main([str(short)]) == 2
