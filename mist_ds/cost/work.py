"""Communication of one micro-batch / one iteration of a stage, per GPU (sympy): collective
volumes, host<->device bytes and optimizer work. Hardware turns these into seconds
(cost/rates.py); compute time comes from the profile's kernel grid (cost/layer_time.py).

Sources:
* TP collectives: this runtime's layout (runtime/tp.py): every row-parallel linear all-reduces its
  (b, s, h) output in forward; every column-parallel linear all-reduces its input gradient in
  backward (one per fused linear: q|k|v and up or gate|up, FusedColumnLinear); recompute repeats
  the forward ones;
* DP: ZeRO-0 all-reduces 16-bit gradients once per step (engine.py allreduce_gradients);
  ZeRO-2 reduces gradients every micro-batch, ZeRO-1 once per step, at the accumulation boundary
  (stage_1_and_2.py reduce_ready_partitions_and_remove_grads; a pipeline's after its last backward,
  pipe/engine.py _exec_reduce_grads -> reduce_gradients), by ALL-REDUCING each ipg bucket:
  stage_1_and_2.py average_tensor puts every slice under the ("allreduce", group) key while
  `use_multi_rank_bucket_allreduce` (zero/config.py, default True; emit/ds_config.py leaves it) holds,
  and allreduce_and_scatter -> allreduce_bucket calls dist.all_reduce, each rank then keeping its
  own slices (allreduce_and_copy_with_multiple_ranks). Measured: the ZeRO-2 trace
  (bench/results/runtime/parity/traces/zero2.mist.rank0.trace.json.gz) runs 176
  ncclDevKernel_AllReduce_Sum_bf16 and no ReduceScatter. Then all-gather updated 16-bit
  partitions after step (all_gather_dp_groups); ZeRO-3 all-gathers parameters in forward and backward
  of every micro-batch and reduce-scatters gradients every micro-batch (stage3.py, partitioned_param_coordinator.py);
* offload: optimizer offload moves the fp32 gradient partition to the CPU at the boundary
  (stage_1_and_2.py async_inplace_copy_grad_to_fp32_buffer_from_gpu; stage3.py
  _offload_grad_partition_at_boundary) and the updated partition back as 16 bits: ZeRO-1/2 from a
  pinned buffer (step: bit16_partitions.copy_(param_buffer_of_bit16_for_cpu_offload_groups)), ZeRO-3
  from its fp32 master partition, which _create_fp32_partitions does not pin
  (_reassign_or_swap_out_partitioned_parameters: a blocking copy_ that converts to 16 bits on the CPU,
  then copies from pageable memory: torch aten/src/ATen/native/cuda/Copy.cu copy_kernel_cuda).
  Every micro-batch ZeRO-3 offload
  keeps the 16-bit gradient partition in CPU memory and accumulates through the GPU (partition_grads:
  copy out, copy back, add), and ZeRO-2 offload with accumulation does the same per parameter
  (async_accumulate_grad_in_cpu_via_gpu), waiting on the previous copy's event before each
  parameter (_wait_for_offload_copies), so its copies do not overlap compute.
  ZeRO-3 offload_param copies the 16-bit partition in for every gather; activation offload moves
  the saved bytes of na blocks out in forward and back in backward.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.cost.memory import ELEM, FP32, stage_params
from mist_ds.cost.shapes import LayerShapes, block_tensors, embedding_tensors, final_norm_tensors, layer_shapes
from mist_ds.cost.symbols import BF, FB, GA, HD, OF, PP, VS, Z0, Z1, Z2, Z3, E, L, b, dp, oo, ow, r

# Modules of the runtime's block whose ZeRO-3 hooks run per pass (runtime/blocks.py: the block,
# norm1, attn, attn.qkv, attn.o, norm2, mlp, mlp.gate_up | mlp.up, mlp.down); DeepSpeed registers
# the fetch/release hooks on every submodule (parameter_offload.py _register_deepspeed_module), or on
# the block alone when it is a z3 leaf module (Plan.zero3_fetch_unit = 'block': the registration stops
# descending at a leaf, and fetch_sub_module gathers the leaf's parameters recursively).
Z3_MODULES_PER_BLOCK = 9
# Per element of the 16-bit gradient partition at a ZeRO-3 optimizer-offload boundary (comm_exprs'
# boundary_pass_bytes says which pass): the fp64 norm, the fp32 upcast, a GPU sub-group's device copy.
BOUNDARY_NORM_BYTES = ELEM + 2 * 8
BOUNDARY_UPCAST_BYTES = ELEM + FP32
BOUNDARY_GPU_COPY_BYTES = 2 * FP32


def tp_comm_s(rates, t, tp):
    """Seconds of one micro-batch's TP all-reduces on one rank, from comm_exprs' evaluated terms `t`
    (tp_ar_*: the activations', tp_norm_ar_*: the q/k norm weights' gradient) and cost/rates.py `rates`."""
    return (t["tp_ar_count"] * rates.collective_s("all_reduce", t["tp_ar_bytes"], tp, False)
            + t["tp_norm_ar_count"] * rates.collective_s("all_reduce", t["tp_norm_ar_bytes"], tp, False))


@dataclass(frozen=True)
class _StageSizes:
    """The sizes comm_exprs' volumes are written in, for one stage of `model` at `seq_len`."""

    model: ModelSpec
    """The model the stage runs a span of blocks of (its block_passes and tensors count per block)."""
    shapes: LayerShapes
    """cost/shapes.py layer_shapes(model): the block's linears."""
    act_bytes: sp.Expr
    """One (b, s, h) activation in 16 bits."""
    n: sp.Expr
    """The stage's parameters (cost/memory.py stage_params)."""
    per_layer: int
    """One block's parameters."""
    grad_bytes: sp.Expr
    """The stage's 16-bit gradients."""
    gathered: sp.Expr
    """Parameters ZeRO-3 gathers per micro-batch: a block's weights in its forward, its backward and again in the
    recomputed forward of a checkpointed block (the same fetch hooks z3_fetches counts)."""
    positions: int
    """Elements of a learned position table (0 without one)."""
    fp: sp.Expr
    """1 for ZeRO-0 without BF16_Optimizer (engine.py's DDP path), else 0."""
    shard: sp.Expr
    """The share of the optimizer state a rank holds: whole for ZeRO-0 without BF16_Optimizer, 1/dp otherwise."""


