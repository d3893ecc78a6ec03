"""Predicted torch.cuda.max_memory_reserved of a stage: the allocated peak plus the holes the caching
allocator cannot reuse, counted in 16-bit parameter partitions (bench/accuracy/RESERVED.md).

Reserved memory is reported only: the search keeps deciding on the allocated peak, which is what
decides OOM under expandable segments (config/hardware.py allocator_overhead_fraction).

Mechanism (torch c10/cuda/CUDACachingAllocator.cpp, Note [Expandable Segments], and
torch/cuda/memory.py): an expandable segment maps pages at its end; a block freed in its middle
stays mapped (reserved) and is reused only by a request that fits it, and only on the stream that
freed it. The reserved peak is therefore the allocated peak plus the free holes left by
DeepSpeed's large short-lived buffers, whose sizes scale with the 16-bit partition 2N/dp, not with
the allocated peak: ZeRO-1/2 step() flattens the 16-bit partition and upcasts it to the fp32
gradient partition (stage_1_and_2.py step: flatten_dense_tensors_aligned(...).to(fp32)), leaving
its flat copy and, for ZeRO-2, the per-micro-batch grads_in_partition as holes; ZeRO-3 with dp > 1
reduce-scatters gradients into the partition through buffers of the same scale (stage3.py
__reduce_and_partition_ipg_grads), while with dp = 1 it reduces nothing and leaves no hole.
When the allocated peak plus the holes would pass the cap, the allocator reserves up to the cap,
then unmaps its free pages and retries instead of failing (release_cached_blocks): the reserved peak
is the cap. Of the eight scored runs this applies to (make accuracy, session 33), six reserved
within 0.2% of their cap (five recorded 15-47 allocator retries per rank, RunReport.alloc_retries); two 2-GPU
pipeline winners stopped 4-5% short of it (until session 33 the model predicted the allocated
peak here, 5-8% short on the six).

HOLE_PARTITIONS holds, per class, the median (measured reserved - predicted allocated peak) /
partition over the committed runs with expandable segments, as bench/accuracy/reserved_fit.py
derives it from bench/results/accuracy.json (bench/accuracy/RESERVED.md: the runs, and the two
half-splits each class was also fitted on and checked against; tests/cost/test_reserved.py fails
when the committed runs move a coefficient).
"""

from __future__ import annotations

from collections.abc import Mapping

from mist_ds.config import HardwareProfile, ModelSpec, Plan
from mist_ds.config.plan import MemoryStrategy
from mist_ds.cost.shapes import layer_shapes, vocab_shard

ELEM = 2  # bytes of a bf16 / fp16 element

HOLE_PARTITIONS: dict[str, float] = {
    "zero0": 0.87,           # FP16_Optimizer / BF16_Optimizer: fp32 flat gradient beside the 16-bit grads
    "zero1": 1.11,           # stage_1_and_2.py step: flat 16-bit copy left below the fp32 gradient
    "zero2": 1.87,           # the same plus ZeRO-2's per-micro-batch grads_in_partition
    "zero12_offload": 0.23,  # optimizer offload: the step runs on the CPU, only staging buffers move
    "pipeline": 0.98,        # pipelined ZeRO-1 (pipe/engine.py reduces once per step)
    "zero3": 0.68,           # ZeRO-3, dp > 1: reduce-scatter into the gradient partition
    "zero3_dp1": 0.18,       # ZeRO-3, dp = 1: no reduce-scatter (a small hole)
    "zero3_offload": 0.30,   # ZeRO-3 with optimizer or parameter offload, dp > 1
    "zero3_offload_dp1": 0.46,
}
"""Free-but-reserved bytes at the reserved peak, in 16-bit partitions (2N/dp bytes), per class
(allocator_class); fitted on the committed H200 and H100 runs (module docstring)."""


def allocator_class(memory: MemoryStrategy, dp: int, num_stages: int) -> str:
    """The HOLE_PARTITIONS class of a stage running with `memory` (ZeRO stage and offload)."""
    offload = memory.offload_optimizer_ratio > 0 or memory.offload_weights_ratio > 0
    if memory.zero_stage == 3:
        return ("zero3_offload" if offload else "zero3") + ("" if dp > 1 else "_dp1")
    if offload:
        return "zero12_offload"
    return "pipeline" if num_stages > 1 else f"zero{memory.zero_stage}"


def stage_num_params(model: ModelSpec, plan: Plan, index: int) -> int:
    """Parameters of stage `index` on one TP rank (the N of cost/memory.py stage_params)."""
    stage = plan.stages[index]
    shapes = layer_shapes(model)
    per_layer = shapes.sharded_params / plan.tp + shapes.replicated_params
    rows = int(vocab_shard(model, plan.tp))
    positions = model.max_seq_len * model.hidden_size if model.position_embedding == "learned" else 0
    last = index == plan.num_stages - 1
    head_matrix = last and (plan.num_stages > 1 or not model.tie_embeddings)
    return round(stage.num_layers * per_layer + (index == 0) * (rows * model.hidden_size + positions)
                 + last * (model.norm_params + head_matrix * rows * model.hidden_size))


def partition_bytes(plan: Plan, index: int) -> float:
    """Stage `index`'s 16-bit parameter partition 2N/dp on one rank: the unit holes are counted in."""
    return ELEM * stage_num_params(plan.model, plan, index) / plan.dp


def uses_cache_fraction(plan: Plan) -> bool:
    """Whether the plan's reserved memory is predicted with the profile's allocator_cache_fraction
    (executors other than stock DeepSpeed: mistpipe) rather than HOLE_PARTITIONS."""
    return plan.executor != "deepspeed"


def predicted_reserved_bytes(plan: Plan, index: int, peak_bytes: int, hw: HardwareProfile,
                             cap_bytes: int | None = None, holes: Mapping[str, float] = HOLE_PARTITIONS) -> int:
    """max_memory_reserved of stage `index` given its predicted (allocated) peak: the peak plus
    `holes` (default HOLE_PARTITIONS) of its class x its 16-bit partition, or the cap when that
    would pass it (default: the plan's cap, else the card's memory). Executors other than
    stock DeepSpeed keep the profile's allocator_cache_fraction (uses_cache_fraction,
    HardwareProfile.reserved_bytes)."""
    cap = cap_bytes or plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes
    if uses_cache_fraction(plan):
        return hw.reserved_bytes(peak_bytes, cap)
    hole = holes[allocator_class(plan.stage_memory(index), plan.dp, plan.num_stages)]
    reserved = round(peak_bytes + hole * partition_bytes(plan, index))
    return reserved if reserved <= cap else cap
