"""Predicted torch.cuda.max_memory_reserved of a stage: the allocated peak plus the holes the caching
allocator cannot reuse, counted in 16-bit parameter partitions for stock DeepSpeed without offload and in
vocabulary matrices with it and for mistpipe (bench/accuracy/RESERVED.md).

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

With the optimizer states offloaded (VOCAB_UNIT_CLASSES; ZeRO-3 with the weights offloaded shares their class)
those partition-sized GPU buffers are gone: the step runs on the CPU. The holes left scale with the vocabulary
instead, one fp32 vocabulary x hidden matrix per stage that holds the embedding or the head (vocab_unit_bytes): a
choice of unit made on the committed runs, held out (bench/accuracy/RESERVED.md, session 69: over the 85 scored ZeRO-3 offload runs at dp 1,
coefficients fitted on one half scored the other at 1.3% median / 11.3% max |error| in vocabulary units
against 4.0% / 21.4% in partitions; ZeRO-1/2 offload 0.6% / 5.6% against 0.9% / 9.2%). Which request
leaves them is not established (a candidate: the loss's vocabulary-sized gradient and logits chunks).

HOLES holds, per class, the median (measured reserved - predicted allocated peak) / the class's unit
(hole_unit_bytes) over the committed runs with expandable segments, as bench/accuracy/reserved_fit.py
derives it from bench/results/accuracy.json (bench/accuracy/RESERVED.md: the runs, and the two
half-splits each class was also fitted on and checked against; tests/cost/test_reserved.py fails
when the committed runs move a coefficient).

The mistpipe engine's stages leave holes that scale with the stage's vocabulary matrices instead
(VOCAB_HOLE; bench/accuracy/RESERVED.md, session 56): its largest blocks are the vocabulary unit's
(bench/engine/alloc_frag.py on Llama-3-8B, bench/results/runtime/frag_l38b_S56: a 3.93 GiB largest hole
at the reserved peak, twice that unit's 16-bit size; which request leaves it is not established). An
empirical term: over the committed mistpipe stages the gap follows the vocabulary matrices' bytes
(correlation 0.91), not the allocated peak (0.37). The holes are a property of the allocator and the
engine's allocation order, not of the card: the same plans reserved the same bytes, to the byte, on an
H100 and an H200 node (batch b56h), so the coefficient lives here, not in a hardware profile.
"""

from __future__ import annotations

from collections.abc import Mapping

from mist_ds.config import HardwareProfile, ModelSpec, Plan
from mist_ds.config.plan import MemoryStrategy
from mist_ds.cost.shapes import layer_shapes, vocab_shard

ELEM = 2  # bytes of a bf16 / fp16 element

HOLES: dict[str, float] = {
    "zero0": 0.87,           # FP16_Optimizer / BF16_Optimizer: fp32 flat gradient beside the 16-bit grads
    "zero1": 1.12,           # stage_1_and_2.py step: flat 16-bit copy left below the fp32 gradient
    "zero2": 1.93,           # the same plus ZeRO-2's per-micro-batch grads_in_partition
    "pipeline": 0.98,        # pipelined ZeRO-1 (pipe/engine.py reduces once per step)
    "zero3": 0.78,           # ZeRO-3, dp > 1: reduce-scatter into the gradient partition
    "zero3_dp1": 0.18,       # ZeRO-3, dp = 1: no reduce-scatter (a small hole)
    "zero12_offload": 2.21,  # optimizer offload (vocabulary units from here on): the step runs on the CPU
    "zero3_offload": 4.17,   # ZeRO-3 with optimizer or parameter offload, dp > 1
    "zero3_offload_dp1": 3.38,
}
"""Free-but-reserved bytes at the reserved peak per class (allocator_class), in the class's unit (hole_unit_bytes):
16-bit partitions (2N/dp bytes), or for VOCAB_UNIT_CLASSES fp32 vocabulary x hidden matrices; fitted on the committed
H200 and H100 runs (module docstring)."""
VOCAB_UNIT_CLASSES = frozenset({"zero12_offload", "zero3_offload", "zero3_offload_dp1"})
"""The classes whose holes are counted in vocabulary matrices (vocab_unit_bytes), not in 16-bit partitions: those
that keep the optimizer states (or the weights) off the GPU (module docstring)."""
VOCAB_HOLE = 0.55
"""Free-but-reserved bytes at a mistpipe stage's reserved peak per fp32 byte of the vocabulary matrices it holds
(vocab_matrix_bytes): the median (measured reserved - predicted allocated peak) / those bytes over the committed
mistpipe stages below their cap (bench/accuracy/reserved_fit.py; about one 16-bit copy of each matrix)."""
FP32 = 4  # bytes of an fp32 element


