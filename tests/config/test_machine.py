"""config/machine.py: a profile made to the running machine's measured both-ways copies, and what it
changes downstream (the optimizer path the engine runs, the run's prediction in the accuracy report)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mist_ds.config import Plan, RunReport
from mist_ds.config.hw_lookup import interference_slowdowns
from mist_ds.config.machine import with_copy_slowdowns
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.mistpipe_step import stage_optimizer_paths
from mist_ds.cost.plan_predict import predict_plan

ROOT = Path(__file__).resolve().parents[2]
SWAP_PLAN = ROOT / "bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.plan.json"
SLOW_PAIR = (1.601, 1.694)  # bench/results/runtime/h100_machines_S54/pcie_share_60m_S54-1.json: alone / both


@pytest.fixture(scope="module")
def node():
    return load_hardware("h100-1gpu-node")


def test_the_pair_is_replaced_and_the_triple_follows_it(node):
    machine = with_copy_slowdowns(node, *SLOW_PAIR)
    assert interference_slowdowns(machine, ["h2d", "d2h"]) == {"h2d": 1.601, "d2h": 1.694}
    old_pair = interference_slowdowns(node, ["h2d", "d2h"])
    old, new = (interference_slowdowns(p, ["compute", "h2d", "d2h"]) for p in (node, machine))
    assert new["compute"] == old["compute"]
    for channel, measured in zip(("h2d", "d2h"), SLOW_PAIR):
        assert new[channel] == pytest.approx(old[channel] * measured / old_pair[channel])
    assert interference_slowdowns(machine, ["compute", "h2d"]) == interference_slowdowns(node, ["compute", "h2d"])
    assert len(machine.interference) == len(node.interference)
    assert node.interference != machine.interference  # the shipped profile is untouched


def test_a_profile_without_the_pair_gains_it_and_slowdowns_stay_at_least_one(node):
    bare = node.model_copy(update={"interference": ()})
    machine = with_copy_slowdowns(bare, 0.97, 1.2)
    assert interference_slowdowns(machine, ["h2d", "d2h"]) == {"h2d": 1.0, "d2h": 1.2}


def test_a_slow_machine_prices_the_host_adam_faster_for_the_swap_winner(node):
    plan = Plan.load(SWAP_PLAN)
    assert [path for path, _ in stage_optimizer_paths(plan, node)] == ["gpu_swap"]
    assert [path for path, _ in stage_optimizer_paths(plan, with_copy_slowdowns(node, *SLOW_PAIR))] == ["cpu_adam"]


def test_a_run_that_measured_its_machine_is_priced_on_it(node):
    plan = Plan.load(SWAP_PLAN).without_prediction()
    run = RunReport.load(ROOT / "bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.run.json")
    probed = run.model_copy(update={"copy_slowdowns": SLOW_PAIR})
    plain, machine = RunConditions.of_run(plan, run), RunConditions.of_run(plan, probed)
    assert plain.copy_slowdowns is None and machine.copy_slowdowns == SLOW_PAIR
    slow = predict_plan(plan, node, machine).iteration_time_s
    assert slow == predict_plan(plan, with_copy_slowdowns(node, *SLOW_PAIR), plain).iteration_time_s
    assert slow > predict_plan(plan, node, plain).iteration_time_s


@pytest.mark.parametrize("pair", [(1.5,), (1.2, 1.1, 1.0), (0.0, 1.2)])
def test_a_run_report_holds_a_pair_of_positive_slowdowns_or_none(pair):
    run = RunReport.load(ROOT / "bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.run.json")
    with pytest.raises(ValueError, match="copy_slowdowns"):
        RunReport.model_validate(run.model_dump() | {"copy_slowdowns": pair})


def test_compare_says_it_priced_the_run_on_its_machine():
    from mist_ds.compare import prediction_for

    plan = Plan.load(SWAP_PLAN)
    run = RunReport.load(ROOT / "bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.run.json")
    probed = run.model_copy(update={"copy_slowdowns": SLOW_PAIR})
    (plain, plain_source), (slow, slow_source) = (prediction_for(plan, r, None, False) for r in (run, probed))
    assert "both-ways" not in plain_source and "h2d x1.60, d2h x1.69" in slow_source
    assert slow.iteration_time_s > plain.iteration_time_s
