"""Plan -> ds_config: the mapping, the plan-bound check of an edited config, and DeepSpeed's own config
model accepting it."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mist_ds.config import ModelSpec
from mist_ds.emit.ds_config import build_ds_config, config_mismatches
from tests.helpers import make_plan

SPEC = ModelSpec(name="tiny", family="gpt", num_layers=4, hidden_size=32, num_heads=4, num_kv_heads=4,
                 ffn_hidden_size=64, vocab_size=256, max_seq_len=64, tie_embeddings=True,
                 norm="layernorm", activation="gelu", position_embedding="learned", linear_bias=True)


def one_stage(**kw):
    return make_plan(SPEC, [{"end": 4}], dp=2, micro_batch=2, global_batch=8, seq_len=16, **kw)


def test_single_stage_mapping():
    config = build_ds_config(one_stage(zero_stage=2))
    assert config["train_batch_size"] == 8
    assert config["train_micro_batch_size_per_gpu"] == 2
    assert config["gradient_accumulation_steps"] == 2
    assert config["zero_optimization"]["stage"] == 2
    assert config["bf16"] == {"enabled": True}


def test_fp32_precision_drops_the_half_precision_sections():
    config = build_ds_config(one_stage(), precision="fp32")
    assert "bf16" not in config and "fp16" not in config


def test_optimizer_offload_and_fractional_ratio():
    full = build_ds_config(one_stage(zero_stage=2, offload_optimizer=1.0))
    assert full["zero_optimization"]["offload_optimizer"] == {"device": "cpu", "pin_memory": True}
    part = build_ds_config(one_stage(zero_stage=3, offload_optimizer=0.5))
    assert part["zero_optimization"]["offload_optimizer"]["ratio"] == 0.5
    # a ratio bites only with sub-groups smaller than a rank's partition (executors.DeepSpeedConstants)
    assert part["zero_optimization"]["sub_group_size"] == 100_000_000
    with pytest.raises(ValidationError, match="ZeRO-3"):
        one_stage(zero_stage=2, offload_optimizer=0.5)


def test_pipeline_refuses_zero2_when_the_plan_is_built():
    with pytest.raises(ValidationError, match="PipelineEngine"):
        make_plan(SPEC, [{"end": 1}, {"end": 4}], micro_batch=1, global_batch=2, zero_stage=2)


def test_pipeline_with_per_stage_recompute_is_accepted():
    plan = make_plan(SPEC, [{"end": 1, "num_recompute_layers": 1}, {"end": 4}], micro_batch=2, global_batch=4)
    config = build_ds_config(plan)
    assert config["zero_optimization"]["stage"] == 1
    assert config["zero_optimization"]["overlap_comm"] is False


def test_an_edited_config_must_still_run_the_plan():
    plan = one_stage(zero_stage=2)
    config = build_ds_config(plan)
    assert config_mismatches(plan, config) == []
    # what the cost model does not depend on may change
    edited = {**config, "optimizer": {"type": "AdamW", "params": {"lr": 3e-4}}, "gradient_clipping": 0.5}
    assert config_mismatches(plan, edited) == []
    # what it does depend on may not
    zero3 = {**config, "zero_optimization": {**config["zero_optimization"], "stage": 3}}
    assert "zero_optimization" in config_mismatches(plan, zero3)[0]
    fewer = {**config, "train_micro_batch_size_per_gpu": 1}
    assert "train_micro_batch_size_per_gpu" in config_mismatches(plan, fewer)[0]


def test_a_mismatch_names_the_key_that_differs():
    plan = one_stage(zero_stage=2)
    config = build_ds_config(plan)
    zero = config["zero_optimization"]
    edited = {**config, "zero_optimization": {**{k: v for k, v in zero.items() if k != "overlap_comm"},
                                              "stage": 3, "round_robin_gradients": True}}
    assert config_mismatches(plan, edited) == [
        "zero_optimization.stage is 3 in ds_config.json but the plan was costed with 2",
        "zero_optimization.overlap_comm is not set in ds_config.json but the plan was costed with True",
        "zero_optimization.round_robin_gradients is True in ds_config.json but the plan was costed without it"]
    bare = {k: v for k, v in config.items() if k != "zero_optimization"}
    assert config_mismatches(plan, bare) == [
        f"zero_optimization is not set in ds_config.json but the plan was costed with {zero!r}"]


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_deepspeed_config_model_accepts_it(zero):
    from deepspeed.runtime.config import DeepSpeedConfig

    config = build_ds_config(one_stage(zero_stage=zero))
    # without a process group DeepSpeedConfig assumes world size 1: the batch of one dp rank
    parsed = DeepSpeedConfig({**config, "train_batch_size": config["train_batch_size"] // 2})
    assert parsed.zero_optimization_stage == zero
    assert parsed.train_micro_batch_size_per_gpu == 2


def mistpipe_pipeline():
    from mist_ds.config.plan import MemoryStrategy

    own = MemoryStrategy(zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.5)
    return make_plan(SPEC, [{"end": 1, "memory": own, "num_offloaded_layers": 1}, {"end": 4}], micro_batch=2,
                     global_batch=4, zero_stage=1, offload_optimizer=0.25, executor="mistpipe")


def test_a_mistpipe_config_is_labelled_and_has_no_zero_section():
    config = build_ds_config(mistpipe_pipeline())
    assert "zero_optimization" not in config
    label = config["mistpipe"]
    assert "build_mistpipe_engine" in label["note"] and "not deepspeed.initialize" in label["note"]
    why = label["stages"][1].pop("optimizer_offload_why")  # the tiny share: CPU Adam is the faster path
    assert why.startswith("the faster:") and "cpu_adam" in why
    assert label["stages"] == [
        {"layers": [0, 1], "zero_stage": 3, "offload_weights_ratio": 0.5, "offload_gradients_ratio": 0.5,
         "offload_optimizer_ratio": 0.0, "num_offloaded_layers": 1},
        {"layers": [1, 4], "zero_stage": 1, "offload_weights_ratio": 0.0, "offload_gradients_ratio": 0.25,
         "offload_optimizer_ratio": 0.25, "num_offloaded_layers": 0, "optimizer_offload_path": "cpu_adam"}]
    assert (config["train_batch_size"], config["gradient_accumulation_steps"], config["bf16"]) == \
        (4, 2, {"enabled": True})


def test_mismatches_are_found_for_both_executors():
    import json

    plan = mistpipe_pipeline()
    config = json.loads(json.dumps(build_ds_config(plan)))  # as read back from ds_config.json
    assert config_mismatches(plan, config) == []
    edited = json.loads(json.dumps(config))
    edited["mistpipe"]["stages"][0]["zero_stage"] = 1
    assert config_mismatches(plan, edited) == [
        "mistpipe.stages[0].zero_stage is 1 in ds_config.json but the plan was costed with 3"]
    stock = build_ds_config(plan.model_copy(update={"executor": "deepspeed", "stages": (
        plan.stages[0].model_copy(update={"memory": None}), plan.stages[1])}))
    problems = config_mismatches(plan, stock)  # a stock config beside a mistpipe plan
    assert any(p.startswith("zero_optimization") for p in problems) and any(p.startswith("mistpipe") for p in problems)
    assert config_mismatches(one_stage(), build_ds_config(one_stage())) == []


def test_what_mistpipe_hands_deepspeed_is_a_valid_config():
    from deepspeed.runtime.config import DeepSpeedConfig

    from mist_ds.runtime.mistpipe.engine import split_config

    config = build_ds_config(mistpipe_pipeline())
    for_deepspeed, own = split_config(config)
    assert "mistpipe" not in for_deepspeed and "optimizer" not in for_deepspeed
    assert own["clip"] == 1.0 and own["adam"]["lr"] == config["optimizer"]["params"]["lr"]
    parsed = DeepSpeedConfig(for_deepspeed)
    assert parsed.gradient_accumulation_steps == 2 and parsed.zero_optimization_stage == 0


def test_the_emitted_optimizer_path_is_the_one_priced_on_the_profile_the_plan_was_tuned_on(tmp_path):
    """A calibrated profile file is named after the file, so a lookup by the prediction's hardware_name falls
    back to the default profile: autotune and predict --out hand the profile over (until session 43 the
    ds_config could carry the default profile's path while the plan was priced with another)."""
    from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware
    from mist_ds.cost import predict_plan
    from mist_ds.emit.outputs import render_outputs

    default = load_hardware(DEFAULT_PROFILE)
    slow_cpu = default.model_copy(update={"name": "my-node", "cpu_adam": tuple(
        s.model_copy(update={"params_per_s": s.params_per_s / 1e4}) for s in default.cpu_adam)})
    plan = mistpipe_pipeline()
    plan = plan.model_copy(update={"prediction": predict_plan(plan, slow_cpu)})
    assert build_ds_config(plan)["mistpipe"]["stages"][1]["optimizer_offload_path"] == "cpu_adam"  # the fallback's
    assert build_ds_config(plan, hardware=slow_cpu)["mistpipe"]["stages"][1]["optimizer_offload_path"] == "gpu_swap"
    written = json.loads(render_outputs(tmp_path, [plan], slow_cpu, with_png=False)["ds_config.json"])
    assert written["mistpipe"]["stages"][1]["optimizer_offload_path"] == "gpu_swap"
