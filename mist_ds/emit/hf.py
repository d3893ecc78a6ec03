"""Plan -> the files a Hugging Face Trainer / accelerate user needs: `hf/ds_config.json`,
`hf/training_args.json`, `hf/accelerate.yaml` and `hf/README.md`.

Only plans the HF Trainer can express get them: data parallelism only (one stage, tp 1), ZeRO 0-3 with
optimizer / parameter offload (what `zero_optimization` says), and gradient checkpointing of all layers
or none (`TrainingArguments.gradient_checkpointing` checkpoints every decoder layer). Pipelines, tensor
parallelism, recomputing only some layers and activation offload need mist_ds's runtime:
`hf_trainer_blocker(plan)` says which, in one line.

HF conventions (transformers/integrations/deepspeed.py, HfTrainerDeepSpeedConfig.trainer_config_process):
the Trainer replaces every "auto" value with its TrainingArguments value and refuses a config whose
explicit values differ from them. So the batch sizes, the optimizer's hyper-parameters, gradient
clipping and bf16/fp16 are "auto" (the batch values come from training_args.json, the learning rate,
betas and weight decay stay the user's choice), while what the cost model depends on (ZeRO stage,
offload, bucket sizes) is written out as costed. Pure: no transformers import.
"""

from __future__ import annotations

import json
from typing import Any

from mist_ds.config import Plan
from mist_ds.emit.ds_config import build_ds_config

AUTO = "auto"
# TrainingArguments keys set from the plan (every other one keeps its default or the user's value).
TRAINING_ARGUMENT_KEYS = ("per_device_train_batch_size", "gradient_accumulation_steps", "gradient_checkpointing",
                          "bf16", "fp16")
# The decoder-layer class of each model_type config/hf_import.py reads (transformers/models/<type>/modeling_<type>.py):
# a plan fetching whole blocks (Plan.zero3_fetch_unit) names these in zero_optimization.leaf_module, where
# DeepSpeed matches a module's class name and skips names no module has (utils/z3_leaf_module.py).
HF_DECODER_LAYER_CLASSES = ("GPT2Block", "GPTNeoXLayer", "LlamaDecoderLayer", "MistralDecoderLayer",
                            "Qwen2DecoderLayer")
# accelerate's default rendezvous port (accelerate/commands/launch.py --main_process_port).
MAIN_PROCESS_PORT = 29500


def hf_trainer_blockers(plan: Plan) -> list[str]:
    """Why an HF Trainer with DeepSpeed cannot run `plan` as costed (empty: it can)."""
    why = []
    if plan.executor != "deepspeed":
        why.append(f"runs on the '{plan.executor}' executor")
    if plan.num_stages > 1:
        why.append(f"uses pipeline parallelism (pp{plan.num_stages}), which the Trainer does not have")
    if plan.tp > 1:
        why.append(f"uses tensor parallelism (tp{plan.tp}) of mist_ds's own model")
    recomputed, layers = sum(s.num_recompute_layers for s in plan.stages), plan.model.num_layers
    if 0 < recomputed < layers:
        why.append(f"recomputes {recomputed} of {layers} layers (HF gradient checkpointing is all layers or none)")
    offloaded = sum(s.num_offloaded_layers for s in plan.stages)
    if offloaded:
        why.append(f"offloads the saved activations of {offloaded} layers to CPU memory")
    return why


def hf_trainer_blocker(plan: Plan) -> str | None:
    """One line saying why `plan` needs mist_ds's runtime, or None when an HF Trainer can run it."""
    why = hf_trainer_blockers(plan)
    if not why:
        return None
    return "needs mist_ds's runtime (no Hugging Face Trainer equivalent): it " + "; it ".join(why)


def _check(plan: Plan) -> None:
    reason = hf_trainer_blocker(plan)
    if reason is not None:
        raise ValueError(f"plan {plan.describe(short=True)} {reason}")


def full_recompute(plan: Plan) -> bool:
    """True when every layer recomputes (HF gradient checkpointing), False when none does."""
    return sum(s.num_recompute_layers for s in plan.stages) == plan.model.num_layers


def hf_ds_config(plan: Plan) -> dict[str, Any]:
    """ds_config.json in HF's conventions for a plan the Trainer can express (ValueError otherwise)."""
    _check(plan)
    config = build_ds_config(plan)
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping"):
        config[key] = AUTO
    config["optimizer"] = {"type": config["optimizer"]["type"],
                           "params": {k: AUTO for k in ("lr", "betas", "eps", "weight_decay")}}
    for precision in ("bf16", "fp16"):
        if precision in config:
            config[precision] = {**config[precision], "enabled": AUTO}
    zero = dict(config["zero_optimization"])
    if zero["stage"] == 3:
        # Trainer.save_model gathers the 16-bit weights into one file (only at save time: no cost).
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    if "leaf_module" in zero:
        zero["leaf_module"] = {"classes": list(HF_DECODER_LAYER_CLASSES)}
    config["zero_optimization"] = zero
    return config


