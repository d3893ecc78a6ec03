"""The accuracy catalogue: coverage the issue asks for, knobs <-> Plan round trip, committed plans in
sync, and batches sized to one ~9-minute GPU call."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.accuracy import generate
from bench.accuracy.cases import BATCHES, CASES, AutotuneCase, Case, family, workload
from bench.accuracy.jobs import estimate_batch_s, make_job
from bench.accuracy.schema import Knobs, knobs_of, to_plan
from mist_ds.config import get_preset

KNOB_CASES = [c for c in CASES.values() if isinstance(c, Case)]
BUILD_ALLOWANCE_S = 60.0   # FusedAdam + CPUAdam JIT builds on a cold machine
BUDGET_S = 500.0
BUNDLES = Path(generate.RESULTS) / "bundles"


def test_catalogue_covers_what_the_issue_asks_for():
    assert len(CASES) >= 40
    models = {c.knobs.model for c in KNOB_CASES}
    assert len(models) >= 4 and {get_preset(m).family for m in models} == {"gpt", "llama"}
    assert any(get_preset(m).num_kv_heads < get_preset(m).num_heads for m in models)  # GQA
    assert {c.knobs.num_gpus for c in KNOB_CASES} == {1, 2}
    assert {78, 40, 24} <= {c.knobs.cap_gib for c in KNOB_CASES}
    families = {family(c.knobs) for c in KNOB_CASES}
    assert {"zero0", "zero1", "zero2", "zero3", "pipeline", "tensor-parallel", "zero12-offload",
            "zero3-offload", "weight-offload", "activation-offload"} <= families
    ratios = {c.knobs.offload_optimizer for c in KNOB_CASES if family(c.knobs) == "zero3-offload"}
    assert {0.5, 1.0} <= ratios
    assert {c.knobs.zero for c in KNOB_CASES if family(c.knobs) == "zero12-offload"} == {1, 2}
    assert any(len(set(c.knobs.layers)) > 1 for c in KNOB_CASES if c.knobs.pp > 1)  # uneven splits
    assert any(isinstance(c, AutotuneCase) for c in CASES.values())


@pytest.mark.parametrize("case", KNOB_CASES, ids=[c.name for c in KNOB_CASES])
def test_knobs_round_trip_through_the_plan(case):
    plan = to_plan(case.knobs)
    back = knobs_of(plan)
    assert to_plan(back) == plan
    assert family(back) == family(case.knobs) and workload(back) == workload(case.knobs)


def test_inconsistent_knobs_are_one_line_errors():
    base = dict(model="gpt-1.3b", num_gpus=2, cap_gib=40, seq_len=1024, global_batch=8, micro_batch=1, zero=1)
    with pytest.raises(ValueError, match="GPUs"):
        to_plan(Knobs(**base, dp=1))
    with pytest.raises(ValueError, match="multiple"):
        to_plan(Knobs(**{**base, "global_batch": 7}, dp=2))


def test_activation_offload_counts_become_the_runtime_layers():
    from mist_ds.runtime.model import block_roles

    knobs = CASES["l7-2g-c78-z3-mb1-rc16-act16"].knobs
    stage = to_plan(knobs).stages[0]
    roles = block_roles(stage.layer_start, stage.layer_end, stage.num_recompute_layers,
                        stage.num_offloaded_layers)
    assert list(roles.values()).count("offload") == 16 and list(roles.values()).count("recompute") == 16


def test_committed_plans_match_the_catalogue():
    assert generate.main(["--check"]) == 0


def measured_call_s(name: str) -> float | None:
    """Seconds the shortest committed bundle of batch `name` took (its runner's own count, op builds
    included), when that bundle ran every case the batch now holds; None when none did."""
    cases = {c.name for c in BATCHES[name]}
    times = []
    for path in BUNDLES.glob(f"{name}_*.json"):
        bundle = json.loads(path.read_text())
        if cases <= {run["case"] for run in bundle.get("runs", [])}:
            times.append(bundle["elapsed_s"])
    return min(times, default=None)


@pytest.mark.parametrize("name", list(BATCHES))
def test_each_batch_fits_one_gpu_call(name):
    """A batch that ran whole in one call is measured; any other is estimated (bench/accuracy/jobs.py)."""
    measured = measured_call_s(name)
    if measured is not None:
        assert measured <= BUDGET_S
        return
    jobs = [make_job(c.name, generate.plan_path(c.name)) for c in BATCHES[name]]
    assert estimate_batch_s(jobs, 2) + BUILD_ALLOWANCE_S <= BUDGET_S


def test_every_case_is_in_exactly_one_batch():
    names = [c.name for batch in BATCHES.values() for c in batch]
    assert len(names) == len(set(names)) == len(CASES)


def test_a_mistpipe_plan_is_its_own_family_and_round_trips():
    from mist_ds.config import Plan

    plan = Plan.load(Path(__file__).resolve().parents[2] / "bench/results/engine/executor_compare_llama13b_2gpu_b/mistpipe.plan.json")
    knobs = knobs_of(plan)
    assert knobs.executor == "mistpipe" and family(knobs) == "mistpipe"
    # as a stock plan (DeepSpeed offloads gradients with the optimizer states)
    assert family(knobs_of(to_plan(replace(knobs, executor="deepspeed", offload_gradients=None)))) == "zero3-offload"
    assert to_plan(knobs).executor == "mistpipe"


def test_an_autotune_case_is_searched_on_the_profile_it_names(monkeypatch):
    """generate.py's --hardware sets the stored prediction of hand-set plans only: a 1-GPU-node case's winner
    depends on that node's host memory and cores (session 41: searched on h200, Llama 3.2 3B at seq 16384 came
    out as stock weight offload instead of the node's mistpipe winner)."""
    from mist_ds.config.profiles import load_hardware

    searched = []
    monkeypatch.setattr(generate, "autotune_plan", lambda case, hw: searched.append(hw.name) or case.name)
    case = CASES["auto-l323b-1g-c78-s16384-b8"]
    assert case.hardware == "h200-1gpu-node"
    assert generate.build(case, load_hardware("h200")) == case.name
    assert searched == ["h200-1gpu-node"]
