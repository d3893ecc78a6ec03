"""Feasibility predicates of the search: each says why a strategy cannot run, and cites the reason.

The search only proposes what our runtime can execute. The runtime runs one stock DeepSpeed engine
(`mist_ds.emit.ds_config.build_ds_config` is the single source of truth for what it can express),
so these predicates mirror DeepSpeed's own checks; `tests/search/test_feasibility.py` verifies that every
layout the space enumerates is accepted by `build_ds_config`.
"""

from __future__ import annotations

from mist_ds.config import ClusterSpec, ModelSpec


def tp_divides_heads(model: ModelSpec, tp: int) -> bool:
    """Megatron-style tensor parallelism splits attention by heads: tp must divide the query heads and
    the key/value heads (Shoeybi et al. 2019, section 3; Plan._tp_divides_heads)."""
    return model.num_heads % tp == 0 and model.num_kv_heads % tp == 0


def tp_within_node(cluster: ClusterSpec, tp: int) -> bool:
    """TP all-reduces run every layer: keep each TP group inside one node. DeepSpeed's
    PipeModelDataParallelTopology (runtime/pipe/topology.py) makes the model axis the fastest-varying,
    so TP groups are runs of `tp` consecutive ranks, inside a node exactly when tp divides the node size."""
    return cluster.gpus_per_node % tp == 0


def uniform_mesh(cluster: ClusterSpec, num_stages: int, tp: int) -> bool:
    """PipeModelDataParallelTopology gives every pipeline stage the same dp x tp grid, so the stage
    count times tp must divide the GPU count (runtime/pipe/topology.py)."""
    return cluster.num_gpus % (num_stages * tp) == 0


def stages_have_layers(model: ModelSpec, num_stages: int) -> bool:
    """Every pipeline stage holds at least one transformer block (Plan._layer_range_ordered)."""
    return num_stages <= model.num_layers


def batch_divides(global_batch: int, micro_batch: int, dp: int) -> bool:
    """DeepSpeed requires train_batch_size = micro_batch x grad_accum x dp exactly
    (runtime/config.py, _batch_assertion)."""
    return global_batch % (micro_batch * dp) == 0


def pipeline_zero_supported(num_stages: int, zero_stage: int) -> bool:
    """DeepSpeed's PipelineEngine asserts ZeRO stage < 2 (runtime/pipe/engine.py, PipelineEngine.__init__:
    'ZeRO-2 and ZeRO-3 are incompatible with pipeline parallelism')."""
    return num_stages == 1 or zero_stage <= 1


def optimizer_offload_supported(zero_stage: int, ratio: float) -> bool:
    """Optimizer offload needs ZeRO >= 1 (ZeRO-Offload lives in the ZeRO optimizers), and a fractional
    ratio is accepted only with ZeRO-3 (runtime/zero/config.py, DeepSpeedZeroConfig.offload_ratio_check;
    build_ds_config enforces both)."""
    if ratio == 0.0:
        return True
    if zero_stage == 0:
        return False
    return ratio == 1.0 or zero_stage == 3


def weight_offload_supported(zero_stage: int, ratio: float) -> bool:
    """Parameter offload exists only in ZeRO-3 and moves all parameters (offload_param has no ratio:
    runtime/zero/offload_config.py, DeepSpeedZeroOffloadParamConfig)."""
    return ratio == 0.0 or (zero_stage == 3 and ratio == 1.0)


def gradient_offload_follows_optimizer(gradient_ratio: float, optimizer_ratio: float) -> bool:
    """DeepSpeed keeps the fp32 gradient partition next to the optimizer state it feeds: offloading the
    optimizer offloads its gradients, nothing else can (stage_1_and_2.py / stage3.py, cpu_offload)."""
    return gradient_ratio == optimizer_ratio


def activation_offload_supported(ratio: float) -> bool:
    """Activation offload is executed by our runtime, per stage and at any ratio: it keeps the saved
    tensors of round(ratio x non-recomputed layers) blocks in pinned CPU memory (torch save_on_cpu;
    mist_ds/runtime/model.py OffloadedBlock and block_roles); DeepSpeed's config has no such knob."""
    return 0.0 <= ratio <= 1.0


def host_memory_fits(cpu_bytes_per_gpu, gpus_per_node: int, host_memory_bytes: int):
    """Offloaded state of all ranks of a node must fit in the node's host memory (HardwareProfile
    host_memory_bytes); vectorised over numpy arrays."""
    return cpu_bytes_per_gpu * gpus_per_node <= host_memory_bytes
