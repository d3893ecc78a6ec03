"""RunConditions: how a run executed a plan, beyond the plan itself (kernels, ZeRO-3 build, mistpipe
engine options, activation-offload copy mode, ZeRO-3's cross-device write-back): what predict_plan and the stage
cost models take.
The defaults are what the runtime does now (what the search and `predict` cost); RunConditions.of_run
reads a RunReport's records, through the `*_of` functions below, one per record."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mist_ds.config import Plan, RunReport
from mist_ds.config.executors import MISTPIPE
from mist_ds.config.writeback import DEFAULT_WRITEBACK_CAST, check_writeback_cast
from mist_ds.cost.act_offload import COPY_DEFAULT, check_copy_mode
from mist_ds.cost.kernel_set import KernelSet


@dataclass(frozen=True)
class RunConditions:
    """How a plan runs, for the cost model (cost/stage.py StageCostModel, cost/mistpipe.py
    MistpipeStageCostModel, cost/plan_predict.py predict_plan). Fields of one executor are ignored
    by the other's model."""

    kernels: KernelSet | None = None
    """Both executors: the element-wise and loss kernels that ran (cost/kernel_set.py). None: the set
    the runtime runs by default on CUDA at each strategy's tp (config/kernel_picks.py), what the search
    costs. A run's record: KernelSet.from_record(RunReport.kernels, RunReport.date_utc)."""

    zero_init: bool = True
    """Stock DeepSpeed: ZeRO-3 stages are built under deepspeed.zero.Init (True: the runtime's way,
    runtime/build.py uses_zero_init) or whole on the GPU before deepspeed.initialize partitions them
    (False); it picks the start-up term (cost/memory.py, Build). mistpipe always builds its stage whole
    (mistpipe_state.py state_bytes 'build'). A run's record: zero_init_of(RunReport.zero_init)."""

    act_offload_copy: str = COPY_DEFAULT
    """Stock DeepSpeed: how offloaded blocks' packs copy (cost/act_offload.py pass_walls): 'non_blocking',
    the runtime's (runtime/host_saves.py COPY_MODE), or 'blocking' (torch < 2.13's save_on_cpu).
    mistpipe moves activations itself. A run's record: act_offload_copy_of(RunReport.activation_offload_copy,
    RunReport.torch_version), where the plan offloads blocks on stock DeepSpeed (stock_act_offload)."""

    optimizer_path: str | None = None
    """mistpipe: the optimizer offload path forced on every stage ('gpu_swap' or 'cpu_adam'); None: each
    stage's by the rule the engine follows (cost/mistpipe_step.py optimizer_path). A run's record:
    optimizer_path_of(RunReport.adam_impl)."""

    d2h_queue_blocks: int = MISTPIPE.constants.d2h_queue_blocks
    """mistpipe: the activation offloader's d2h bound in blocks (MistpipeConstants.d2h_queue_blocks,
    cost/mistpipe_windows.py QUEUE_BLOCKS; 0: unbounded, the allocator holding the copies' sources).
    A run's record: d2h_queue_blocks_of(RunReport.d2h_queue_blocks)."""

    swap_gradients: str = "device"
    """mistpipe: where the gpu_swap path reads device-section gradients (mistpipe_step.offload_step_s):
    'device', the engine's, or 'host'. A run's record: swap_gradients_of(RunReport.swap_gradients)."""

    copy_slowdowns: tuple[float, float] | None = None
    """The machine's own (h2d, d2h) slowdowns beside each other, in place of the profile's pair
    (config/machine.py with_copy_slowdowns; predict_plan applies it). None: the profile's. A run's record:
    RunReport.copy_slowdowns (runtime/copy_probe.py measures it at start), empty for None."""

    host_buffers: str = "registered"
    """mistpipe: how the engine allocates its host buffers (cost/mistpipe_state.py HOST_BUFFERS, checked
    by EngineBuffers): 'registered', the engine's, or 'torch_pinned'. A run's record:
    host_buffers_of(RunReport.host_buffers)."""

    fused_wgrad: bool = MISTPIPE.constants.fused_wgrad
    """mistpipe: block linears add their weight gradients in their GEMM (cost/mistpipe.py accumulate_s;
    MistpipeConstants.fused_wgrad, the engine's default). A run's record: fused_wgrad_of(RunReport.fused_wgrad)."""

    norm_in_pieces: bool = True
    """mistpipe: the gradient norm's step transient is one swap chunk of fp32, not a whole unit shard
    (cost/mistpipe_state.py state_bytes; the engine's since session 57). A run's record:
    norm_in_pieces_of(RunReport.norm_in_pieces)."""

    releases_logits: bool = True
    """mistpipe: the last stage holds no earlier micro-batch's logits (cost/mistpipe.py _held; the engine's since
    session 57). A run's record: releases_logits_of(RunReport.releases_logits)."""

    fused_head_wgrad: bool = MISTPIPE.constants.fused_wgrad
    """mistpipe: an untied LM head adds its weight gradient in its GEMM, so its backward makes no fresh
    vocabulary x hidden gradient (cost/mistpipe.py _passing; the engine's since session 58). A run's
    record: fused_head_wgrad_of(RunReport.fused_head_wgrad)."""

    fused_tied_head_wgrad: bool = MISTPIPE.constants.fused_wgrad
    """mistpipe: the same for a tied LM head (the embedding matrix as head; the engine's since S58-2). A run's
    record: fused_head_wgrad_of(RunReport.fused_tied_head_wgrad)."""

    fused_head_loss: bool = False
    """mistpipe: the last stage computes the LM head and its cross-entropy in one chunked pass that never holds
    the logits (runtime/fused_head_loss.py; the engine's fused_head_loss option, off by default): its stage
    holds the fused loss's working set instead of the logits (cost/mistpipe.py _logits) and the head's GEMMs
    run chunk by chunk (cost/layer_time.py fused_head_s). A run's record:
    fused_head_loss_of(RunReport.fused_head_loss)."""

    writeback_cast: str = DEFAULT_WRITEBACK_CAST
    """Stock DeepSpeed ZeRO-3: how each fp32 master reaches a 16-bit partition across the bus (config/writeback.py):
    'host' (DeepSpeed's pageable copy, cost/work.py pageable_d2h_bytes and pageable_h2d_bytes) or 'device'
    (runtime/writeback_cast.py; cost/writeback.py). A run's record: writeback_cast_of(RunReport.writeback_cast)."""

    def __post_init__(self):
        check_copy_mode(self.act_offload_copy)
        check_writeback_cast(self.writeback_cast)

    @classmethod
    def of_run(cls, plan: Plan, run: RunReport) -> RunConditions:
        """The conditions `run` ran `plan` under, from its records (none recorded: what the runtime did
        before the record existed): the one place that turns a run's records into the cost model's
        inputs (accuracy scoring, calibration, compare). The pack's copy mode applies only where stock
        DeepSpeed offloads blocks; elsewhere it keeps the default."""
        copy = (act_offload_copy_of(run.activation_offload_copy, run.torch_version) if stock_act_offload(plan)
                else COPY_DEFAULT)
        return cls(kernels=KernelSet.from_record(run.kernels, run.date_utc), zero_init=zero_init_of(run.zero_init),
                   act_offload_copy=copy, optimizer_path=optimizer_path_of(run.adam_impl),
                   d2h_queue_blocks=d2h_queue_blocks_of(run.d2h_queue_blocks),
                   swap_gradients=swap_gradients_of(run.swap_gradients),
                   host_buffers=host_buffers_of(run.host_buffers), fused_wgrad=fused_wgrad_of(run.fused_wgrad),
                   norm_in_pieces=norm_in_pieces_of(run.norm_in_pieces),
                   releases_logits=releases_logits_of(run.releases_logits),
                   fused_head_wgrad=fused_head_wgrad_of(run.fused_head_wgrad),
                   fused_tied_head_wgrad=fused_head_wgrad_of(run.fused_tied_head_wgrad),
                   fused_head_loss=fused_head_loss_of(run.fused_head_loss),
                   copy_slowdowns=tuple(run.copy_slowdowns) or None,
                   writeback_cast=writeback_cast_of(run.writeback_cast))


