"""Plan -> ds_config: the mapping, its refusals, and DeepSpeed's own config model accepting it."""

from __future__ import annotations

import pytest

from mist_ds.config import ClusterSpec, ModelSpec, Plan, StagePlan
from mist_ds.emit.ds_config import UnsupportedPlanError, build_ds_config

SPEC = ModelSpec(name="tiny", family="gpt", num_layers=4, hidden_size=32, num_heads=4, num_kv_heads=4,
                 ffn_hidden_size=64, vocab_size=256, max_seq_len=64, tie_embeddings=True,
                 norm="layernorm", activation="gelu", position_embedding="learned", linear_bias=True)


def plan(stages: list[dict], global_batch: int = 8, grad_accum: int = 2) -> Plan:
    gpus = sum(s.get("dp", 1) * s.get("tp", 1) for s in stages)
    full = []
    bounds = [0, *[s["end"] for s in stages]]
    for index, stage in enumerate(stages):
        fields = {k: v for k, v in stage.items() if k != "end"}
        fields.setdefault("zero_stage", 1)
        fields.setdefault("dp", 1)
        fields.setdefault("tp", 1)
        full.append(StagePlan.model_validate(
            {"layer_start": bounds[index], "layer_end": bounds[index + 1], **fields}, strict=False))
    return Plan(model=SPEC, cluster=ClusterSpec.model_validate(
                    {"num_nodes": 1, "gpus_per_node": gpus}, strict=False),
                global_batch_size=global_batch, seq_len=16, grad_accum_steps=grad_accum,
                stages=tuple(full))


def test_single_stage_mapping():
    config = build_ds_config(plan([{"end": 4, "micro_batch_size": 2, "dp": 2, "zero_stage": 2}]))
    assert config["train_batch_size"] == 8
    assert config["train_micro_batch_size_per_gpu"] == 2
    assert config["gradient_accumulation_steps"] == 2
    assert config["zero_optimization"]["stage"] == 2
    assert config["bf16"] == {"enabled": True}


def test_fp32_precision_drops_the_half_precision_sections():
    config = build_ds_config(plan([{"end": 4, "micro_batch_size": 2, "dp": 2}]), precision="fp32")
    assert "bf16" not in config and "fp16" not in config


def test_optimizer_offload_and_fractional_ratio():
    full = build_ds_config(plan([{"end": 4, "micro_batch_size": 2, "dp": 2, "zero_stage": 2,
                                  "offload_optimizer_ratio": 1.0, "offload_gradients_ratio": 1.0}]))
    assert full["zero_optimization"]["offload_optimizer"] == {"device": "cpu", "pin_memory": True}
    part = build_ds_config(plan([{"end": 4, "micro_batch_size": 2, "dp": 2, "zero_stage": 3,
                                  "offload_optimizer_ratio": 0.5, "offload_gradients_ratio": 0.5}]))
    assert part["zero_optimization"]["offload_optimizer"]["ratio"] == 0.5
    with pytest.raises(UnsupportedPlanError, match="ZeRO-3"):
        build_ds_config(plan([{"end": 4, "micro_batch_size": 2, "dp": 2, "zero_stage": 2,
                               "offload_optimizer_ratio": 0.5, "offload_gradients_ratio": 0.5}]))


def test_pipeline_refuses_zero2_and_mismatched_grids():
    with pytest.raises(UnsupportedPlanError, match="PipelineEngine"):
        build_ds_config(plan([{"end": 1, "micro_batch_size": 1, "zero_stage": 2},
                              {"end": 4, "micro_batch_size": 1, "zero_stage": 2}], global_batch=2))
    with pytest.raises(UnsupportedPlanError, match="same dp"):
        build_ds_config(plan([{"end": 1, "micro_batch_size": 2, "dp": 1, "tp": 2},
                              {"end": 4, "micro_batch_size": 1, "dp": 2}], global_batch=4))


def test_pipeline_with_per_stage_recompute_is_accepted():
    config = build_ds_config(plan([{"end": 1, "micro_batch_size": 2, "num_recompute_layers": 1},
                                   {"end": 4, "micro_batch_size": 2, "num_recompute_layers": 0}],
                                 global_batch=4))
    assert config["zero_optimization"]["stage"] == 1


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_deepspeed_config_model_accepts_it(zero):
    from deepspeed.runtime.config import DeepSpeedConfig

    config = build_ds_config(plan([{"end": 4, "micro_batch_size": 2, "dp": 2, "zero_stage": zero}]))
    # without a process group DeepSpeedConfig assumes world size 1: the batch of one dp rank
    parsed = DeepSpeedConfig({**config, "train_batch_size": config["train_batch_size"] // 2})
    assert parsed.zero_optimization_stage == zero
    assert parsed.train_micro_batch_size_per_gpu == 2
