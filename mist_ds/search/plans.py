"""Search candidates -> Plans: the one mapping from the search's Layout + Partition to the Plan schema."""

from __future__ import annotations

from mist_ds.config import Plan, StagePlan, TuneRequest
from mist_ds.config.plan import MemoryStrategy, gathers_nothing, is_stock_zero3
from mist_ds.search.driver import Candidate


def _memory(setting: tuple) -> MemoryStrategy:
    zero, weights, gradients, optimizer = setting
    return MemoryStrategy(zero_stage=int(zero), offload_weights_ratio=weights, offload_gradients_ratio=gradients,
                          offload_optimizer_ratio=optimizer)


def plan_from_candidate(request: TuneRequest, candidate: Candidate) -> Plan:
    """The Plan of one candidate, without prediction; carries the request's memory cap. With
    per-stage memory settings the plan's `memory` is the first stage's, and every stage whose
    setting differs carries its own."""
    layout, partition = candidate.layout, candidate.partition
    offloaded = partition.offloaded or (0,) * len(partition.layers)
    per_stage = [_memory(s) for s in partition.memory]
    memory = per_stage[0] if per_stage else _memory((layout.zero_stage, layout.offload_weights,
                                                     layout.offload_gradients, layout.offload_optimizer))
    own = [m if m != memory else None for m in per_stage] or [None] * len(partition.layers)
    stages, start = [], 0
    for layers, recompute, count, stage_memory in zip(partition.layers, partition.recompute, offloaded, own):
        stages.append(StagePlan(layer_start=start, layer_end=start + layers, num_recompute_layers=recompute,
                                num_offloaded_layers=count, memory=stage_memory))
        start += layers
    # stock DeepSpeed's ZeRO-3 keeps no more parameters gathered than its reuse rule holds anyway
    # (cost/memory.py zero3_reuse_set) and, where it gathers nothing, fetches whole blocks
    # (Plan.zero3_fetch_unit); evaluate.py row_args costs every row so
    stock_z3 = is_stock_zero3(layout.executor, memory.zero_stage)
    whole_blocks = stock_z3 and gathers_nothing(layout.dp, memory.offload_weights_ratio)
    return Plan(executor=layout.executor, model=request.model, cluster=request.cluster,
                zero3_max_live="reuse_set" if stock_z3 else "deepspeed_default",
                zero3_fetch_unit="block" if whole_blocks else "module",
                head_loss="fused" if candidate.fused_head_loss else "logits",
                global_batch_size=request.global_batch_size,
                seq_len=request.seq_len, dtype=request.dtype, dp=layout.dp, tp=layout.tp,
                micro_batch_size=layout.micro_batch, grad_accum_steps=layout.grad_accum, memory=memory,
                stages=tuple(stages), gpu_memory_cap_bytes=request.gpu_memory_cap_bytes)


def predicted_plan(request: TuneRequest, candidate: Candidate, hardware) -> Plan:
    """plan_from_candidate with Plan.prediction = mist_ds.cost.predict_plan (same numbers as
    `python -m mist_ds.predict`)."""
    from mist_ds.cost import predict_plan

    plan = plan_from_candidate(request, candidate)
    return plan.model_copy(update={"prediction": predict_plan(plan, hardware)})