def zero_init_of(recorded: bool | None) -> bool:
    """RunConditions.zero_init for a run that recorded RunReport.zero_init = `recorded`: only a
    recorded True built under deepspeed.zero.Init; None (every report written before the field)
    is the whole-model build the runtime did then."""
    return recorded is True


def optimizer_path_of(adam_impl: str) -> str | None:
    """RunConditions.optimizer_path for a run that recorded RunReport.adam_impl = `adam_impl`: a
    mistpipe run's optimizer record names the offload path it ran ('torch_adamw+gpu_swap',
    'torch_adamw+cpu_adam'; every committed run before the swap path existed recorded the latter and
    ran DeepSpeedCPUAdam). Both named (stages on different paths) or neither: None, the rule."""
    named = [path for path in ("gpu_swap", "cpu_adam") if path in adam_impl.split("+")]
    return named[0] if len(named) == 1 else None


def d2h_queue_blocks_of(recorded: int | None) -> int:
    """RunConditions.d2h_queue_blocks for a run that recorded RunReport.d2h_queue_blocks = `recorded`:
    None (every mistpipe run before the bound became the engine's default, 2026-12-01) ran unbounded, 0."""
    return 0 if recorded is None else recorded


def swap_gradients_of(recorded: str | None) -> str:
    """RunConditions.swap_gradients for a run that recorded RunReport.swap_gradients = `recorded`: None
    (every mistpipe run before 2026-12-01 10:55 UTC) took every swapped tail's gradient through the host."""
    return "host" if recorded is None else recorded


