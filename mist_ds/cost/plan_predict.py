"""predict_plan: a Plan's iteration time, throughput, MFU and per-stage memory/time."""

from __future__ import annotations

from mist_ds.config import (HardwareProfile, MemoryBreakdown, Plan, PlanPrediction, StagePlan,
                            StagePrediction, TimeBreakdown)
from mist_ds.cost.memory import ELEM
from mist_ds.cost.pipeline import (inflight_microbatches, pipeline_iteration_time,
                                    slowest_boundary_p2p_s)
from mist_ds.cost.stage import StageCost, StageCostModel


def stage_first_gpu(plan: Plan, index: int) -> int:
    """Global rank of a stage's first GPU: DeepSpeed's PipeDataParallelTopology puts the pipe
    axis outermost (runtime/pipe/topology.py), so stages occupy consecutive rank blocks."""
    return sum(stage.num_gpus for stage in plan.stages[:index])


def p2p_time_s(plan: Plan, model: StageCostModel) -> float:
    """Seconds of the slowest stage-boundary activation transfer (b, s, h) of one micro-batch."""
    boundaries = [(stage_first_gpu(plan, index),
                   ELEM * plan.stages[index].micro_batch_size * plan.seq_len * plan.model.hidden_size)
                  for index in range(1, plan.num_stages)]
    return slowest_boundary_p2p_s(model.rates, boundaries, plan.cluster.gpus_per_node,
                                  plan.cluster.num_nodes)


def evaluate_stage(model: StageCostModel, plan: Plan, index: int) -> StageCost:
    """StageCostModel.evaluate for stage `index` of `plan` (scalars -> 0-d arrays)."""
    stage: StagePlan = plan.stages[index]
    num = plan.num_stages
    return model.evaluate(
        num_layers=stage.num_layers, micro_batch=stage.micro_batch_size, dp=stage.dp,
        tp=stage.tp, zero_stage=stage.zero_stage, offload_weights=stage.offload_weights_ratio,
        offload_gradients=stage.offload_gradients_ratio,
        offload_optimizer=stage.offload_optimizer_ratio,
        offload_activations=stage.offload_activations_ratio,
        num_recompute=stage.num_recompute_layers,
        num_inflight=inflight_microbatches(index, num, plan.grad_accum_steps),
        grad_accum=plan.grad_accum_steps, has_embedding=index == 0, has_head=index == num - 1,
        num_stages=num)


def _stage_prediction(cost: StageCost, pipeline_s: float) -> StagePrediction:
    memory = MemoryBreakdown(
        weights_bytes=int(round(float(cost.weights_bytes))),
        gradients_bytes=int(round(float(cost.gradients_bytes))),
        optimizer_states_bytes=int(round(float(cost.optimizer_states_bytes))),
        activations_bytes=int(round(float(cost.activations_bytes))),
        buffers_bytes=int(round(float(cost.buffers_bytes))))
    time = TimeBreakdown(
        compute_s=float(cost.compute_s), recompute_s=float(cost.recompute_s),
        tp_comm_s=float(cost.tp_comm_s), dp_comm_s=float(cost.dp_comm_s),
        offload_s=float(cost.offload_s), optimizer_s=float(cost.optimizer_s),
        pipeline_s=max(0.0, pipeline_s))
    return StagePrediction(peak_memory_bytes=memory.total_bytes, memory_breakdown=memory,
                           time_breakdown=time,
                           cpu_memory_bytes=int(round(float(cost.cpu_memory_bytes))))


def predict_plan(plan: Plan, hw: HardwareProfile, attention: str = "sdpa") -> PlanPrediction:
    """The cost model's prediction of `plan` on `hw` (PlanPrediction, mist_ds/config/prediction.py)."""
    model = StageCostModel(plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=attention)
    costs = [evaluate_stage(model, plan, i) for i in range(plan.num_stages)]
    grad_accum = plan.grad_accum_steps
    p2p = p2p_time_s(plan, model)
    iteration = pipeline_iteration_time([float(c.stable_time_s) for c in costs],
                                        [float(c.delta_time_s) for c in costs], p2p, grad_accum)
    stages = tuple(
        _stage_prediction(c, iteration - grad_accum * float(c.stable_time_s) - float(c.delta_time_s))
        for c in costs)
    tokens = plan.tokens_per_step
    flops = plan.model.flops_per_token(plan.seq_len) * tokens
    mfu = flops / (iteration * plan.cluster.num_gpus * hw.peak_bf16_tflops * 1e12)
    return PlanPrediction(iteration_time_s=iteration, throughput_tokens_per_s=tokens / iteration,
                          mfu=mfu, stages=stages, hardware_name=hw.name)
