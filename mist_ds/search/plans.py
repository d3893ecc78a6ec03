"""Turn search candidates into Plans (with the cost model's own prediction attached)."""

from __future__ import annotations

from mist_ds.config import HardwareProfile, Plan, StagePlan, TuneRequest
from mist_ds.search.engine import Candidate


def plan_from_candidate(request: TuneRequest, candidate: Candidate) -> Plan:
    """The Plan of one candidate, without prediction; carries the request's --memory-gb cap."""
    layout, partition = candidate.layout, candidate.partition
    stages, start = [], 0
    act = partition.act_offload or (0.0,) * len(partition.layers)
    for layers, recompute, act_ratio in zip(partition.layers, partition.recompute, act):
        stages.append(StagePlan(
            layer_start=start, layer_end=start + layers, micro_batch_size=layout.micro_batch,
            dp=layout.dp, tp=layout.tp, zero_stage=layout.zero_stage,
            offload_weights_ratio=layout.offload_weights,
            offload_gradients_ratio=layout.offload_gradients,
            offload_optimizer_ratio=layout.offload_optimizer,
            offload_activations_ratio=act_ratio,
            num_recompute_layers=recompute,
        ))
        start += layers
    return Plan(
        model=request.model, cluster=request.cluster, global_batch_size=request.global_batch_size,
        seq_len=request.seq_len, dtype=request.dtype, grad_accum_steps=layout.grad_accum,
        stages=tuple(stages), gpu_memory_cap_bytes=request.gpu_memory_cap_bytes,
    )


def predicted_plan(request: TuneRequest, candidate: Candidate, hardware: HardwareProfile) -> Plan:
    """plan_from_candidate with Plan.prediction = mist_ds.cost.predict_plan (same numbers as
    `python -m mist_ds.predict`)."""
    from mist_ds.cost import predict_plan

    plan = plan_from_candidate(request, candidate)
    return plan.model_copy(update={"prediction": predict_plan(plan, hardware)})
