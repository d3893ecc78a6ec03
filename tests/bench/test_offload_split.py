"""bench/accuracy/offload_split.py: the cost model patched in-process (the boundary's hidden share, a node's coupling
and ZeRO-3 micro-batch term), restored afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy import offload_split, scoring
from mist_ds.cli import exit_code
from mist_ds.config import Plan
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.plan_predict import predict_plan

ROOT = Path(__file__).resolve().parents[2]
# llama-7b, ZeRO-3 with half the optimizer offloaded, micro-batch 4: its backward leaves the boundary slack
PLAN = ROOT / "bench/results/accuracy/h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk.plan.json"


def predicted(hw_name: str = "h100-1gpu-node") -> tuple[float, float]:
    """(iteration time, stage 0's step time) of PLAN on the named profile, the profile read as scoring reads it."""
    prediction = predict_plan(Plan.load(PLAN), scoring.load_hardware(hw_name), RunConditions())
    return prediction.iteration_time_s, prediction.stages[0].step_s


def test_no_patch_leaves_the_model_as_it_is():
    before = predicted()
    with offload_split.patched():
        assert predicted() == pytest.approx(before, rel=1e-12)


def test_a_nodes_coupling_at_zero_shortens_only_that_nodes_micro_batches():
    h100, h200 = predicted("h100-1gpu-node"), predicted("h200-1gpu-node")
    with offload_split.patched(coupling={"h100-1gpu-node": 0.0}):
        assert predicted("h100-1gpu-node")[0] < h100[0]
        assert predicted("h100-1gpu-node")[1] == pytest.approx(h100[1])
        assert predicted("h200-1gpu-node") == pytest.approx(h200, rel=1e-12)
    assert predicted("h100-1gpu-node") == pytest.approx(h100, rel=1e-12)


def test_hiding_less_of_the_slack_lengthens_the_step():
    iteration, step = predicted()
    with offload_split.patched(hidden=0.0):
        assert predicted()[1] > step + 0.1 and predicted()[0] > iteration + 0.1


def test_a_nodes_zero3_micro_batch_term_is_set_on_its_profile_only():
    with offload_split.patched(zero3_microbatch={"h100-1gpu-node": 0.5}):
        assert scoring.load_hardware("h100-1gpu-node").zero3_microbatch_s == 0.5
        assert scoring.load_hardware("h200-1gpu-node") == load_hardware("h200-1gpu-node")
    assert scoring.load_hardware("h100-1gpu-node") == load_hardware("h100-1gpu-node")


def test_bad_arguments_are_one_line_exit_2(capsys):
    assert exit_code(offload_split.main, ["--coupling", "h100-1gpu-node"]) == 2
    assert exit_code(offload_split.main, ["--zero3-microbatch", "=0.1"]) == 2
    assert exit_code(offload_split.main, ["--boundary-hidden", "1.5"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("bench/accuracy/offload_split.py: ") for line in lines)
