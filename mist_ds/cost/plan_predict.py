"""predict_plan: a Plan's iteration time, throughput, MFU and per-stage memory/time."""

from __future__ import annotations

from mist_ds.config import (HardwareProfile, MemoryBreakdown, Plan, PlanPrediction, RunReport, StagePrediction,
                            TimeBreakdown)
from mist_ds.config.machine import with_copy_slowdowns
from mist_ds.cost.conditions import RunConditions, with_plan_choices
from mist_ds.cost.groups import stage_first_gpu, tied_sync_spans_nodes
from mist_ds.cost.memory import ELEM
from mist_ds.cost.mistpipe import cost_model_for
from mist_ds.cost.clock import PipelineTimeline, simulate_pipeline, slowest_boundary_p2p_s
from mist_ds.cost.stage import StageCost, StageCostModel
from mist_ds.cost.stage_args import plan_stage_args


def p2p_time_s(plan: Plan, model: StageCostModel) -> float:
    """Seconds of the slowest stage-boundary activation transfer (b, s, h) of one micro-batch."""
    nbytes = ELEM * plan.micro_batch_size * plan.seq_len * plan.model.hidden_size
    boundaries = [(stage_first_gpu(plan, index), nbytes) for index in range(1, plan.num_stages)]
    return slowest_boundary_p2p_s(model.rates, boundaries, plan.cluster.gpus_per_node,
                                  plan.cluster.num_nodes)


def tied_sync_s(plan: Plan, model: StageCostModel) -> float | None:
    """ReduceTiedGrads of a pipeline with tied embeddings: an all-reduce of the (vocab/tp, h) 16-bit
    embedding gradient between the first and the last stage (pipe/module.py allreduce_tied_weight_gradients)."""
    if plan.num_stages == 1 or not plan.model.tie_embeddings:
        return None
    rows = plan.model.padded_vocab_size(plan.tp) // plan.tp
    return float(model.rates.collective_s("all_reduce", ELEM * rows * plan.model.hidden_size, 2,
                                          tied_sync_spans_nodes(plan.cluster.num_nodes)))


def _stage_prediction(cost: StageCost, timeline: PipelineTimeline, grad_accum: int) -> StagePrediction:
    memory = MemoryBreakdown(
        weights_bytes=int(round(float(cost.weights_bytes))),
        gradients_bytes=int(round(float(cost.gradients_bytes))),
        optimizer_states_bytes=int(round(float(cost.optimizer_states_bytes))),
        activations_bytes=int(round(float(cost.activations_bytes))),
        buffers_bytes=int(round(float(cost.buffers_bytes))))
    busy = grad_accum * float(cost.stable_time_s) + float(cost.delta_time_s)
    time = TimeBreakdown(
        compute_s=float(cost.compute_s), recompute_s=float(cost.recompute_s),
        tp_comm_s=float(cost.tp_comm_s), dp_comm_s=float(cost.dp_comm_s),
        offload_s=float(cost.offload_s), optimizer_s=float(cost.optimizer_s),
        pipeline_s=max(0.0, timeline.iteration_s - busy), host_wait_s=max(0.0, float(cost.host_wait_s)))
    forward = float(cost.forward_time_s)
    return StagePrediction(peak_memory_bytes=memory.total_bytes, memory_breakdown=memory,
                           time_breakdown=time, cpu_memory_bytes=int(round(float(cost.cpu_memory_bytes))),
                           microbatch_forward_s=forward,
                           microbatch_backward_s=float(cost.stable_time_s) - forward,
                           step_s=float(cost.delta_time_s))


def timeline_of(plan: Plan, stages: tuple[StagePrediction, ...] | None = None) -> PipelineTimeline:
    """The pipeline clock (cost/clock.py simulate_pipeline) of a predicted plan: what predict_plan
    reports and plan.png draws, from the prediction's own numbers."""
    pred = plan.prediction
    stages = stages if stages is not None else pred.stages
    return simulate_pipeline([s.microbatch_forward_s for s in stages], [s.microbatch_backward_s for s in stages],
                             [s.step_s for s in stages], pred.p2p_s, plan.grad_accum_steps, pred.tied_sync_s)


def plan_cost_model(plan: Plan, hw: HardwareProfile, conditions: RunConditions | None = None) -> StageCostModel:
    """The stage cost model predict_plan prices `plan`'s stages with on `hw` under `conditions` (the plan's own
    engine choices applied; a machine's measured copy pair replacing the profile's)."""
    conditions = with_plan_choices(plan, conditions)
    if conditions.copy_slowdowns is not None:
        hw = with_copy_slowdowns(hw, *conditions.copy_slowdowns)
    return cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                          plan.cluster.gpus_per_node, attention=plan.attention, conditions=conditions)


def predict_plan(plan: Plan, hw: HardwareProfile, conditions: RunConditions | None = None) -> PlanPrediction:
    """The cost model's prediction of `plan` on `hw` (PlanPrediction, mist_ds/config/prediction.py)
    when it runs under `conditions` (cost/conditions.py: kernels, ZeRO-3 build, mistpipe engine
    options, activation-offload copy mode, the machine's measured both-ways copies, which replace the
    profile's pair: config/machine.py); None: RunConditions(), what the runtime does now. What the plan itself
    asks the engine for (Plan.head_loss) applies either way (conditions.py with_plan_choices)."""
    model = plan_cost_model(plan, hw, conditions)
    costs = [model.evaluate(plan_stage_args(plan, i)) for i in range(plan.num_stages)]
    p2p, tied = p2p_time_s(plan, model), tied_sync_s(plan, model)
    forward = [float(c.forward_time_s) for c in costs]
    timeline = simulate_pipeline(forward, [float(c.stable_time_s) - f for c, f in zip(costs, forward)],
                                 [float(c.delta_time_s) for c in costs], p2p, plan.grad_accum_steps, tied)
    iteration = timeline.iteration_s
    stages = tuple(_stage_prediction(c, timeline, plan.grad_accum_steps) for c in costs)
    tokens = plan.tokens_per_step
    flops = plan.model.flops_per_token(plan.seq_len) * tokens
    mfu = flops / (iteration * plan.cluster.num_gpus * hw.peak_bf16_tflops * 1e12)
    return PlanPrediction(iteration_time_s=iteration, throughput_tokens_per_s=tokens / iteration,
                          mfu=mfu, stages=stages, hardware_name=hw.name, p2p_s=p2p, tied_sync_s=tied)


def predict_as_run(plan: Plan, hw: HardwareProfile, run: RunReport) -> PlanPrediction:
    """predict_plan of `plan` as the run ran it (RunConditions.of_run: its records)."""
    return predict_plan(plan, hw, RunConditions.of_run(plan, run))
