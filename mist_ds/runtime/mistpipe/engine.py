"""MistPipeEngine: DeepSpeed's PipelineEngine running a stage's own memory strategy.

What stays DeepSpeed's: the 1F1B schedule (as data), micro-batch loading, p2p activation/gradient
exchange, the forward/backward instructions and loss aggregation (PipelineEngine's own methods).
What is ours: the model call and loss backward (`_ModuleCall`: no DeepSpeed optimizer wraps them)
and the end-of-batch instructions (tied-gradient reduction, ReduceScatterGrads,
ShardedOptimizerStep), executed by StageRuntime over the stage's flat units.
"""

from __future__ import annotations

import os

import torch
from deepspeed.runtime.config import DeepSpeedConfig
from deepspeed.runtime.engine import DeepSpeedEngine
from deepspeed.runtime.pipe import schedule as ds_schedule
from deepspeed.runtime.pipe.engine import PipelineEngine

from mist_ds.config.executors import MISTPIPE
from mist_ds.runtime.mistpipe.actoffload import QUEUE_BLOCKS, RELOAD_SLABS
from mist_ds.runtime.mistpipe.memory import StageMemory, offload_path
from mist_ds.runtime.mistpipe.optimizer import adam_hyperparameters
from mist_ds.runtime.mistpipe.schedule import (MistTrainSchedule, ReduceScatterGrads,
                                               ShardedOptimizerStep)
from mist_ds.runtime.mistpipe.stage import FUSED_WGRAD, StageRuntime
from mist_ds.runtime.mistpipe.streams import Streams
from mist_ds.runtime.mistpipe.unit import UnitEnv
from mist_ds.runtime.model import fuse_head_and_loss

# ds_config sections this engine implements itself: DeepSpeed must not build an optimizer, a ZeRO
# wrapper or a mixed-precision wrapper around the stage (mistpipe reads them, then drops them).
OWN_SECTIONS = ("optimizer", "scheduler", "zero_optimization", "bf16", "fp16", "gradient_clipping",
                "data_types", "torch_autocast", "amp", "mistpipe")
SIZES = MISTPIPE.constants  # slot counts and thresholds the cost model charges (config/executors.py)


class _ModuleCall(DeepSpeedEngine):
    """Sits between PipelineEngine and DeepSpeedEngine in MistPipeEngine's MRO, so PipelineEngine's
    `super().forward(inputs)` and `super().backward(loss)` land here: a plain module call (counted
    as a forward pass of the stage) and a backward of loss / gradient_accumulation_steps (what
    DeepSpeedEngine.backward does before any optimizer-specific scaling)."""

    def forward(self, *inputs, **kwargs):
        self.stage_runtime.begin_pass()
        return self.module(*inputs, **kwargs)

    def backward(self, loss, retain_graph=False, scale_wrt_gas=True):
        scaled = loss / self.gradient_accumulation_steps() if scale_wrt_gas else loss
        scaled.backward(retain_graph=retain_graph)
        return scaled