def _stage_sizes(model: ModelSpec, seq_len: int) -> _StageSizes:
    """_StageSizes of one stage of `model` at `seq_len` (symbols of cost/symbols.py where the plan decides)."""
    n, per_layer = stage_params(model)[:2]
    fp = Z0 - BF
    return _StageSizes(
        model=model, shapes=layer_shapes(model), act_bytes=ELEM * b * seq_len * model.hidden_size, n=n,
        per_layer=per_layer, grad_bytes=ELEM * n, gathered=2 * n + r * per_layer,
        positions=model.max_seq_len * model.hidden_size if model.position_embedding == "learned" else 0,
        fp=fp, shard=fp + (1 - fp) / dp)


def comm_exprs(model: ModelSpec, seq_len: int) -> dict[str, sp.Expr]:
    """Collective and host<->device volumes (bytes of the full buffer, nccl-tests convention)."""
    sz = _stage_sizes(model, seq_len)
    return {**_tp_volumes(sz), **_dp_volumes(sz), **_zero3_passes(sz), **_offload_copies(sz), **_copy_passes(sz),
            **_optimizer_work(sz)}


def _tp_volumes(sz: _StageSizes) -> dict[str, sp.Expr]:
    """Per micro-batch TP all-reduces: of the activations and of the q/k norm weights' gradients."""
    model, shapes, act_bytes = sz.model, sz.shapes, sz.act_bytes
    return {
        # per micro-batch, TP all-reduces of (b, s, h): count and size
        "tp_ar_count": (L * (shapes.num_row_linears + shapes.num_column_linears)
                        + r * shapes.num_row_linears + E + HD),
        "tp_ar_bytes": act_bytes,
        # ... and with Qwen3's q/k norms, one small all-reduce per block backward: their replicated (2, head_dim)
        # weight's gradient, each TP rank's sum over its own heads (runtime/blocks.py Attention: copy_to_tp)
        "tp_norm_ar_count": L * int(model.qk_norm),
        "tp_norm_ar_bytes": ELEM * model.qk_norm_params,
    }