def training_arguments(plan: Plan) -> dict[str, Any]:
    """The TrainingArguments values the plan fixes (pass them with output_dir and deepspeed=...)."""
    _check(plan)
    values: dict[str, Any] = {
        "per_device_train_batch_size": plan.micro_batch_size,
        "gradient_accumulation_steps": plan.grad_accum_steps,
        "gradient_checkpointing": full_recompute(plan),
        "bf16": plan.dtype == "bf16",
        "fp16": plan.dtype == "fp16",
    }
    if values["gradient_checkpointing"]:
        # mist_ds costs (and its runtime runs) non-reentrant checkpointing
        values["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    return values


def accelerate_config_text(plan: Plan, ds_config_file: str = "ds_config.json") -> str:
    """accelerate's config (YAML, accelerate/commands/config/config_args.py ClusterConfig) that runs
    DeepSpeed with `ds_config_file` on the plan's nodes x GPUs. The path is read relative to the
    working directory of the launched processes."""
    _check(plan)
    cluster = plan.cluster
    lines = [
        "# Written by mist_ds: `accelerate launch --config_file accelerate.yaml YOUR_SCRIPT.py` from this folder",
        "compute_environment: LOCAL_MACHINE",
        "debug: false",
        "deepspeed_config:",
        f"  deepspeed_config_file: {json.dumps(ds_config_file)}",
    ]
    if cluster.num_nodes > 1:
        lines.append("  deepspeed_multinode_launcher: standard")
    lines.append(f"  zero3_init_flag: {'true' if plan.memory.zero_stage == 3 else 'false'}")
    lines += [
        "distributed_type: DEEPSPEED",
        "downcast_bf16: 'no'",
        "machine_rank: 0  # set per node: 0 .. num_machines - 1",
        "main_training_function: main",
        f"mixed_precision: {plan.dtype}",
        f"num_machines: {cluster.num_nodes}",
        f"num_processes: {cluster.num_gpus}",
        "rdzv_backend: static",
        "same_network: true",
        "use_cpu: false",
    ]
    if cluster.num_nodes > 1:
        lines += [f"main_process_ip: {cluster.host_names()[0]}", f"main_process_port: {MAIN_PROCESS_PORT}"]
    return "\n".join(lines) + "\n"


def hf_readme(plan: Plan) -> str:
    """hf/README.md: what the three files are and how to use them."""
    _check(plan)
    cluster = plan.cluster
    return "\n".join([
        f"# {plan.model.name}: {plan.describe()} with the Hugging Face Trainer", "",
        f"Launch exactly {cluster.num_gpus} processes ({cluster.num_nodes} node(s) x {cluster.gpus_per_node} GPUs): "
        "the global batch is per-device batch x gradient accumulation x processes "
        f"= {plan.micro_batch_size} x {plan.grad_accum_steps} x {plan.dp} = {plan.global_batch_size}.", "",
        "- `ds_config.json`: DeepSpeed config in HF's conventions: `\"auto\"` values are filled by the Trainer "
        "from TrainingArguments (batch sizes, learning rate, betas, eps, weight decay, clipping, bf16/fp16); "
        "the ZeRO / offload section is the one mist_ds costed"
        + (", with `leaf_module` naming the transformers decoder-layer classes so that ZeRO-3 fetches each layer "
           "whole, as the plan's blocks are" if plan.zero3_fetch_unit == "block" else "") + ".",
        "- `training_args.json`: the TrainingArguments values the plan fixes: "
        "`TrainingArguments(output_dir=..., deepspeed=\"hf/ds_config.json\", "
        "**json.load(open(\"hf/training_args.json\")))`; "
        "choose the learning rate and the rest as usual (transformers 5 calls gradient_checkpointing "
        "activation_checkpointing and still accepts the old name).",
        "- `accelerate.yaml`: `accelerate launch --config_file accelerate.yaml train.py` from this folder "
        f"(or, on each node, `deepspeed --num_gpus {cluster.gpus_per_node} train.py --deepspeed ds_config.json` "
        "with a script that parses TrainingArguments).", "",
        "The prediction in ../report.md is for mist_ds's own model and runtime; a transformers model of the "
        "same shape runs the same ZeRO setting but its kernels (attention, loss) may need more memory and time.",
        "",
    ])


def hf_files(plan: Plan) -> dict[str, str]:
    """File name (inside hf/) -> text, for a plan the Trainer can express; {} otherwise."""
    if hf_trainer_blocker(plan) is not None:
        return {}
    return {
        "ds_config.json": json.dumps(hf_ds_config(plan), indent=2, sort_keys=True) + "\n",
        "training_args.json": json.dumps(training_arguments(plan), indent=2, sort_keys=True) + "\n",
        "accelerate.yaml": accelerate_config_text(plan),
        "README.md": hf_readme(plan),
    }
