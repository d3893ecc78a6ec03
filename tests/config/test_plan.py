"""Plan / StagePlan validation and JSON round trips."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset


def _stage(start: int, end: int, **kw: object) -> StagePlan:
    fields = dict(layer_start=start, layer_end=end, micro_batch_size=2, dp=1, tp=1, zero_stage=1)
    fields.update(kw)
    return StagePlan(**fields)


def _plan(stages: tuple[StagePlan, ...], gpus: int = 2, **kw: object) -> Plan:
    fields = dict(model=get_preset("gpt-1.3b"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus),
                  global_batch_size=32, seq_len=2048, grad_accum_steps=16, stages=stages)
    fields.update(kw)
    return Plan(**fields)


def test_valid_pipeline_plan_round_trips_byte_identically() -> None:
    plan = _plan((_stage(0, 13, num_recompute_layers=5), _stage(13, 24, offload_optimizer_ratio=0.5)))
    text = plan.to_json()
    again = Plan.from_json_text(text)
    assert again == plan
    assert again.to_json() == text
    assert hash(again) == hash(plan)
    assert again.content_hash() == plan.content_hash()


def test_layer_ranges_must_cover_model() -> None:
    with pytest.raises(ValidationError, match="cover"):
        _plan((_stage(0, 12), _stage(13, 24)))
    with pytest.raises(ValidationError, match="has 24 layers"):
        _plan((_stage(0, 12), _stage(12, 20)))


def test_batch_must_divide() -> None:
    with pytest.raises(ValidationError, match="!= global batch 32"):
        _plan((_stage(0, 12, micro_batch_size=3), _stage(12, 24)))


def test_tp_must_divide_heads() -> None:
    with pytest.raises(ValidationError, match="does not divide 16 heads"):
        _plan((_stage(0, 24, tp=3, dp=1),), gpus=3)


def test_gpu_count_must_match_cluster() -> None:
    with pytest.raises(ValidationError, match="stages use 2 GPUs but the cluster has 4"):
        _plan((_stage(0, 12), _stage(12, 24)), gpus=4)


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_offload_ratio_in_unit_interval(ratio: float) -> None:
    with pytest.raises(ValidationError, match="offload_weights_ratio"):
        _stage(0, 24, offload_weights_ratio=ratio)


def test_recompute_count_bounded_by_stage_layers() -> None:
    with pytest.raises(ValidationError, match="exceeds the stage's 4 layers"):
        _stage(0, 4, num_recompute_layers=5)


def test_unknown_field_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        _stage(0, 24, zero=3)


def test_plans_are_frozen() -> None:
    plan = _plan((_stage(0, 12), _stage(12, 24)))
    with pytest.raises(ValidationError):
        plan.grad_accum_steps = 2  # type: ignore[misc]