def _dp_volumes(sz: _StageSizes) -> dict[str, sp.Expr]:
    """Data-parallel collectives: per micro-batch (ZeRO-2/3) and per step (ZeRO-0/1/2, BF16_Optimizer)."""
    grad_bytes, gathered = sz.grad_bytes, sz.gathered
    return {
        # per micro-batch: ZeRO-2 all-reduces the gradient buckets (stage_1_and_2.py
        # reduce_ready_partitions_and_remove_grads reduces every micro-batch when it partitions
        # gradients); ZeRO-3 reduce-scatters them and gathers (fwd + bwd)
        "dp_ar_mb_bytes": Z2 * grad_bytes,
        "dp_rs_mb_bytes": Z3 * grad_bytes,
        "dp_ag_mb_bytes": Z3 * ELEM * gathered,
        # once per step: ZeRO-0 all-reduce (engine.allreduce_gradients; BF16_Optimizer too),
        # ZeRO-1 all-reduce of its buckets: at the boundary micro-batch only (the same
        # reduce_ready_partitions_and_remove_grads: ZeRO-1 does not partition gradients, and it holds
        # whole 16-bit gradients between boundaries, measured in tests/cost/test_deepspeed_states.py
        # test_zero1_accumulates_whole_16bit_gradients_before_the_boundary), or after the last backward in
        # a pipeline (pipe/engine.py _exec_reduce_grads -> reduce_gradients -> reduce_ipg_grads ->
        # average_tensor); ZeRO-1/2 and BF16_Optimizer all-gather the updated 16-bit partitions
        "dp_ar_step_bytes": (Z0 + Z1) * grad_bytes,
        "dp_ag_step_bytes": (Z1 + Z2 + BF) * grad_bytes,
    }


def _zero3_passes(sz: _StageSizes) -> dict[str, sp.Expr]:
    """Counts per micro-batch: ZeRO-3 fetches and parameter-tensor passes, and block passes."""
    model = sz.model
    return {
        # ZeRO-3 submodule fetches per micro-batch (forward, backward, and the recomputed
        # forward of checkpointed blocks): every module of a block (Z3_MODULES_PER_BLOCK) or the
        # block alone (FB), the embedding (Embedding + its vocab-parallel table) and the final
        # norm + head
        "z3_fetches": Z3 * ((2 * L + r) * (FB + (1 - FB) * Z3_MODULES_PER_BLOCK) + 4 * E + 6 * HD),
        # ZeRO-3 parameter-tensor passes per micro-batch: every tensor of a block (shapes.block_tensors)
        # in each block pass, the embedding's and the final norm's + head matrix's in forward and
        # backward; each gets DeepSpeed's per-parameter host work (the fetch's status checks and
        # partition bookkeeping, the backward's AccumulateGrad and reduce hook: config/hardware.py
        # zero3_param_overhead_s)
        "z3_param_passes": Z3 * ((2 * L + r) * len(block_tensors(model)) + 2 * E * len(embedding_tensors(model))
                                 + 2 * HD * (len(final_norm_tensors(model)) + 1)),
        # block passes per micro-batch (forward, backward, recomputed forward)
        "block_passes": 2 * L + r,
    }


