"""Plan -> DeepSpeed config dict (the `ds_config.json` a plan runs with).

Field meanings: DeepSpeed docs, "DeepSpeed Configuration JSON", and deepspeed/runtime/zero/config.py,
deepspeed/runtime/zero/offload_config.py of the pinned DeepSpeed (0.19.x).
"""

from __future__ import annotations

from typing import Any, Literal

from mist_ds.config import Plan, StagePlan

# Bucket sizes (elements). They are also inputs of the cost model's buffer term, so one source.
REDUCE_BUCKET_ELEMENTS = 200_000_000
ALLGATHER_BUCKET_ELEMENTS = 200_000_000
STAGE3_PREFETCH_ELEMENTS = 50_000_000
STAGE3_MAX_LIVE_PARAMETERS = 1_000_000_000
STAGE3_PARAM_PERSISTENCE_THRESHOLD = 100_000

Precision = Literal["bf16", "fp16", "fp32"]

ADAMW = {"type": "AdamW", "params": {"lr": 1e-4, "betas": [0.9, 0.95], "eps": 1e-8,
                                    "weight_decay": 0.1}}


class UnsupportedPlanError(ValueError):
    """A plan the stock DeepSpeed engine cannot express."""


def uniform_zero_stage(plan: Plan) -> StagePlan:
    """DeepSpeed has one ZeRO/offload setting per engine: all stages must agree on it."""
    first = plan.stages[0]
    keys = ("zero_stage", "offload_weights_ratio", "offload_gradients_ratio", "offload_optimizer_ratio")
    for index, stage in enumerate(plan.stages[1:], start=1):
        for key in keys:
            if getattr(stage, key) != getattr(first, key):
                raise UnsupportedPlanError(
                    f"stage {index} has {key}={getattr(stage, key)} but stage 0 has "
                    f"{getattr(first, key)}: one DeepSpeed engine takes one setting"
                )
    return first


def check_pipeline_shape(plan: Plan) -> None:
    """DeepSpeed's pipeline topology (PipeModelDataParallelTopology) is one grid: every stage must
    have the same dp, tp and micro-batch size."""
    first = plan.stages[0]
    for index, stage in enumerate(plan.stages[1:], start=1):
        for key in ("dp", "tp", "micro_batch_size"):
            if getattr(stage, key) != getattr(first, key):
                raise UnsupportedPlanError(
                    f"stage {index} has {key}={getattr(stage, key)} but stage 0 has "
                    f"{getattr(first, key)}: a DeepSpeed pipeline needs the same {key} on every stage"
                )


def _offload_optimizer(stage: StagePlan) -> dict[str, Any] | None:
    ratio = stage.offload_optimizer_ratio
    if ratio == 0.0:
        return None
    if ratio < 1.0 and stage.zero_stage != 3:
        raise UnsupportedPlanError(
            f"fractional optimizer offload ({ratio}) needs ZeRO-3 in DeepSpeed (offload_config.py)"
        )
    if stage.zero_stage == 0:
        raise UnsupportedPlanError("optimizer offload needs ZeRO stage >= 1")
    section: dict[str, Any] = {"device": "cpu", "pin_memory": True}
    if ratio < 1.0:
        section["ratio"] = ratio
    return section


def _offload_param(stage: StagePlan) -> dict[str, Any] | None:
    ratio = stage.offload_weights_ratio
    if ratio == 0.0:
        return None
    if stage.zero_stage != 3 or ratio != 1.0:
        raise UnsupportedPlanError(
            f"weight offload ratio {ratio} with ZeRO-{stage.zero_stage}: DeepSpeed offloads "
            "parameters only with ZeRO-3, and all of them"
        )
    return {"device": "cpu", "pin_memory": True}


def zero_section(stage: StagePlan, pipelined: bool = False) -> dict[str, Any]:
    """The `zero_optimization` block for a stage's strategy (overlap_comm off for pipelines: the
    PipelineEngine turns it off anyway, engine.py _configure_zero_optimizer)."""
    if stage.offload_gradients_ratio != stage.offload_optimizer_ratio:
        raise UnsupportedPlanError(
            "DeepSpeed offloads gradients together with optimizer states: "
            f"offload_gradients_ratio {stage.offload_gradients_ratio} != "
            f"offload_optimizer_ratio {stage.offload_optimizer_ratio}"
        )
    section: dict[str, Any] = {
        "stage": stage.zero_stage,
        "overlap_comm": not pipelined,
        "contiguous_gradients": True,
        "reduce_bucket_size": REDUCE_BUCKET_ELEMENTS,
        "allgather_bucket_size": ALLGATHER_BUCKET_ELEMENTS,
    }
    if stage.zero_stage == 3:
        section.update({
            "stage3_prefetch_bucket_size": STAGE3_PREFETCH_ELEMENTS,
            "stage3_max_live_parameters": STAGE3_MAX_LIVE_PARAMETERS,
            "stage3_param_persistence_threshold": STAGE3_PARAM_PERSISTENCE_THRESHOLD,
        })
    for key, value in (("offload_optimizer", _offload_optimizer(stage)),
                       ("offload_param", _offload_param(stage))):
        if value is not None:
            section[key] = value
    return section


def build_ds_config(plan: Plan, precision: Precision | None = None) -> dict[str, Any]:
    """The DeepSpeed config dict for `plan` (raises UnsupportedPlanError when it cannot be expressed).

    `precision` overrides plan.dtype; 'fp32' (no bf16/fp16 section) is what CPU runs use.
    """
    stage = uniform_zero_stage(plan)
    check_pipeline_shape(plan)
    if plan.num_stages > 1 and stage.zero_stage > 1:
        raise UnsupportedPlanError(
            f"DeepSpeed's PipelineEngine refuses ZeRO-{stage.zero_stage} (pipe/engine.py asserts stage < 2)"
        )
    config: dict[str, Any] = {
        "train_batch_size": plan.global_batch_size,
        "train_micro_batch_size_per_gpu": stage.micro_batch_size,
        "gradient_accumulation_steps": plan.grad_accum_steps,
        "optimizer": ADAMW,
        "gradient_clipping": 1.0,
        "zero_optimization": zero_section(stage, pipelined=plan.num_stages > 1),
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    precision = precision or plan.dtype
    if precision == "bf16":
        config["bf16"] = {"enabled": True}
    elif precision == "fp16":
        config["fp16"] = {"enabled": True, "loss_scale": 0, "initial_scale_power": 16}
    return config
