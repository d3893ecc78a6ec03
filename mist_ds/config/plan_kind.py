"""The kind of a plan, as the accuracy suite groups its runs (bench/results/accuracy.md, by family) and as
the shipped track record (config/track_record.py) is looked up: the strategy family, most specific first,
and whether the plan spans one GPU or several."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mist_ds.config.plan import Plan


def strategy_family(*, executor: str, offload_weights: float, offload_optimizer: float, zero_stage: int,
                    offloads_activations: bool, tp: int, pp: int) -> str:
    """The strategy family of a plan with these settings: what sets it apart, most specific first
    (mistpipe, weight-offload, zero3-offload / zero12-offload, activation-offload, tensor-parallel,
    pipeline, zero0..zero3)."""
    if executor == "mistpipe":
        return "mistpipe"
    if offload_weights > 0:
        return "weight-offload"
    if offload_optimizer > 0:
        return "zero3-offload" if zero_stage == 3 else "zero12-offload"
    if offloads_activations:
        return "activation-offload"
    if tp > 1:
        return "tensor-parallel"
    if pp > 1:
        return "pipeline"
    return f"zero{zero_stage}"


def plan_family(plan: Plan) -> str:
    """strategy_family of `plan` (its engine-wide ZeRO/offload setting, Plan.memory)."""
    memory = plan.memory
    return strategy_family(executor=plan.executor, offload_weights=memory.offload_weights_ratio,
                           offload_optimizer=memory.offload_optimizer_ratio, zero_stage=memory.zero_stage,
                           offloads_activations=any(s.num_offloaded_layers > 0 for s in plan.stages),
                           tp=plan.tp, pp=plan.num_stages)


def gpu_span(num_gpus: int) -> str:
    """'1 GPU' or 'multi-GPU': one GPU runs no collective, so its plans are a kind apart."""
    return "1 GPU" if num_gpus == 1 else "multi-GPU"


def plan_kind(plan: Plan) -> str:
    """'<family>, <gpu span>', e.g. 'zero3-offload, 1 GPU': the key of the track record."""
    return f"{plan_family(plan)}, {gpu_span(plan.cluster.num_gpus)}"