def _offload_copies(sz: _StageSizes) -> dict[str, sp.Expr]:
    """Host<->device copies of weight, gradient and optimizer offload, and what they serialise."""
    model, n, per_layer, gathered, positions, shard = sz.model, sz.n, sz.per_layer, sz.gathered, sz.positions, sz.shard
    return {
        # host<->device: weight offload's copies of the 16-bit partition in for every gather
        # (sz.gathered); cost/stage_time.py puts them on the host thread or on a side stream by dp
        "weight_h2d_mb_bytes": Z3 * ow * ELEM * gathered / dp,
        # ... of which a backward that recomputes every block copies in (its own pass and L recomputed
        # forwards): the bound cost/stage_time.py boundary_window puts on the step's last backward, the
        # same whatever the recompute count
        "boundary_weight_h2d_bytes": Z3 * ow * ELEM * (n + L * per_layer) / dp,
        # ... overlapped with compute on DeepSpeed's side streams (ZeRO-3 offload's 16-bit gradient
        # partition out and back every micro-batch: stage3.py partition_grads, non_blocking) ...
        "h2d_mb_bytes": Z3 * OF * ELEM * n / dp,
        "d2h_mb_bytes": Z3 * OF * ELEM * n / dp,
        # ... of which the embedding's gradient comes last, after the backward's compute (the
        # embedding is the first stage's first module; tied, its gradient is whole only then):
        # partition_grads round-trips it on reduce_and_partition_stream and the epilogue waits for
        # that stream (stage3.py independent_gradient_partition_epilogue: synchronize), so it is
        # never hidden (cost/stage_time.py copy_chain_s; so is the rest of the open reduce bucket, stage.py
        # open_bucket_mb_bytes)
        "tail_mb_bytes": Z3 * OF * E * ELEM * (VS * model.hidden_size + positions) / dp,
        # ... or synchronous (ZeRO-2 offload accumulating per parameter, both directions)
        "sync_offload_mb_bytes": Z2 * OF * GA * ELEM * n / dp,
        # ZeRO-1/2: the fp32 gradient partition out at the boundary, charged to the step
        "opt_d2h_bytes": FP32 * n * shard * oo * (1 - Z3),
        # ZeRO-3: the CPU sub-groups' fp32 gradients leave during the LAST micro-batch's backward:
        # partition_grads (stage3.py), on reduce_and_partition_stream, calls
        # _offload_grad_partition_at_boundary while is_gradient_accumulation_boundary() (the engine
        # sets it before that backward, engine.py _backward_prologue), which upcasts the accumulated
        # partition on the GPU and copies it non_blocking into the pinned fp32 .grad of its sub-group
        # (initialize_optimizer_states: pinned when offload_optimizer.pin_memory); the epilogue
        # synchronizes that stream (independent_gradient_partition_epilogue). Same stream, so serial
        # with that backward's 16-bit round trip below (cost/stage_time.py boundary_window)
        "boundary_d2h_bytes": FP32 * Z3 * n * shard * oo,
        # ... and on the same stream, for every element of the partition (CPU and GPU sub-groups:
        # the call runs whenever offload_optimizer is set), _offload_grad_partition_at_boundary first
        # takes the gradient's norm, _constant_buffered_norm2 upcasting the 16-bit partition to the
        # norm dtype, fp64 on CUDA (zero/utils.py get_norm_dtype; 2 B read, 8 written, 8 read by
        # norm), then upcasts it to fp32 (2 read, 4 written); a GPU sub-group's fp32 copy lands in its
        # device .grad (4 read, 4 written). Memory-bound passes, bytes read + written
        "boundary_pass_bytes": Z3 * OF * n * shard * (BOUNDARY_NORM_BYTES + BOUNDARY_UPCAST_BYTES
                                                      + BOUNDARY_GPU_COPY_BYTES * (1 - oo)),
        "opt_h2d_bytes": ELEM * (Z1 + Z2) * n * shard * oo,
        # (with offload_param the 16-bit partition stays on the CPU: no write-back copy)
        "pageable_h2d_bytes": ELEM * Z3 * (1 - ow) * n * shard * oo,
        # ... but then every sub-group whose fp32 master stays on the GPU (all of them without
        # offload_optimizer, the GPU share (1 - oo) of a partial offload) writes its update back to
        # that pinned 16-bit CPU partition: the same blocking cross-device, cross-dtype copy_ in the
        # other direction (stage3.py _reassign_or_swap_out_partitioned_parameters), which torch
        # converts on the CPU, so the fp32 partition crosses into a fresh pageable fp32 temporary
        # (copy_kernel_cuda: conversion_device kCPU when blocking; bench/accuracy/WEIGHT_OFFLOAD.md),
        # 4 bytes per element. offload_param alone places the 16-bit partition on the CPU (stage3.py
        # _create_fp16_partitions_with_defragmentation: _create_param_groups_fp16_flat_cpu_memory
        # whenever offload_param) and, without offload_optimizer, the fp32 master on the device
        # (_create_fp32_partitions: fp16 partition .to(self.device)): before session 42 the model
        # charged the copy only with offload_optimizer set (a factor OF), so a weight offload with the
        # optimizer on the GPU paid none of it (auto-q3-4b-1g-c78-s16384-b8-ds ran 2.2x its prediction)
        "pageable_d2h_bytes": FP32 * Z3 * ow * n * shard * (1 - oo),
        # ... and because that copy_ blocks the host thread after each GPU sub-group's Adam, the step
        # loop (stage3.py step: per sub-group prepare, _optimizer_step, then the write-back) runs its
        # GPU and CPU sub-groups one after another: no Twin-Flow overlap under offload_param (> 0: serial)
        "step_serial": Z3 * ow,
    }


