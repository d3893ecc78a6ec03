"""Plan -> an engine: process groups, model (pipelined or not), ds_config, memory cap.

A plan whose executor is `deepspeed` runs on `deepspeed.initialize` (a PipelineEngine when it has
stages); a `mistpipe` plan (per-stage ZeRO/offload, config/executors.py) always builds a
MistPipelineModule and runs on `build_mistpipe_engine` (runtime/mistpipe), one or more stages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field

import deepspeed
import torch
import torch.distributed as dist
from deepspeed.accelerator import get_accelerator

from mist_ds.config import Plan
from mist_ds.config.writeback import DEFAULT_WRITEBACK_CAST, check_writeback_cast
from mist_ds.emit.ds_config import Precision, UnsupportedPlanError, build_ds_config, with_precision
from mist_ds.runtime.blocks import rotary_dims
from mist_ds.runtime.kernels import Kernels, attention_for, resolved, runtime_kernels
from mist_ds.runtime.loss import resolve_loss
from mist_ds.runtime.model import BuildOptions, MistModel
from mist_ds.runtime.pipeline_module import MistPipelineModule, plan_roles
from mist_ds.runtime.topology import MistMpu, make_topology
from mist_ds.runtime.writeback_cast import apply_writeback_cast

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


@dataclass
class Runtime:
    """A built engine and the coordinates the training loop needs."""

    engine: object
    pipelined: bool
    dp: int
    dp_rank: int
    device: object
    precision: str
    adam_impl: str = ""
    kernels: dict[str, str] = field(default_factory=dict)
    """What the model runs (resolve_kernels; RunReport.kernels)."""
    zero_init: bool = False
    """The model was built under deepspeed.zero.Init (uses_zero_init; RunReport.zero_init)."""
    writeback_cast: str | None = None
    """How ZeRO-3 writes fp32 masters into 16-bit partitions across the bus (config/writeback.py;
    RunReport.writeback_cast); None: no sub-group's master and partition sit on different devices."""


def on_cpu() -> bool:
    """True when DeepSpeed's accelerator is the CPU (DS_ACCELERATOR=cpu)."""
    return get_accelerator().device_name() == "cpu"


def init_distributed() -> None:
    """gloo on CPU, NCCL on GPUs (DeepSpeed reads RANK/WORLD_SIZE/MASTER_* set by its launcher)."""
    deepspeed.init_distributed(dist_backend="gloo" if on_cpu() else "nccl")


def apply_memory_cap(plan: Plan, local_rank: int) -> None:
    """plan.gpu_memory_cap_bytes -> torch.cuda.set_per_process_memory_fraction (emulates a smaller
    card: the caching allocator raises OutOfMemoryError beyond it)."""
    if plan.gpu_memory_cap_bytes is None or on_cpu():
        return
    total = torch.cuda.get_device_properties(local_rank).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, plan.gpu_memory_cap_bytes / total), local_rank)


def check_world(plan: Plan) -> None:
    """The launcher must start exactly the plan's GPU count."""
    if dist.get_world_size() != plan.cluster.num_gpus:
        raise UnsupportedPlanError(f"plan needs {plan.cluster.num_gpus} ranks, launched with "
                                   f"{dist.get_world_size()}")


def fused_adam_buildable() -> bool:
    """DeepSpeed's FusedAdam JIT-compiles an op: on GPUs it needs nvcc. On the CPU we never pick it:
    its JIT build shares a lock in ~/.cache/torch_extensions with every other DeepSpeed process."""
    if on_cpu():
        return False
    return shutil.which("nvcc") is not None or bool(os.environ.get("CUDA_HOME"))


