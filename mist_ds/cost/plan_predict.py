"""predict_plan: a Plan's iteration time, throughput, MFU and per-stage memory/time."""

from __future__ import annotations

import re

from mist_ds.config import (HardwareProfile, MemoryBreakdown, Plan, PlanPrediction, StagePrediction,
                            TimeBreakdown)
from mist_ds.cost.act_offload import COPY_DEFAULT, check_copy_mode
from mist_ds.cost.kernel_set import KernelSet
from mist_ds.cost.memory import ELEM
from mist_ds.cost.mistpipe import FUSED_WGRAD, cost_model_for
from mist_ds.cost.mistpipe_windows import QUEUE_BLOCKS
from mist_ds.cost.clock import PipelineTimeline, simulate_pipeline, slowest_boundary_p2p_s
from mist_ds.cost.stage import StageCost, StageCostModel
from mist_ds.cost.stage_args import plan_stage_args


def stage_first_gpu(plan: Plan, index: int) -> int:
    """Global rank of a stage's first GPU: DeepSpeed's PipeDataParallelTopology puts the pipe
    axis outermost (runtime/pipe/topology.py), so stages occupy consecutive rank blocks."""
    return index * plan.gpus_per_stage


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
    inter = plan.cluster.num_nodes > 1
    return float(model.rates.collective_s("all_reduce", ELEM * rows * plan.model.hidden_size, 2, inter))


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
        pipeline_s=max(0.0, timeline.iteration_s - busy))
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


def predict_plan(plan: Plan, hw: HardwareProfile, kernels: KernelSet | None = None,
                 zero_init: bool = True, optimizer_path: str | None = None,
                 act_offload_copy: str = COPY_DEFAULT, d2h_queue_blocks: int = QUEUE_BLOCKS,
                 swap_gradients: str = "device", host_buffers: str = "registered",
                 fused_wgrad: bool = FUSED_WGRAD) -> PlanPrediction:
    """The cost model's prediction of `plan` on `hw` (PlanPrediction, mist_ds/config/prediction.py)
    when it runs the element-wise and loss kernels `kernels` (cost/kernel_set.py; e.g.
    KernelSet.from_record(run.kernels)); None: the set the runtime runs by default on CUDA at the
    plan's tp (config/kernel_picks.py). `zero_init`: a ZeRO-3 model is built under
    deepspeed.zero.Init (the runtime's way, runtime/build.py uses_zero_init) or, False, whole on
    the GPU first (runs whose RunReport.zero_init is not True: zero_init_of). `optimizer_path`
    (mistpipe): the optimizer offload path every stage ran ('gpu_swap' or 'cpu_adam', a run's record:
    optimizer_path_of); None: each stage's by the rule the engine follows (cost/mistpipe_step.py).
    `act_offload_copy` (stock DeepSpeed): how offloaded blocks' packs copy (cost/act_offload.py):
    'non_blocking', the runtime's, or 'blocking' (a run's record: act_offload_copy_of).
    `d2h_queue_blocks` (mistpipe): the activation offloader's d2h bound in blocks (a run's record:
    d2h_queue_blocks_of; 0: unbounded, the allocator holding the copies' sources). `swap_gradients`
    (mistpipe): where the gpu_swap path reads device-section gradients, 'device' (the engine's) or
    'host' (a run's record: swap_gradients_of). `host_buffers` (mistpipe): how its host buffers are
    allocated (cost/mistpipe_state.py HOST_BUFFERS; a run's record: host_buffers_of). `fused_wgrad`
    (mistpipe): block linears add their weight gradients in their GEMM (cost/mistpipe.py accumulate_s;
    a run's record: fused_wgrad_of)."""
    model = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=plan.attention, kernels=kernels,
                           zero_init=zero_init, optimizer_path=optimizer_path, act_offload_copy=act_offload_copy,
                           d2h_queue_blocks=d2h_queue_blocks, swap_gradients=swap_gradients,
                           host_buffers=host_buffers, fused_wgrad=fused_wgrad)
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


def zero_init_of(recorded: bool | None) -> bool:
    """predict_plan's zero_init for a run that recorded RunReport.zero_init = `recorded`: only a
    recorded True built under deepspeed.zero.Init; None (every report written before the field)
    is the whole-model build the runtime did then."""
    return recorded is True