class MistPipeEngine(PipelineEngine, _ModuleCall):
    """A PipelineEngine whose stage shards and offloads per its StageMemory (see package doc)."""

    _INSTRUCTION_MAP = {
        **{kind: fn for kind, fn in PipelineEngine._INSTRUCTION_MAP.items()
           if kind not in (ds_schedule.ReduceGrads, ds_schedule.OptimizerStep)},
    }

    def __init__(self, stage_memory: StageMemory, own_config: dict, runtime_options: dict, **kwargs):
        super().__init__(has_bool_tensors=False, **kwargs)
        self.stage_memory = stage_memory
        self.compute_dtype = own_config["dtype"]
        check_dtypes(self.module, self.compute_dtype)
        grid = self.grid
        env = UnitEnv(streams=Streams(self.device), dtype=self.compute_dtype,
                      dp_group=grid.get_data_parallel_group(),
                      dp_world=grid.get_data_parallel_world_size(),
                      dp_rank=grid.get_data_parallel_rank(),
                      opt_world=grid.get_data_parallel_world_size() if stage_memory.shards_optimizer else 1,
                      pinned=runtime_options.get("pin_memory", True), grad_dtype=own_config["grad_dtype"])
        self.stage_runtime = StageRuntime(
            self.module, stage_memory, env, hyper=own_config["adam"], clip=own_config["clip"],
            mp_group=grid.get_model_parallel_group(), tp_rank=grid.get_slice_parallel_rank(),
            is_block=runtime_options["is_block"], num_slots=runtime_options.get("num_slots", SIZES.num_slots),
            min_offload_numel=runtime_options.get("min_offload_numel", SIZES.min_offload_numel),
            optimizer_offload_path=runtime_options["optimizer_offload_path"],
            defer_step=defers_step(runtime_options.get("defer_optimizer_step", "none"),
                                   self.stage_id),
            num_reload_slabs=runtime_options.get("num_reload_slabs", RELOAD_SLABS),
            d2h_queue_bytes=runtime_options.get("d2h_queue_bytes"),
            d2h_queue_blocks=runtime_options.get("d2h_queue_blocks", QUEUE_BLOCKS),
            swap_gradients=runtime_options.get("swap_gradients", "device"),
            fused_wgrad=runtime_options.get("fused_wgrad", FUSED_WGRAD))
        if runtime_options.get("fused_head_loss") and self.is_last_stage():
            fuse_head_and_loss(self.module, 1.0 / self.gradient_accumulation_steps())  # _ModuleCall.backward's
        self.optimizer = self.stage_runtime.optimizer  # PipelineEngine asserts one exists
        self.optimizer_offload_path = runtime_options["optimizer_offload_path"]
        """The path this stage's offloaded optimizer share takes (memory.py offload_path)."""

    def _train_schedule(self):
        return MistTrainSchedule(micro_batches=self.micro_batches, stages=self.num_stages,
                                 stage_id=self.stage_id)

    def _exec_backward_pass(self, buffer_id):
        """PipelineEngine's backward pass; on the last stage, then drop the micro-batch's logits from
        pipe_buffers['outputs']. DeepSpeed's returns there before clearing them (it clears them on every
        other stage), so each of the last stage's two buffers kept its logits until a later forward
        overwrote it: two sets beside the current one at the end of a forward, one beside it and the
        head's weight gradient in its backward (S35-4, Qwen2-7B mb 8: three 4.64 GiB sets at the
        allocated peak, bench/results/runtime/logits_held_S35/; cost/mistpipe.py _held)."""
        PipelineEngine._exec_backward_pass(self, buffer_id)
        if self.is_last_stage():
            self.pipe_buffers["outputs"][buffer_id] = None

    def _exec_reduce_tied_grads(self):
        self.stage_runtime.reduce_tied(self.module.get_tied_weights_and_groups())

    def _exec_reduce_scatter_grads(self):
        self.stage_runtime.reduce_gradients()

    def _exec_sharded_step(self):
        self.stage_runtime.step()
        self._global_grad_norm = self.stage_runtime.optimizer.global_grad_norm
        self.global_steps += 1
        self.global_samples += self.train_batch_size()

    def get_global_grad_norm(self) -> float | None:
        return self._global_grad_norm

    def destroy(self):
        """DeepSpeed's destroy, after taking the stage runtime's hooks off the module."""
        runtime = getattr(self, "stage_runtime", None)
        if runtime is not None:
            runtime.release()
        super().destroy()

    _INSTRUCTION_MAP.update({
        ds_schedule.BackwardPass: _exec_backward_pass,
        ds_schedule.ReduceTiedGrads: _exec_reduce_tied_grads,
        ReduceScatterGrads: _exec_reduce_scatter_grads,
        ShardedOptimizerStep: _exec_sharded_step,
    })


DEFER_MODES = ("none", "first", "all")


def recorded_fused_head_loss(plan) -> bool | None:
    """RunReport.fused_head_loss of a run of `plan`: for a mistpipe plan whether it asks for the fused head loss
    (Plan.head_loss; runtime/build.py build_mistpipe passes it to build_mistpipe_engine), else None."""
    return plan.head_loss == "fused" if plan.executor == MISTPIPE.name else None