def _copy_passes(sz: _StageSizes) -> dict[str, sp.Expr]:
    """Memory-bound DeepSpeed passes outside the model (bytes read + written, GPU side)."""
    n, fp, shard = sz.n, sz.fp, sz.shard
    return {
        # memory-bound DeepSpeed passes outside the model (bytes read + written), GPU side:
        # per micro-batch, ZeRO-2 (ZeRO-1 once per step, below) copies every fresh gradient into the
        # ipg bucket (read 2 + write 2 per element), divides the bucket by the DP size in place
        # before reducing it (read 2 + write 2: average_tensor's tensor.div_ while gradient_average;
        # the BUnaryFunctor kernels on the reduction stream of the ZeRO-2 trace) and accumulates the
        # reduced slice into the partition (read 4 + write 2 per partition element)
        # (stage_1_and_2.py reduce_independent_p_g_buckets_and_remove_grads,
        # copy_grads_in_partition); per step, ZeRO-1/2 flatten + upcast the partition (2+2, 2+4),
        # take the gradient norm in fp64 (cast 2+8, reduce 8: get_grad_norm_direct over the 16-bit
        # averaged_gradients, zero/utils.py get_norm_dtype), clip (scale read 4 + write 4) and copy
        # the updated fp32 partition back to 16 bits (4+2) (stage_1_and_2.py step,
        # unscale_and_clip_grads): 42 bytes; FP16_Optimizer / BF16_Optimizer flatten + upcast, clip
        # (norm read 4 in fp32: runtime/utils.py) and copy back the same way, 28 bytes
        # (fp16/fused_optimizer.py step, bf16_optimizer.py step), and the DDP path (fp) first flattens
        # each gradient bucket and copies the all-reduced bucket back (2+2, 2+2: engine.py
        # allreduce_bucket, allreduce_and_copy; it runs at dp 1 too). Traced (1x H200, S15-2,
        # bench/results/runtime/zero1_trace_S15/README.md): llama-2.7b ZeRO-1 step, fp64 casts 11.3 ms
        # + norms 6.5 ms; gpt-1.3b ZeRO-0 flatten + copy back 3.2 ms; ZeRO-3, per partition element
        # and step (stage3.py step, DeepSpeed 0.19): the norm casts every gradient to fp64 (2+8) and reduces it (8)
        # (get_grad_norm_direct, zero/utils.py get_norm_dtype), each sub-group flattens (2+2) and
        # upcasts (2+4) its gradients (_prepare_fp32_grad_for_sub_group), clips (4+4:
        # unscale_and_clip_grads mul_) and copies the updated fp32 partition back to 16 bits (4+2:
        # _reassign_or_swap_out_partitioned_parameters): 42 bytes. Measured: 51.7 ms of these kernels
        # (direct_copy casts 24.3, clip 11.6, fp64 norm 7.8, copy back 4.7, cat 3.3) on a 3.37e9-element
        # partition in the zero3-rc trace's step, where the former 18 bytes gave 15.8 ms (the 42 bytes
        # run below the copy rate: rates.py ZERO3_STEP_PASS_FRACTION prices z3_step_copy_bytes)
        # ZeRO-3, per micro-batch: copy every gradient into the reduce bucket (2+2: stage3.py
        # __add_grad_to_ipg_bucket), flatten the bucket's partitions (2+2: comm/coalesced_collectives.py
        # reduce_scatter_coalesced torch.cat) and pre-divide it in place (2+2: its div_), then copy
        # or accumulate the rank's slice into the gradient partition (about 5 per partition element:
        # stage3.py partition_grads copy_ / add_). Measured: 76.9 ms of such kernels in the zero3-rc
        # trace (llama-7b, mb 2, ga 2; bench/accuracy/trace_compare.py), which the model left out.
        # ZeRO-1 reduces only at the step (above; a pipeline's is_gradient_accumulation_boundary is False
        # in every backward): autograd's AccumulateGrad adds each fresh gradient into .grad in place (read
        # 2 + 2, write 2) on every micro-batch but the step's first (whose fresh gradient becomes .grad:
        # the step's reduction set it to None), and the step's reduction copies into the buckets and
        # accumulates into the partition as above, once (the adds also with optimizer offload: the
        # memory test above holds whole 16-bit gradients before the boundary with it; offload's own
        # boundary copies are priced apart). ZeRO-0 without BF16_Optimizer (fp) accumulates the same
        # way until engine.allreduce_gradients. The adds show in the traced llama-7b ZeRO-1
        # step (DP 2, 4 micro-batches: 576 bf16 adds, micro-batches 2-4 x 32 blocks x 6 weights;
        # bench/results/runtime/MFU_GAP.md). Before session 14 the model charged ZeRO-1 without a
        # pipeline the bucket copies and all-reduce every micro-batch, and pipelined ZeRO-0/1 nothing:
        # every pipelined ZeRO-1 run in bench/results/accuracy.md was predicted 2-7% fast.
        # BF16_Optimizer (pipelined ZeRO-0, BF) accumulates twice: every backward of the pipeline
        # starts with clear_lp_grads (torch._foreach_zero_ of the 16-bit .grad, write 2; pipe/engine.py
        # _exec_backward_pass, engine.py _backward_prologue), so AccumulateGrad adds into zeros (6), and
        # ends with update_hp_grads, hp_grad.add_(lp.grad) into a full-size buffer of grad_accum_dtype,
        # the model's 16 bits (6; bf16_optimizer.py _update_hp_grad); the step's first micro-batch
        # finds .grad None (zero_grad set it so) and only adds into hp; the step zeroes hp
        # (clear_hp_grads, write 2). Read from DeepSpeed 0.19.8's code, not traced; the issue-10
        # same-plan runs (gpt-6.7b PP 2, ga 32, 2x H200) measured ZeRO-0 3% slower than ZeRO-1.
        "mb_copy_bytes": (Z2 * (1 - OF) * (8 * n + 6 * n / dp)
                          + (Z1 + fp) * GA * 6 * n + BF * (6 * n + GA * 8 * n)
                          + Z3 * (12 * n + 5 * n / dp)),
        "step_copy_bytes": ((((Z1 + Z2) * 42 + fp * 36) * n * shard + BF * 28 * n / dp)
                            + Z1 * (8 * n + 6 * n / dp)) * (1 - OF)
                           + BF * (2 * n - GA * 8 * n) - (Z1 + fp) * GA * 6 * n,
        "z3_step_copy_bytes": Z3 * 42 * n / dp * (1 - OF),
    }


def _optimizer_work(sz: _StageSizes) -> dict[str, sp.Expr]:
    """Optimizer work: parameters updated on the GPU and on the CPU."""
    n, shard = sz.n, sz.shard
    return {
        # optimizer work (parameters updated on GPU / CPU)
        "gpu_adam_params": n * shard * (1 - oo),
        "cpu_adam_params": n * shard * oo,
        # ... of which the host converts the updated fp32 master into a pinned 16-bit CPU buffer:
        # ZeRO-1/2 offload (stage_1_and_2.py step: param_buffer_of_bit16_for_cpu_offload_groups
        # .copy_(fp32_partition), then a non_blocking H2D) and ZeRO-3 with offload_param (the CPU
        # sub-groups' _reassign_or_swap_out_partitioned_parameters copies into the pinned CPU 16-bit
        # partition); ZeRO-3 without it converts inside the pageable write-back (pageable_h2d_bytes)
        "cpu_host16_params": n * shard * oo * (1 - Z3 * (1 - ow)),
    }