def optimizer_config(config: dict, plan: Plan, lr: float | None, impl: str) -> tuple[dict, str]:
    """The ds_config optimizer section with an lr override and the Adam implementation:
    'fused' (DeepSpeed FusedAdam), 'torch' (torch.optim.AdamW via DeepSpeed's torch_adam), or
    'auto' (fused when buildable). Optimizer offload always uses DeepSpeed's CPU Adam. A mistpipe
    plan's engine runs its own Adam (runtime/mistpipe/optimizer.py ShardedAdam) whatever `impl` says:
    torch's AdamW (fused on CUDA) on the device and, for a stage's offloaded fraction, the path its
    ds_config names (gpu_swap or DeepSpeedCPUAdam: runtime/mistpipe/memory.py offload_path), recorded
    as e.g. 'torch_adamw+gpu_swap' (adam_impl_of)."""
    params = dict(config["optimizer"]["params"])
    if lr is not None:
        params["lr"] = lr
    if plan.executor == "mistpipe":
        from mist_ds.runtime.mistpipe.memory import adam_impl_of

        offloading = [i for i in range(plan.num_stages) if plan.stage_memory(i).offload_optimizer_ratio > 0]
        chosen = adam_impl_of(config, offloading)
        return {**config, "optimizer": {**config["optimizer"], "params": params}}, chosen
    offloaded = plan.memory.offload_optimizer_ratio > 0
    use_torch = impl == "torch" or (impl == "auto" and not fused_adam_buildable())
    if use_torch and not offloaded:
        params["torch_adam"] = True
    chosen = "cpu_adam" if offloaded else ("torch_adamw" if use_torch else "fused_adam")
    return {**config, "optimizer": {**config["optimizer"], "params": params}}, chosen


def resolve_kernels(plan: Plan, on_cuda: bool, dtype: torch.dtype,
                    loss: str = "auto") -> tuple[Kernels, str, dict[str, str]]:
    """Resolve once what the model runs: the plan's attention and 'auto' element-wise ops
    (runtime/kernels.py runtime_kernels) and loss on this device and dtype. Returns the concrete
    Kernels and loss the modules are built with (their per-call resolution keeps a concrete name on
    tensors of this device, so what runs is these) and the RunReport.kernels record of them."""
    elementwise = resolved(runtime_kernels(plan.attention), on_cuda)
    attention = attention_for(plan.attention, on_cuda, dtype in (torch.bfloat16, torch.float16))
    loss = resolve_loss(loss, on_cuda, plan.tp)
    swiglu = plan.model.activation == "swiglu"
    record = {"norm": elementwise["norm"], "activation": elementwise["activation"] if swiglu else "torch",
              "rope": elementwise["rope"] if rotary_dims(plan.model) else "none",
              "attention": attention, "loss": loss}
    return Kernels(**elementwise, attention=attention), loss, record


def build_runtime(plan: Plan, local_rank: int, precision: Precision | None = None,
                  seed: int = 1234, lr: float | None = None, adam: str = "auto",
                  ds_config: dict | None = None, writeback_cast: str = DEFAULT_WRITEBACK_CAST) -> Runtime:
    """Build the model for this rank and wrap it in its executor's engine. `ds_config` is the
    ds_config.json the plan runs with (run.py checks it against the plan); None: built from the plan.
    `writeback_cast`: how a stock ZeRO-3 engine writes fp32 masters into 16-bit partitions across the bus
    (config/writeback.py; runtime/writeback_cast.py)."""
    check_writeback_cast(writeback_cast)
    precision = precision or ("fp32" if on_cpu() else plan.dtype)
    config = with_precision(ds_config if ds_config is not None else build_ds_config(plan), precision)
    config, adam_impl = optimizer_config(config, plan, lr, adam)
    check_world(plan)
    device = torch.device(get_accelerator().device_name(local_rank))
    if device.type == "cuda":
        torch.cuda.set_device(device)
        apply_memory_cap(plan, local_rank)
    topology = make_topology(plan.num_stages, plan.dp, plan.tp)
    mpu = MistMpu(topology)
    kernels, loss, record = resolve_kernels(plan, device.type == "cuda", DTYPES[precision])
    opts = BuildOptions(tp_group=mpu.tp_group, dtype=DTYPES[precision], device=device, seed=seed,
                        kernels=kernels, loss=loss)
    if plan.executor == "mistpipe":
        engine = build_mistpipe(plan, opts, topology, mpu, config)
    else:
        engine = build_deepspeed(plan, opts, topology, mpu, config)
    # ZeRO-3 runs only on the unpipelined DeepSpeedEngine (uses_zero_init's plans)
    writeback = apply_writeback_cast(engine.optimizer, writeback_cast) if uses_zero_init(plan) else None
    return Runtime(engine=engine, pipelined=plan.num_stages > 1 or plan.executor == "mistpipe", dp=plan.dp,
                   dp_rank=mpu.get_data_parallel_rank(), device=device, precision=precision,
                   adam_impl=adam_impl, kernels=record, zero_init=uses_zero_init(plan), writeback_cast=writeback)