def allocator_class(memory: MemoryStrategy, dp: int, num_stages: int) -> str:
    """The HOLES class of a stage running with `memory` (ZeRO stage and offload)."""
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
    return round(stage.num_layers * per_layer + (index == 0) * (rows * model.hidden_size + positions)
                 + last * model.norm_params + holds_head_matrix(plan, index) * rows * model.hidden_size)


def holds_head_matrix(plan: Plan, index: int) -> bool:
    """Whether stage `index` holds the head as a matrix of its own: the last stage, when the head is untied or
    on another stage than the embedding."""
    return index == plan.num_stages - 1 and (plan.num_stages > 1 or not plan.model.tie_embeddings)


def partition_bytes(plan: Plan, index: int) -> float:
    """Stage `index`'s 16-bit parameter partition 2N/dp on one rank: the unit holes are counted in."""
    return ELEM * stage_num_params(plan.model, plan, index) / plan.dp


def one_vocab_matrix_bytes(plan: Plan) -> int:
    """fp32 bytes of one vocabulary x hidden matrix on one TP rank."""
    return FP32 * int(vocab_shard(plan.model, plan.tp)) * plan.model.hidden_size


def vocab_matrix_bytes(plan: Plan, index: int) -> int:
    """fp32 bytes of the vocabulary matrices stage `index` holds on one TP rank: the embedding on the first
    stage, the head on the last when it is a matrix of its own (holds_head_matrix)."""
    return one_vocab_matrix_bytes(plan) * ((index == 0) + holds_head_matrix(plan, index))


def counts_vocab_holes(plan: Plan) -> bool:
    """Whether the plan's holes are counted in vocabulary matrices (VOCAB_HOLE: executors other than stock
    DeepSpeed, i.e. mistpipe) rather than in stock DeepSpeed's units (HOLES)."""
    return plan.executor != "deepspeed"


def stage_class(plan: Plan, index: int) -> str:
    """The HOLES class of stock DeepSpeed's stage `index` (allocator_class)."""
    return allocator_class(plan.stage_memory(index), plan.dp, plan.num_stages)


def vocab_unit_bytes(plan: Plan, index: int) -> int:
    """fp32 bytes of one vocabulary x hidden matrix on one TP rank when stage `index` holds the embedding or the head
    (tied or not: one matrix), else 0: the unit of VOCAB_UNIT_CLASSES' holes."""
    return one_vocab_matrix_bytes(plan) * (index == 0 or index == plan.num_stages - 1)


def hole_unit_bytes(plan: Plan, index: int) -> float:
    """The unit stock DeepSpeed's stage `index` counts its holes in: vocab_unit_bytes for VOCAB_UNIT_CLASSES, else its
    16-bit partition."""
    if stage_class(plan, index) in VOCAB_UNIT_CLASSES:
        return vocab_unit_bytes(plan, index)
    return partition_bytes(plan, index)


def hole_bytes(plan: Plan, index: int, holes: Mapping[str, float] = HOLES,
               vocab_hole: float = VOCAB_HOLE) -> float:
    """Free-but-reserved bytes at stage `index`'s reserved peak: `vocab_hole` x its vocabulary matrices for
    mistpipe, else `holes` of its class x the class's unit (hole_unit_bytes)."""
    if counts_vocab_holes(plan):
        return vocab_hole * vocab_matrix_bytes(plan, index)
    return holes[stage_class(plan, index)] * hole_unit_bytes(plan, index)


def predicted_reserved_bytes(plan: Plan, index: int, peak_bytes: int, hw: HardwareProfile,
                             cap_bytes: int | None = None, holes: Mapping[str, float] = HOLES,
                             vocab_hole: float = VOCAB_HOLE) -> int:
    """max_memory_reserved of stage `index` given its predicted (allocated) peak: the peak plus its
    holes (hole_bytes), or the cap when that would pass it (default: the plan's cap, else the card's
    memory)."""
    cap = cap_bytes or plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes
    reserved = round(peak_bytes + hole_bytes(plan, index, holes, vocab_hole))
    return reserved if reserved <= cap else cap
