"""The ONE place of the accuracy suite that knows the Plan schema (mist_ds/config/plan.py).

`to_plan` turns a case's knobs into a Plan; `knobs_of` reads the same knobs back from any Plan (the
report classifies committed plans, older runs' plans included, by them). When the Plan schema
changes, port these two functions and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.units import GIB


@dataclass(frozen=True)
class Knobs:
    """A plan as the suite describes it: plain data, independent of the Plan schema."""

    model: str
    """mist_ds preset name."""
    num_gpus: int
    cap_gib: float | None
    """Per-GPU memory cap in GiB (None: the whole card)."""
    seq_len: int
    global_batch: int
    micro_batch: int
    zero: int
    pp: int = 1
    dp: int = 1
    tp: int = 1
    layers: tuple[int, ...] = ()
    """Blocks per pipeline stage (empty: an even split, earlier stages take the remainder)."""
    recompute: tuple[int, ...] = (0,)
    """Recomputed blocks per stage (one value: the same for every stage)."""
    act_offload: tuple[int, ...] = (0,)
    """Blocks per stage whose saved activations go to CPU memory (after the recomputed ones)."""
    offload_optimizer: float = 0.0
    """Fraction of optimizer states offloaded, and of gradients unless offload_gradients says otherwise
    (DeepSpeed moves both together)."""
    offload_gradients: float | None = None
    """Fraction of gradients offloaded where it differs from offload_optimizer (mistpipe plans only;
    None: offload_optimizer's)."""
    offload_weights: float = 0.0
    """Fraction of 16-bit weights offloaded (ZeRO-3 only, all or nothing in DeepSpeed)."""
    executor: str = "deepspeed"
    """Plan.executor: 'deepspeed' (stock engines) or 'mistpipe' (mist_ds/runtime/mistpipe)."""
    zero3_max_live: str = "deepspeed_default"
    """Plan.zero3_max_live: ZeRO-3's stage3_max_live_parameters, DeepSpeed's default or the reuse set."""
    zero3_fetch_unit: str = "module"
    """Plan.zero3_fetch_unit: what ZeRO-3 fetches as one unit, each submodule or each transformer block."""


def _per_stage(values: tuple[int, ...], pp: int, what: str) -> tuple[int, ...]:
    if len(values) == 1:
        return values * pp
    if len(values) != pp:
        raise ValueError(f"{what} lists {len(values)} stages, the plan has {pp}")
    return values


def stage_layers(num_layers: int, knobs: Knobs) -> tuple[int, ...]:
    """Blocks per stage: the knobs' split, or an even one."""
    if knobs.layers:
        return _per_stage(knobs.layers, knobs.pp, "layers")
    base, extra = divmod(num_layers, knobs.pp)
    return tuple(base + (i < extra) for i in range(knobs.pp))


def to_plan(knobs: Knobs) -> Plan:
    """The Plan the runtime runs for these knobs (raises ValueError on an inconsistent case)."""
    model = get_preset(knobs.model)
    if knobs.pp * knobs.dp * knobs.tp != knobs.num_gpus:
        raise ValueError(f"pp {knobs.pp} x dp {knobs.dp} x tp {knobs.tp} != {knobs.num_gpus} GPUs")
    per_rank = knobs.micro_batch * knobs.dp
    if knobs.global_batch % per_rank:
        raise ValueError(f"global batch {knobs.global_batch} is not a multiple of micro-batch x dp {per_rank}")
    layers = stage_layers(model.num_layers, knobs)
    recompute = _per_stage(knobs.recompute, knobs.pp, "recompute")
    act = _per_stage(knobs.act_offload, knobs.pp, "act_offload")
    stages, start = [], 0
    for count, rc, off in zip(layers, recompute, act):
        stages.append(StagePlan(layer_start=start, layer_end=start + count, num_recompute_layers=rc,
                                num_offloaded_layers=off))
        start += count
    memory = MemoryStrategy(zero_stage=knobs.zero, offload_weights_ratio=knobs.offload_weights,
                            offload_gradients_ratio=(knobs.offload_optimizer if knobs.offload_gradients is None
                                                     else knobs.offload_gradients),
                            offload_optimizer_ratio=knobs.offload_optimizer)
    cap = None if knobs.cap_gib is None else int(knobs.cap_gib * GIB)
    return Plan(model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=knobs.num_gpus),
                global_batch_size=knobs.global_batch, seq_len=knobs.seq_len, dp=knobs.dp, tp=knobs.tp,
                micro_batch_size=knobs.micro_batch, grad_accum_steps=knobs.global_batch // per_rank,
                memory=memory, stages=tuple(stages), gpu_memory_cap_bytes=cap, executor=knobs.executor,
                zero3_max_live=knobs.zero3_max_live,
                zero3_fetch_unit=knobs.zero3_fetch_unit)


def knobs_of(plan: Plan) -> Knobs:
    """The knobs of any Plan (inverse of to_plan for the plans it makes; version-1 files are migrated
    on load, config/plan_v1.py)."""
    memory = plan.memory
    cap = None if plan.gpu_memory_cap_bytes is None else round(plan.gpu_memory_cap_bytes / GIB, 3)
    return Knobs(model=plan.model.name, num_gpus=plan.cluster.num_gpus, cap_gib=cap,
                 seq_len=plan.seq_len, global_batch=plan.global_batch_size,
                 micro_batch=plan.micro_batch_size, zero=memory.zero_stage, pp=plan.num_stages,
                 dp=plan.dp, tp=plan.tp, layers=tuple(s.num_layers for s in plan.stages),
                 recompute=tuple(s.num_recompute_layers for s in plan.stages),
                 act_offload=tuple(s.num_offloaded_layers for s in plan.stages),
                 offload_optimizer=memory.offload_optimizer_ratio,
                 offload_gradients=(None if memory.offload_gradients_ratio == memory.offload_optimizer_ratio
                                    else memory.offload_gradients_ratio),
                 offload_weights=memory.offload_weights_ratio, executor=plan.executor,
                 zero3_max_live=plan.zero3_max_live,
                 zero3_fetch_unit=plan.zero3_fetch_unit)