def uses_zero_init(plan: Plan) -> bool:
    """True when the runtime builds the plan's model under deepspeed.zero.Init: ZeRO-3 on stock
    DeepSpeed (never pipelined there: config/executors.py pipeline_zero). mistpipe and ZeRO 0-2
    build the whole model (stage) on the device."""
    return plan.executor == "deepspeed" and plan.num_stages == 1 and plan.memory.zero_stage == 3


def zero_init_context(plan: Plan, opts: BuildOptions, mpu: MistMpu, config: dict):
    """deepspeed.zero.Init for a uses_zero_init plan (else a no-op context): each module's
    parameters are partitioned over the data-parallel group as soon as its __init__ returns
    (partition_parameters.py InsertPostInitMethodToModuleSubClasses.partition_after ->
    Init._post_init_method), onto the CPU when the plan offloads weights (offload_param: remote_device
    'cpu', pinned as the config says), so no rank ever holds the whole 16-bit model. The group is the
    one deepspeed.initialize would partition over (zero/parameter_offload.py
    _convert_to_zero_parameters: mpu.get_data_parallel_group()). tensor_overrides=[]: our
    constructors give every tensor its device and dtype; DeepSpeed's default overrides would turn
    runtime/tp.py seeded_normal's fp32 draw into a 16-bit draw and change the weights."""
    if not uses_zero_init(plan):
        return contextlib.nullcontext()
    offload = config.get("zero_optimization", {}).get("offload_param") or {}
    on_host = offload.get("device", "none") == "cpu"
    return deepspeed.zero.Init(config_dict_or_path=config, mpu=mpu,
                               data_parallel_group=mpu.get_data_parallel_group(),
                               remote_device="cpu" if on_host else None,
                               pin_memory=on_host and bool(offload.get("pin_memory", False)),
                               dtype=opts.dtype, tensor_overrides=[])


def build_deepspeed(plan: Plan, opts: BuildOptions, topology, mpu: MistMpu, config: dict):
    """Stock DeepSpeed: a PipelineEngine for pipelines, else a DeepSpeedEngine over MistModel (built
    under deepspeed.zero.Init for ZeRO-3: zero_init_context). A plan fetching whole blocks
    (Plan.zero3_fetch_unit) needs nothing here: its config's zero_optimization.leaf_module names the
    block class, which deepspeed.initialize flags before registering ZeRO-3's hooks (emit/ds_config.py)."""
    if plan.num_stages > 1:
        model = MistPipelineModule(plan, opts, topology)
        engine_mpu = None  # the PipelineEngine uses the module's own grid
    else:
        with zero_init_context(plan, opts, mpu, config):
            model = MistModel(plan.model, opts, plan_roles(plan))
        engine_mpu = mpu  # also when tp = 1: deepspeed.utils.groups keeps the last engine's mpu
    params = [p for p in model.parameters() if p.requires_grad]
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=params, config=config,
                                           mpu=engine_mpu)
    return engine


def build_mistpipe(plan: Plan, opts: BuildOptions, topology, mpu: MistMpu, config: dict):
    """mistpipe: this rank's stage as a MistPipelineModule (one stage too) on build_mistpipe_engine
    with the stage's own memory setting (StageMemory.from_plan) and the plan's head loss (Plan.head_loss)."""
    from mist_ds.runtime.mistpipe import StageMemory, build_mistpipe_engine

    model = MistPipelineModule(plan, opts, topology)
    # only a keyword the plan asks for: bench/engine's A/B sides bind build_mistpipe_engine's keywords with
    # functools.partial (engine_option.py), which an explicit default here would override
    options = {"fused_head_loss": True} if plan.head_loss == "fused" else {}
    return build_mistpipe_engine(model, StageMemory.from_plan(plan, mpu.coord.pipe), config, **options)
