"""Search candidates -> Plans: the one mapping from the search's Layout + Partition to the Plan schema."""

from __future__ import annotations

from mist_ds.config import Plan, StagePlan, TuneRequest
from mist_ds.config.plan import MemoryStrategy
from mist_ds.search.engine import Candidate


def plan_from_candidate(request: TuneRequest, candidate: Candidate) -> Plan:
    """The Plan of one candidate, without prediction; carries the request's memory cap."""
    layout, partition = candidate.layout, candidate.partition
    offloaded = partition.offloaded or (0,) * len(partition.layers)
    stages, start = [], 0
    for layers, recompute, count in zip(partition.layers, partition.recompute, offloaded):
        stages.append(StagePlan(layer_start=start, layer_end=start + layers, num_recompute_layers=recompute,
                                num_offloaded_layers=count))
        start += layers
    memory = MemoryStrategy(zero_stage=layout.zero_stage, offload_weights_ratio=layout.offload_weights,
                            offload_gradients_ratio=layout.offload_gradients,
                            offload_optimizer_ratio=layout.offload_optimizer)
    return Plan(model=request.model, cluster=request.cluster, global_batch_size=request.global_batch_size,
                seq_len=request.seq_len, dtype=request.dtype, dp=layout.dp, tp=layout.tp,
                micro_batch_size=layout.micro_batch, grad_accum_steps=layout.grad_accum, memory=memory,
                stages=tuple(stages), gpu_memory_cap_bytes=request.gpu_memory_cap_bytes)


def predicted_plan(request: TuneRequest, candidate: Candidate, hardware) -> Plan:
    """plan_from_candidate with Plan.prediction = mist_ds.cost.predict_plan (same numbers as
    `python -m mist_ds.predict`)."""
    from mist_ds.cost import predict_plan

    plan = plan_from_candidate(request, candidate)
    return plan.model_copy(update={"prediction": predict_plan(plan, hardware)})
