"""hf/ files: which plans an HF Trainer can express, and transformers' own DeepSpeed integration
(HfTrainerDeepSpeedConfig + TrainingArguments, the `hf` extra) accepting ds_config.json with the emitted
TrainingArguments; accelerate's config loader accepting accelerate.yaml. The transformers tests skip
cleanly when the extra is not installed."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from mist_ds.config import ClusterSpec, ModelSpec
from mist_ds.emit.ds_config import build_ds_config
from mist_ds.emit.hf import (AUTO, accelerate_config_text, hf_ds_config, hf_files, hf_trainer_blocker,
                             training_arguments)
from mist_ds.emit.outputs import hf_output_files
from mist_ds.emit.report import hf_line
from tests.helpers import make_plan

SPEC = ModelSpec(name="tiny-llama", family="llama", num_layers=4, hidden_size=64, num_heads=4, num_kv_heads=2,
                 ffn_hidden_size=128, vocab_size=256, max_seq_len=64, tie_embeddings=False, norm="rmsnorm",
                 activation="swiglu", position_embedding="rope", linear_bias=False)

# name -> (plan kwargs); every one is data parallel with all-or-nothing recompute
EXPRESSIBLE = {
    "z0": dict(zero_stage=0),
    "z1": dict(zero_stage=1),
    "z2-opt-offload": dict(zero_stage=2, offload_optimizer=1.0),
    "z3-fractional-offload": dict(zero_stage=3, offload_optimizer=0.5),
    "z3-param-offload-full-recompute": dict(zero_stage=3, offload_weights=1.0, offload_optimizer=1.0,
                                            recompute=4),
}


def dp_plan(dp: int = 4, micro_batch: int = 2, global_batch: int = 32, recompute: int = 0, **kw):
    return make_plan(SPEC, [{"end": 4, "num_recompute_layers": recompute}], dp=dp, micro_batch=micro_batch,
                     global_batch=global_batch, seq_len=16, **kw)


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        (lambda: make_plan(SPEC, [{"end": 2}, {"end": 4}], micro_batch=1, global_batch=4), "pipeline parallelism (pp2)"),
        (lambda: make_plan(SPEC, [{"end": 4}], tp=2, micro_batch=1, global_batch=4), "tensor parallelism (tp2)"),
        (lambda: dp_plan(recompute=1), "recomputes 1 of 4 layers"),
        (lambda: make_plan(SPEC, [{"end": 4, "num_offloaded_layers": 2}], dp=2, micro_batch=1, global_batch=4),
         "offloads the saved activations of 2 layers"),
    ],
    ids=["pipeline", "tensor-parallel", "partial-recompute", "activation-offload"],
)
def test_plans_that_need_our_runtime_say_why_and_get_no_hf_files(plan, reason):
    plan = plan()
    text = hf_trainer_blocker(plan)
    assert text is not None and reason in text and "\n" not in text
    assert text.startswith("needs mist_ds's runtime")
    assert hf_files(plan) == {} and hf_output_files(plan) == {}
    assert reason in hf_line(plan)
    with pytest.raises(ValueError, match=reason.split(" (")[0]):
        hf_ds_config(plan)


@pytest.mark.parametrize("name", sorted(EXPRESSIBLE))
def test_expressible_plans_get_all_four_files(name):
    plan = dp_plan(**EXPRESSIBLE[name])
    assert hf_trainer_blocker(plan) is None
    files = hf_output_files(plan)
    assert sorted(files) == ["hf/README.md", "hf/accelerate.yaml", "hf/ds_config.json", "hf/training_args.json"]
    assert "hf/" in hf_line(plan)
    # what the cost model depends on is written as costed; only Trainer-filled values are "auto"
    config = json.loads(files["hf/ds_config.json"])
    costed = build_ds_config(plan)["zero_optimization"]
    assert {k: v for k, v in config["zero_optimization"].items() if k in costed} == costed
    assert config["zero_optimization"]["stage"] == EXPRESSIBLE[name]["zero_stage"]
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping"):
        assert config[key] == AUTO
    assert set(config["optimizer"]["params"].values()) == {AUTO}
    assert config["bf16"] == {"enabled": AUTO}


def test_training_arguments_carry_the_plan_batch_and_recompute():
    values = training_arguments(dp_plan(dp=4, micro_batch=2, global_batch=32, recompute=4, zero_stage=3))
    # 32 sequences = 2 per device x 4 accumulation steps x 4 data-parallel ranks
    assert values["per_device_train_batch_size"] == 2 and values["gradient_accumulation_steps"] == 4
    assert values["gradient_checkpointing"] is True and values["bf16"] is True and values["fp16"] is False
    assert values["gradient_checkpointing_kwargs"] == {"use_reentrant": False}
    assert training_arguments(dp_plan(zero_stage=1))["gradient_checkpointing"] is False


def _trainer_args(values: dict, tmp_path: Path):
    """A real TrainingArguments with the emitted values (CPU: use_cpu, no report_to)."""
    transformers = pytest.importorskip("transformers")
    return transformers.TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], **values)


def _processed(plan, tmp_path: Path):
    """transformers' HfTrainerDeepSpeedConfig after trainer_config_process with the emitted
    TrainingArguments at world size = the plan's dp (the Trainer's own fill-in of the "auto" values)."""
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # HfDeepSpeedConfig derives from accelerate's
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    args = _trainer_args(training_arguments(plan), tmp_path)
    # the launcher's world size: one process per GPU of the plan (a CPU test runs one process)
    launched = types.SimpleNamespace(**{k: getattr(args, k) for k in dir(args) if not k.startswith("_")
                                        and k != "world_size"}, world_size=plan.dp)
    config = HfTrainerDeepSpeedConfig(hf_ds_config(plan))
    config.trainer_config_process(launched)
    return config, launched


@pytest.mark.parametrize("name", sorted(EXPRESSIBLE))
def test_transformers_fills_the_config_from_the_emitted_training_arguments(name, tmp_path):
    plan = dp_plan(**EXPRESSIBLE[name])
    config, args = _processed(plan, tmp_path)
    assert config.mismatches == []
    filled = config.config
    assert filled["train_batch_size"] == plan.global_batch_size
    assert filled["train_micro_batch_size_per_gpu"] == plan.micro_batch_size
    assert filled["gradient_accumulation_steps"] == plan.grad_accum_steps
    assert filled["bf16"]["enabled"] is True
    # HF's defaults fill the optimizer: no clash with anything mist_ds wrote
    assert filled["optimizer"]["params"]["lr"] == args.learning_rate
    assert filled["zero_optimization"]["stage"] == plan.memory.zero_stage
    # the finalize step raises on any mismatch left (the model is only asked for hidden_size)
    model = types.SimpleNamespace(config=types.SimpleNamespace(hidden_size=SPEC.hidden_size))
    config.trainer_config_finalize(args, model, num_training_steps=10)
    # DeepSpeed's own config model accepts the filled config (one process here: one rank's batch)
    from deepspeed.runtime.config import DeepSpeedConfig

    parsed = DeepSpeedConfig({**filled, "train_batch_size": filled["train_batch_size"] // plan.dp})
    assert parsed.zero_optimization_stage == plan.memory.zero_stage


def test_training_arguments_built_with_the_hf_ds_config(tmp_path):
    """TrainingArguments(deepspeed=hf/ds_config.json, **training_args.json) as a user writes it (one
    process: a plan with dp 1)."""
    pytest.importorskip("accelerate")
    plan = dp_plan(dp=1, micro_batch=2, global_batch=8, zero_stage=2, offload_optimizer=1.0)
    files = hf_files(plan)
    (tmp_path / "ds_config.json").write_text(files["ds_config.json"])
    args = _trainer_args({**json.loads(files["training_args.json"]), "deepspeed": str(tmp_path / "ds_config.json")},
                         tmp_path)
    filled = args.hf_deepspeed_config.config
    assert args.hf_deepspeed_config.mismatches == []
    assert filled["train_batch_size"] == 8 and filled["gradient_accumulation_steps"] == 4
    assert filled["zero_optimization"]["offload_optimizer"]["device"] == "cpu"


def test_an_explicit_batch_would_clash_where_auto_does_not(tmp_path):
    """The oracle sees a wrong value: the plain ds_config.json's explicit micro-batch against other
    TrainingArguments is a mismatch (why hf/ds_config.json says "auto")."""
    plan = dp_plan(dp=4, micro_batch=2, global_batch=32)
    config, _ = _processed(plan, tmp_path)
    assert config.mismatches == []
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    plain = HfTrainerDeepSpeedConfig(build_ds_config(plan))
    args = _trainer_args({"per_device_train_batch_size": 1, "gradient_accumulation_steps": 4, "bf16": True},
                         tmp_path)
    launched = types.SimpleNamespace(**{k: getattr(args, k) for k in dir(args) if not k.startswith("_")
                                        and k != "world_size"}, world_size=plan.dp)
    plain.trainer_config_process(launched)
    assert any("train_micro_batch_size_per_gpu" in m for m in plain.mismatches)
    assert any("optimizer.params.lr" in m for m in plain.mismatches)


@pytest.mark.parametrize("nodes", [1, 2])
def test_accelerate_loads_the_config(nodes, tmp_path):
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.utils import DistributedType

    plan = dp_plan(dp=4 * nodes, global_batch=32 * nodes, zero_stage=3)
    plan = plan.model_copy(update={"cluster": ClusterSpec(num_nodes=nodes, gpus_per_node=4)})
    path = tmp_path / "accelerate.yaml"
    path.write_text(accelerate_config_text(plan))
    loaded = ClusterConfig.from_yaml_file(str(path))
    assert loaded.distributed_type == DistributedType.DEEPSPEED
    assert (loaded.num_processes, loaded.num_machines) == (4 * nodes, nodes)
    assert loaded.deepspeed_config["deepspeed_config_file"] == "ds_config.json"
    assert loaded.deepspeed_config["zero3_init_flag"] is True
    assert loaded.mixed_precision == "bf16"
    if nodes > 1:
        assert loaded.main_process_ip == "worker-0" and loaded.main_process_port == 29500