def host_buffers_of(recorded: str | None) -> str:
    """RunConditions.host_buffers for a run that recorded RunReport.host_buffers = `recorded`: None
    (every mistpipe run before session 13, 2026-12-01) pinned through torch's allocator."""
    return "torch_pinned" if recorded is None else recorded


def fused_wgrad_of(recorded: bool | None) -> bool:
    """RunConditions.fused_wgrad for a run that recorded RunReport.fused_wgrad = `recorded`: None
    (every run before session 14, 2026-12-01) added its weight gradients separately."""
    return bool(recorded)


def norm_in_pieces_of(recorded: bool | None) -> bool:
    """RunConditions.norm_in_pieces for a run that recorded RunReport.norm_in_pieces = `recorded`: None
    (every mistpipe run before session 57, 2026-12-06) squared whole unit shards into temporaries."""
    return bool(recorded)


def releases_logits_of(recorded: bool | None) -> bool:
    """RunConditions.releases_logits for a run that recorded RunReport.releases_logits = `recorded`: None
    (every mistpipe run before session 57, 2026-12-06) left earlier micro-batches' logits in DeepSpeed's buffers."""
    return bool(recorded)


def fused_head_wgrad_of(recorded: bool | None) -> bool:
    """RunConditions.fused_head_wgrad (fused_tied_head_wgrad) for a run that recorded RunReport.fused_head_wgrad
    (fused_tied_head_wgrad) = `recorded`: None (every mistpipe run before session 58, 2026-12-06; for a tied head
    before S58-2) made the head's weight gradient fresh."""
    return bool(recorded)


def writeback_cast_of(recorded: str | None) -> str:
    """RunConditions.writeback_cast for a run that recorded RunReport.writeback_cast = `recorded`: None (another
    plan kind, or every run before session 66) wrote back DeepSpeed's way, 'host'."""
    return "host" if recorded is None else recorded


def with_plan_choices(plan: Plan, conditions: RunConditions | None) -> RunConditions:
    """`conditions` (None: RunConditions(), what the runtime does now) with what the plan itself asks the engine
    for: a fused head loss where Plan.head_loss is 'fused' (the runtime builds mistpipe with it:
    runtime/build.py)."""
    conditions = conditions or RunConditions()
    if plan.head_loss == "fused" and not conditions.fused_head_loss:
        return replace(conditions, fused_head_loss=True)
    return conditions


def fused_head_loss_of(recorded: bool | None) -> bool:
    """RunConditions.fused_head_loss for a run that recorded RunReport.fused_head_loss = `recorded`: None (a stock
    DeepSpeed run, or a mistpipe run before session 58) made the logits."""
    return bool(recorded)


NON_BLOCKING_SAVE_ON_CPU = (2, 13)
"""First torch (major, minor) whose save_on_cpu packs non_blocking (pytorch/pytorch PR 175421)."""


def act_offload_copy_of(recorded: str | None, torch_version: str) -> str:
    """RunConditions.act_offload_copy for a run that recorded RunReport.activation_offload_copy =
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
