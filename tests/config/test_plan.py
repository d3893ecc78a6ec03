"""Plan (schema version 2) validation, JSON round trips, and reading version-1 files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from mist_ds.config import Plan, RunReport, get_preset
from mist_ds.config.plan import MemoryStrategy, StagePlan
from mist_ds.config.plan_v1 import version_1_hash
from tests.helpers import make_plan

ROOT = Path(__file__).resolve().parents[2]
GPT = get_preset("gpt-1.3b")


def _plan(stages, **kw) -> Plan:
    return make_plan(GPT, stages, global_batch=32, seq_len=2048, **kw)


def test_valid_pipeline_plan_round_trips_byte_identically() -> None:
    plan = _plan([{"end": 13, "num_recompute_layers": 5}, {"end": 24, "num_offloaded_layers": 3}])
    text = plan.to_json()
    again = Plan.from_json_text(text)
    assert again == plan
    assert again.to_json() == text
    assert hash(again) == hash(plan)
    assert again.content_hash() == plan.content_hash()
    assert json.loads(text)["schema_version"] == 2


def test_layer_ranges_must_cover_model() -> None:
    with pytest.raises(ValidationError, match="has 24 layers"):
        _plan([{"end": 12}, {"end": 20}])
    stages = (StagePlan(layer_start=0, layer_end=12), StagePlan(layer_start=13, layer_end=24))
    with pytest.raises(ValidationError, match="cover"):
        _plan([{"end": 24}]).model_validate({**_plan([{"end": 24}]).model_dump(), "stages": stages})


def test_batch_must_divide() -> None:
    with pytest.raises(ValidationError, match="!= global batch 32"):
        Plan.model_validate({**_plan([{"end": 24}]).model_dump(), "micro_batch_size": 3})


def test_tp_must_divide_heads() -> None:
    with pytest.raises(ValidationError, match="does not divide 16 heads"):
        _plan([{"end": 24}], tp=3)


def test_gpu_count_must_match_cluster() -> None:
    data = _plan([{"end": 12}, {"end": 24}]).model_dump()
    data["cluster"] = {**data["cluster"], "gpus_per_node": 4}
    with pytest.raises(ValidationError, match="= 2 GPUs but the cluster has 4"):
        Plan.model_validate(data)


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_offload_ratio_in_unit_interval(ratio: float) -> None:
    with pytest.raises(ValidationError, match="offload_weights_ratio"):
        MemoryStrategy(zero_stage=3, offload_weights_ratio=ratio)


def test_recompute_and_offloaded_layers_bounded_by_stage_layers() -> None:
    with pytest.raises(ValidationError, match="exceed the stage's 4 layers"):
        StagePlan(layer_start=0, layer_end=4, num_recompute_layers=3, num_offloaded_layers=2)


def test_the_executor_rules_are_plan_validation() -> None:
    # stock DeepSpeed: one setting for all stages, ZeRO < 2 in pipelines, fractional offload only ZeRO-3
    with pytest.raises(ValidationError, match="one ZeRO/offload setting"):
        _plan([{"end": 12, "memory": MemoryStrategy(zero_stage=0)}, {"end": 24}])
    with pytest.raises(ValidationError, match="PipelineEngine"):
        _plan([{"end": 12}, {"end": 24}], zero_stage=3)
    with pytest.raises(ValidationError, match="needs ZeRO-3"):
        _plan([{"end": 24}], zero_stage=1, offload_optimizer=0.5)


def test_unknown_field_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        StagePlan(layer_start=0, layer_end=24, zero=3)


def test_plans_are_frozen() -> None:
    plan = _plan([{"end": 12}, {"end": 24}])
    with pytest.raises(ValidationError):
        plan.grad_accum_steps = 2  # type: ignore[misc]


def test_version_1_files_migrate_and_keep_their_run_hash() -> None:
    # a version-1 plan that ran on 2x H200 (bench/results/runs_h200x2_README.md) and its RunReport
    path = ROOT / "bench/results/gpu_plans/llama-7b-2gpu-calibrated.json"
    run = RunReport.load(ROOT / "bench/results/runs_h200x2_llama-7b-pp2-calibrated.json")
    plan = Plan.load(path)
    assert (plan.num_stages, plan.dp, plan.tp, plan.micro_batch_size) == (2, 1, 1, 1)
    assert plan.memory.zero_stage == 1 and plan.prediction is None
    assert version_1_hash(path.read_text()) == run.plan_hash
    assert version_1_hash(plan.to_json()) is None


def test_version_1_activation_ratio_becomes_the_count_that_ran() -> None:
    # the version-1 runtime offloaded round(ratio x non-recomputed layers), half to even
    data = json.loads((ROOT / "bench/results/gpu_plans/gpt-1.3b-2gpu.json").read_text())
    stage = data["stages"][0]
    stage.update(offload_activations_ratio=0.25, num_recompute_layers=14)   # round(0.25 x 10) = 2
    assert Plan.model_validate(data, strict=False).stages[0].num_offloaded_layers == 2
    stage.update(offload_activations_ratio=0.25, num_recompute_layers=22)   # round(0.5) = 0
    assert Plan.model_validate(data, strict=False).stages[0].num_offloaded_layers == 0


def test_the_fused_head_loss_is_a_mistpipe_choice_written_only_when_made() -> None:
    """Plan.head_loss: left out of the file at 'logits' (plans written before it keep their bytes and hash),
    written when 'fused', and refused for the stock executor."""
    plan = _plan([{"end": 24}])
    assert "head_loss" not in plan.to_json()
    mist = Plan.model_validate({**json.loads(plan.to_json()), "executor": "mistpipe", "head_loss": "fused"},
                               strict=False)
    assert json.loads(mist.to_json())["head_loss"] == "fused" and Plan.from_json_text(mist.to_json()) == mist
    assert mist.describe().endswith(", fused head loss")
    with pytest.raises(ValidationError, match="needs the mistpipe executor"):
        Plan.model_validate({**json.loads(plan.to_json()), "head_loss": "fused"}, strict=False)