def optimizer_path_of(adam_impl: str) -> str | None:
    """predict_plan's optimizer_path for a run that recorded RunReport.adam_impl = `adam_impl`: a
    mistpipe run's optimizer record names the offload path it ran ('torch_adamw+gpu_swap',
    'torch_adamw+cpu_adam'; every committed run before the swap path existed recorded the latter and
    ran DeepSpeedCPUAdam). Both named (stages on different paths) or neither: None, the rule."""
    named = [path for path in ("gpu_swap", "cpu_adam") if path in adam_impl.split("+")]
    return named[0] if len(named) == 1 else None


def d2h_queue_blocks_of(recorded: int | None) -> int:
    """predict_plan's d2h_queue_blocks for a run that recorded RunReport.d2h_queue_blocks = `recorded`:
    None (every mistpipe run before the bound became the engine's default, 2026-12-01) ran unbounded, 0."""
    return 0 if recorded is None else recorded


def swap_gradients_of(recorded: str | None) -> str:
    """predict_plan's swap_gradients for a run that recorded RunReport.swap_gradients = `recorded`: None
    (every mistpipe run before 2026-12-01 10:55 UTC) took every swapped tail's gradient through the host."""
    return "host" if recorded is None else recorded


def host_buffers_of(recorded: str | None) -> str:
    """predict_plan's host_buffers for a run that recorded RunReport.host_buffers = `recorded`: None
    (every mistpipe run before session 13, 2026-12-01) pinned through torch's allocator."""
    return "torch_pinned" if recorded is None else recorded


def fused_wgrad_of(recorded: bool | None) -> bool:
    """predict_plan's fused_wgrad for a run that recorded RunReport.fused_wgrad = `recorded`: None
    (every run before session 14, 2026-12-01) added its weight gradients separately."""
    return bool(recorded)


NON_BLOCKING_SAVE_ON_CPU = (2, 13)
"""First torch (major, minor) whose save_on_cpu packs non_blocking (pytorch/pytorch PR 175421)."""


def act_offload_copy_of(recorded: str | None, torch_version: str) -> str:
    """predict_plan's act_offload_copy for a run that recorded RunReport.activation_offload_copy =
    `recorded` under RunReport.torch_version = `torch_version`: the record where there is one; else
    the run used torch's save_on_cpu (the runtime before runtime/host_saves.py), which blocks on
    torch < 2.13 and not from 2.13 on. A version that does not start with 'major.minor': ValueError."""
    if recorded is not None:
        return check_copy_mode(recorded)
    match = re.match(r"(\d+)\.(\d+)", torch_version)
    if match is None:
        raise ValueError(f"torch version {torch_version!r} does not start with major.minor")
    version = (int(match.group(1)), int(match.group(2)))
    return "blocking" if version < NON_BLOCKING_SAVE_ON_CPU else "non_blocking"


def stock_act_offload(plan: Plan) -> bool:
    """Whether the stock executor offloads some of `plan`'s blocks (where the pack's copy mode matters)."""
    return plan.executor != "mistpipe" and any(stage.num_offloaded_layers > 0 for stage in plan.stages)


def predict_as_run(plan: Plan, hw: HardwareProfile, run) -> PlanPrediction:
    """predict_plan of `plan` as the run (a RunReport) ran it: its kernels (none recorded: the eager set), its
    ZeRO-3 build, its mistpipe optimizer path, d2h bound, swap's gradient source, host buffers and
    weight-gradient accumulation and, where stock DeepSpeed offloads blocks, its pack's copy mode.
    The one place that turns a run's records into predict_plan's arguments (accuracy scoring, calibration,
    compare)."""
    copy = act_offload_copy_of(run.activation_offload_copy, run.torch_version) if stock_act_offload(plan) else None
    return predict_plan(plan, hw, KernelSet.from_record(run.kernels, run.date_utc), zero_init_of(run.zero_init),
                        optimizer_path_of(run.adam_impl), act_offload_copy=copy or COPY_DEFAULT,
                        d2h_queue_blocks=d2h_queue_blocks_of(run.d2h_queue_blocks),
                        swap_gradients=swap_gradients_of(run.swap_gradients),
                        host_buffers=host_buffers_of(run.host_buffers), fused_wgrad=fused_wgrad_of(run.fused_wgrad))