def recorded_releases_logits(plan) -> bool | None:
    """RunReport.releases_logits of a run of `plan`: True for a mistpipe plan (MistPipeEngine._exec_backward_pass),
    else None."""
    return True if plan.executor == MISTPIPE.name else None


def defers_step(mode: str, stage_id: int) -> bool:
    """Whether stage `stage_id` defers its blocks' optimizer steps into the next forward. 'first':
    only stage 0 (later stages' eager step already runs in the pipeline's warm-up bubble: it
    starts when the global-norm all-reduce returns, right after stage 0's last backward, and
    stage s waits s forward passes for its first activation)."""
    if mode not in DEFER_MODES:
        raise ValueError(f"defer_optimizer_step must be one of {DEFER_MODES}, not {mode!r}")
    return mode == "all" or (mode == "first" and stage_id == 0)


def share_host_cores(requested: int | None = None) -> int:
    """Set this rank's torch intra-op (OpenMP) thread count for the host side of the optimizer
    step; returns it. Every rank of a node runs that host work at the same moment (the global
    norm's all-reduce lines the stages up), and by default each rank's torch, hence DeepSpeedCPUAdam
    (whose OpenMP loop runs on torch's OpenMP runtime: its extension links no libgomp of its own),
    uses every CPU: 2 ranks x 32 threads on the 32-CPU H200 host (bench/results/engine/
    adam_paths_h200_2026-11-30.json: torch_threads 32). `requested` None: the CPUs this process
    may run on divided by the node's ranks (LOCAL_SIZE from DeepSpeed's launcher, LOCAL_WORLD_SIZE
    from torchrun), as DeepSpeed's own `--bind_cores_to_rank` sets OMP_NUM_THREADS; an explicit
    OMP_NUM_THREADS in the environment wins. Never raises the count."""
    if requested is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        local = int(os.environ.get("LOCAL_SIZE") or os.environ.get("LOCAL_WORLD_SIZE") or 1)
        requested = max(1, len(os.sched_getaffinity(0)) // max(1, local))
    threads = max(1, min(int(requested), torch.get_num_threads()))
    torch.set_num_threads(threads)
    return threads


def check_dtypes(module: torch.nn.Module, dtype: torch.dtype) -> None:
    """The stage must be built in the compute dtype (DeepSpeed does not cast it for us here)."""
    wrong = {p.dtype for p in module.parameters()} - {dtype}
    if wrong:
        raise ValueError(f"mistpipe: the stage's parameters are {sorted(map(str, wrong))}, the "
                         f"ds_config asks for {dtype}; build the module in that dtype")


def split_config(ds_config: dict) -> tuple[dict, dict]:
    """(config DeepSpeed sees, what mistpipe takes from the rest: dtype, Adam, clipping)."""
    if (ds_config.get("fp16") or {}).get("enabled"):
        raise ValueError("mistpipe runs bf16 or fp32 (fp16 needs loss scaling, which it does not do)")
    dtype = torch.bfloat16 if (ds_config.get("bf16") or {}).get("enabled") else torch.float32
    accum = (ds_config.get("data_types") or {}).get("grad_accum_dtype")
    grad_dtype = {None: None, "fp32": torch.float32, "bf16": torch.bfloat16}.get(accum, "bad")
    if grad_dtype == "bad":
        raise ValueError(f"mistpipe: data_types.grad_accum_dtype must be fp32 or bf16, not {accum!r}")
    own = {"dtype": dtype, "grad_dtype": grad_dtype, "adam": adam_hyperparameters(ds_config),
           "clip": float(ds_config.get("gradient_clipping", 0.0))}
    return {k: v for k, v in ds_config.items() if k not in OWN_SECTIONS}, own


def default_is_block(module: torch.nn.Module) -> bool:
    from mist_ds.runtime.blocks import TransformerBlock

    return isinstance(module, TransformerBlock)


def build_mistpipe_engine(module, stage_memory, ds_config: dict, *, is_block=default_is_block,
                          pin_memory: bool = True, num_slots: int = SIZES.num_slots,
                          min_offload_numel: int = SIZES.min_offload_numel,
                          optimizer_offload_path: str | None = None,
                          defer_optimizer_step: str = "none",
                          host_threads: int | None = None, num_reload_slabs: int = RELOAD_SLABS,
                          d2h_queue_bytes: int | None = None,
                          d2h_queue_blocks: int = QUEUE_BLOCKS, swap_gradients: str = "device",
                          fused_wgrad: bool = FUSED_WGRAD, fused_head_loss: bool = False) -> MistPipeEngine:
    """This rank's MistPipeEngine for `module` (a PipelineModule holding this rank's stage, built
    in the ds_config's precision on this rank's device) with `stage_memory` (a StageMemory, e.g.
    StageMemory.from_plan(plan, stage_id), or any object with its five attributes).
    `ds_config` is what emit.ds_config.build_ds_config writes (for a mistpipe plan, or a stock
    one): batch sizes and gradient accumulation go to DeepSpeed; the optimizer, gradient_clipping
    and bf16 sections are read here; zero_optimization and the mistpipe label are ignored
    (stage_memory decides). Call after torch.distributed is initialised, instead of
    deepspeed.initialize; train with engine.train_batch(data_iter). `optimizer_offload_path`:
    'gpu_swap' (AdamW on the device over swapped-in host states) or 'cpu_adam' (DeepSpeedCPUAdam on
    the host) forces that path; None: the stage's path in the ds_config's mistpipe section (the cost
    model's choice, the faster by cost/mistpipe_step.py offload_step_s), else gpu_swap
    (memory.py offload_path); `defer_optimizer_step`: 'none', 'first' (stage 0 defers each block's update into
    the next forward, overlapped on a side stream) or 'all'; `is_block` picks the stage's layers
    that become per-block units; `host_threads`: this rank's torch threads when the stage updates
    optimizer states on the host (share_host_cores; None: the node's CPUs divided by its ranks);
    `num_reload_slabs`: device slabs offloaded activations are reloaded into (actoffload.py
    ReloadPool; 0: a fresh allocation per reloaded tensor, the engine before the pool);
    `d2h_queue_blocks`: the offloader holds each offloaded tensor until its copy to the host is done
    and the compute stream waits for the oldest copies beyond this many offloaded blocks' bytes
    (MistpipeConstants.d2h_queue_blocks; 0: the caching allocator holds them, record_stream);
    `d2h_queue_bytes`: a bound in bytes instead (actoffload.py module doc); `swap_gradients`: where the
    gpu_swap path reads device-section gradients (optimizer.py SWAP_GRADIENTS); `fused_wgrad`: the
    blocks' linears add their weight gradients into the accumulation buffer in their GEMM
    (runtime/wgrad.py; the default is MistpipeConstants.fused_wgrad, with its measurement; False: a
    separate add per gradient, bench/engine/unfused_wgrad_train.py); `fused_head_loss`: the last stage computes
    the LM head and its cross-entropy in one chunked pass that never holds the logits (runtime/fused_head_loss.py;
    off by default: CPU-tested, not yet measured on a GPU nor priced by the cost model)."""
    memory = StageMemory.of(stage_memory)
    optimizer_offload_path = offload_path(ds_config, module.stage_id, optimizer_offload_path)
    if memory.offload_optimizer_ratio > 0 and optimizer_offload_path == "cpu_adam":
        share_host_cores(host_threads)
    config, own = split_config(ds_config)
    grid = module.mpu()
    config_class = DeepSpeedConfig(config, grid)
    options = {"is_block": is_block, "pin_memory": pin_memory, "num_slots": num_slots,
               "min_offload_numel": min_offload_numel,
               "optimizer_offload_path": optimizer_offload_path,
               "defer_optimizer_step": defer_optimizer_step, "num_reload_slabs": num_reload_slabs,
               "d2h_queue_bytes": d2h_queue_bytes, "d2h_queue_blocks": d2h_queue_blocks,
               "swap_gradients": swap_gradients, "fused_wgrad": fused_wgrad, "fused_head_loss": fused_head_loss}
    engine = MistPipeEngine(memory, own, options, args=None, model=module,
                            model_parameters=[p for p in module.parameters() if p.requires_grad],
                            mpu=grid, config=config, config_class=config_class)
    engine._configure_python_gc()
    return engine
