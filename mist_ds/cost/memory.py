"""Per-GPU memory of one pipeline stage as DeepSpeed 0.19 allocates it (sympy expressions).

N = the stage's parameters on one TP rank, e = 2 (bf16/fp16). Two phases peak: forward/backward
(activations, buckets) and the optimizer step (DeepSpeed allocates the fp32 gradient partition in
step(): DESIGN.md saw the OOM there). Checked against a real 2-rank engine in
tests/cost/test_deepspeed_states.py (tensors reachable from the engine after backward and inside
the torch optimizer's step):

* ZeRO-0, no pipeline: FP16_Optimizer (engine.py _do_optimizer_sanity_check -> DDP_BFLOAT16/FP16;
  fp16/fused_optimizer.py): e*N weights + e*N grads + 12N fp32 master/Adam (states created in
  __init__ by initialize_optimizer_states); at step the 16-bit grads are folded into a 4N fp32 flat
  gradient. step() builds it as _flatten_dense_tensors([p.grad.to(fp32) ...]): the list of 4N
  per-parameter fp32 copies and the 4N flat result are alive together with the 16-bit grads, so the
  step peaks at 24N (measured on 2xH200: 29.5 / 30.6 / 59.3 / 60.5 GiB allocated for the 1-GPU
  ZeRO-0 runs of bench/results/accuracy = 24N within 1%). On a TP rank > 0 the replicated
  parameters are masked out of the grad norm (fused_optimizer.py _get_norm_mask_idx ->
  runtime/utils.py get_flattened_grad_norm): an fp32 zeros(4N), its cumsum (4N) and a bool mask (N)
  next to the flat gradient, 27N (l7-2g-c78-tp2-z0-mb1-rc16 ran out of memory asking for that cumsum
  with 22N allocated).
* ZeRO-0 bf16 pipeline: BF16_Optimizer (bf16_optimizer.py): e*N weights, e*N grads plus a full
  grad-accumulation buffer in the accum dtype (bf16 default), master/Adam partitioned over DP
  (12N/dp); step() adds a 4N/dp fp32 copy of the grad partition while the 16-bit grads and the
  accumulation buffer are still alive (g67-2g-c78-s2048-b16-pp2-18x14-z0-rc6x0: out of memory asking
  for that copy, 14.3 GiB = 4N, with 64.4 GiB = 18N allocated).
* ZeRO-1 and ZeRO-2 (stage_1_and_2.py, 0.19: both reduce into a 16-bit gradient partition, ZeRO-2 every micro-batch,
  ZeRO-1 at the boundary as below): e*N weights, e*N/dp grad partition, 12N/dp master/Adam, two reduce_bucket_size ipg
  buffers (setup_buckets, overlap_comm; one in pipeline reduce_gradients: kept between micro-batches by an accumulating
  ZeRO-1, allocated only once gradients flow otherwise); at step the buckets are gone, and flattening + upcasting the
  16-bit partition briefly holds it, its flat copy and the 4N/dp fp32 gradient (measured on H100,
  bench/results/cost_memory_h100.md).
  ZeRO-1 (partition_gradients off) reduces only at the accumulation boundary
  (reduce_ready_partitions_and_remove_grads): before it, autograd accumulates whole 16-bit grads in
  param.grad (e*N, whatever dp, with or without offload); they are moved into the buckets and the
  partition during the boundary backward, so the backward holds the larger of the two
  (l7-2g-c40-b4-z1-off1-rc32 and g13-1g-c24-s2048-z1-off1-mb2 hold 2.0 bytes/param more than a
  model without them). ZeRO-2 with accumulation keeps the first micro-batch's partition as the
  accumulator (all_grad_tensors) and fills a fresh grads_in_partition in every later backward
  (copy_grads_in_partition, at its first bucket reduction; freed by _release_ipg_buffers): one more
  partition from then on, when the blocks that filled the bucket have freed their activations (session 72:
  charged from the start of the backward, it over-priced the allocated peak of ZeRO-2 plans without
  recompute by 0.9-2.6 GiB).
  A pipelined ZeRO-1 keeps whole 16-bit grads until pipe/engine.py reduces once per step
  (source reading, not measured here).
  Optimizer offload (only all-or-nothing with ZeRO-1/2): master, Adam, fp32 grad, a pinned 16-bit
  copy of the partition, a largest-param staging buffer and, for ZeRO-2 with grad accumulation,
  accumulated 16-bit grads (accumulated_grads_in_cpu) live on the CPU; the GPU keeps a largest-param staging buffer
  (temp_grad_buffer_for_gpu_offload).
* ZeRO-3 (stage3.py, partition_parameters.py): e*N/dp weight partition plus whole copies of
  persistent params (numel <= stage3_param_persistence_threshold; released during step),
  e*N/dp 16-bit grad partition (grad_partitions_flat_buffer, on the CPU under optimizer offload),
  12N/dp master/Adam, one persistent reduce_bucket_size ipg bucket, 4N/dp fp32 grad at step.
  Fractional offload ratio: DeepSpeed offloads whole optimizer sub-groups (sub_group_size), so the
  effective ratio is quantised (cost/stage.py). Under optimizer offload every sub-group keeps a
  persistent fp32 gradient on its own device (stage3.py initialize_optimizer_states:
  subgroup_gradient_buffer.to(subgroup_to_device); _release_sub_group keeps it): 4 bytes per
  parameter of the GPU sub-groups. offload_param keeps the 16-bit partition on the CPU.
* Build (ZeRO-3), two ways (StageCostModel's zero_init picks one; RunReport.zero_init records
  which a run used):
  - whole ('build_weights'; every run before RunReport.zero_init existed): the runtime built the
    whole stage on the GPU before deepspeed.initialize partitioned it (zero/parameter_offload.py
    _convert_to_zero_parameters -> Init(module=...)), so e*N was allocated once at start-up, plus
    two copies of the largest tensor while it is partitioned (measured:
    l7-2g-c40-b4-z3-off1-rc32 peaked at 13.04 GiB allocated = 12.55 GiB of 16-bit model +
    2 x 0.24 GiB embedding; l38b-2g-c40-b4-z3-w1-off1-rc32 at 16.91 = 14.96 + 2 x 0.98 GiB).
  - under deepspeed.zero.Init ('build_weights_zero_init'; runtime/build.py zero_init_context, the
    default): each module's parameters are partitioned when its __init__ returns
    (partition_parameters.py partition_after -> Init._post_init_method -> _zero_init_param ->
    _partition_param: the partition is allocated on the remote device, 'cpu' under offload_param,
    then free_param drops the whole tensor). The GPU holds the partitions built so far, e*N/dp
    (none with offload_param), plus the tensor being built: runtime/tp.py seeded_normal draws the
    whole fp32 tensor before its TP shard is taken (4*tp*MP) beside the 16-bit shard (e*MP), an
    upper bound also of FusedColumnLinear's shards + concatenation (2e*MP) and of the partition
    copy (e*MP/dp). stage3.py _create_fp16_partitions_with_defragmentation then moves the partitions
    through a CPU buffer into one flat GPU buffer (zero/utils.py defragment: the old ones are freed
    first), e*N/dp again; no whole 16-bit copy of the stage exists.
* ZeRO-3 working set (not visible in the CPU probe: gathered during forward/backward): at the turn
  from forward to backward, the blocks kept gathered for reuse within stage3_max_reuse_distance, the
  head or embedding and the prefetch bucket, or, as the prefetcher runs ahead into the backward,
  up to stage3_max_live_parameters (gathered_elements); nothing with dp 1 and no parameter offload
  ('gathered').
"""

from __future__ import annotations

import math

import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.cost import activations as act
from mist_ds.cost.kernel_set import KernelChoice
from mist_ds.cost.shapes import block_largest_matrix, layer_shapes, vocab_shard
from mist_ds.cost.symbols import (BF, FB, GA, HC, HD, LB, MP, OF, PP, PS, RP, Z0, Z1, Z2, Z3, E, L, VS, b,
                                  dp, k, maximum, minimum, na, numeric, oo, ow, r, tp)

_DS = STOCK_DEEPSPEED.constants  # the values emit/ds_config.py writes into ds_config.json
REDUCE_BUCKET_ELEMENTS = _DS.reduce_bucket_elements
STAGE3_PREFETCH_ELEMENTS = _DS.stage3_prefetch_elements
STAGE3_MAX_REUSE_DISTANCE = _DS.stage3_max_reuse_distance
STAGE3_MAX_LIVE_PARAMETERS = _DS.stage3_max_live_parameters
SUB_GROUP_ELEMENTS = _DS.sub_group_size_elements

NORM_CHUNK_ELEMENTS = 250_000_000  # stage3.py _constant_buffered_norm2's buffer_size (DeepSpeed 0.19.8)

ELEM = 2          # bytes of a bf16 / fp16 element
MASTER_ADAM = 12  # fp32 master weight + Adam exp_avg + exp_avg_sq, bytes per parameter
FP32 = 4
FP64 = 8          # DeepSpeed's gradient norms: zero/utils.py get_norm_dtype (fp64 where the device has it)


def stage_params(model: ModelSpec):
    """Parameters of the stage on one TP rank (before ZeRO) and the per-layer/end pieces."""
    shapes = layer_shapes(model)
    per_layer = shapes.sharded_params / tp + shapes.replicated_params
    positions = model.max_seq_len * model.hidden_size if model.position_embedding == "learned" else 0
    embedding = VS * model.hidden_size + positions
    head = model.norm_params + HC * VS * model.hidden_size
    return L * per_layer + E * embedding + HD * head, per_layer, embedding, head


def model_state_exprs(model: ModelSpec) -> dict[str, sp.Expr]:
    """Model states and DeepSpeed buffers of both phases (bytes per GPU) and their CPU bytes."""
    n, per_layer, embedding, head = stage_params(model)
    fp = Z0 - BF                                     # FP16_Optimizer: nothing partitioned
    shard = fp + (1 - fp) / dp                       # share of optimizer state a rank owns
    z12 = Z1 + Z2
    part = ELEM * n / dp                             # one 16-bit partition
    w_part = Z3 * part * (1 - ow)
    weights = ELEM * (1 - Z3) * n + w_part + Z3 * ELEM * PS
    # pipelined ZeRO-1 accumulates whole 16-bit grads until pipe/engine.py reduces at the end
    grads = (ELEM * (fp * n + BF * 2 * n + Z1 * PP * n)
             + (Z1 * (1 - PP) + Z2 + Z3) * part * (1 - OF))
    optimizer = MASTER_ADAM * n * shard * (1 - oo)
    # ZeRO-1 before its accumulation boundary: whole 16-bit grads in param.grad (module docstring)
    accumulated = ELEM * n * Z1 * (1 - PP) * GA
    # ZeRO-3 + optimizer offload: persistent fp32 grads of the GPU sub-groups (module docstring)
    z3_fp32_grads = Z3 * FP32 * (OF * (1 - oo) * n / dp + (1 - OF) * minimum(n / dp, SUB_GROUP_ELEMENTS))
    kept_buckets, passing_buckets = _ipg_buckets()
    gathered = _zero3_gathered_bytes(n, per_layer, maximum(E * embedding, HD * head))
    # ZeRO-1 accumulating (ga > 1, not pipelined): the boundary micro-batch's backward copies each
    # accumulated 16-bit gradient into the ipg bucket (freeing it) and, at the first reduction of a full
    # bucket, allocates the 16-bit gradient partition (stage_1_and_2.py reduce_ipg_grads ->
    # copy_grads_in_partition: grads_in_partition, freed after the step by _release_ipg_buffers) while
    # the gradients not yet reduced are still whole: the partition beside them, less the bucket moved
    # ZeRO-2 accumulating: every backward after the first allocates a fresh grads_in_partition at its first
    # bucket reduction (copy_grads_in_partition), beside the first micro-batch's partition kept as the
    # accumulator (all_grad_tensors); the epilogue adds it in and frees it (_release_ipg_buffers)
    boundary_partition = (Z1 * GA * (1 - PP) * (1 - OF) * (part - ELEM * REDUCE_BUCKET_ELEMENTS)
                          + Z2 * GA * (1 - OF) * part)
    z3_reduction = _zero3_reduction_bytes(model)
    staging = z12 * OF * ELEM * MP                  # temp_grad_buffer_for_gpu_offload
    # ZeRO-1/2 copy each parameter's fresh 16-bit gradient into the ipg bucket and free it: at
    # most one parameter's gradient (the largest) is live beside the buckets during backward
    fresh_grad = z12 * ELEM * MP
    host = host_allocation_exprs(n * shard * oo, part)
    cpu = sum(host.values())
    tp_rank_masked = minimum(tp - 1, 1)              # 1 when TP > 1: a rank > 0 exists
    return {
        "weights": weights, "gradients": grads + Z3 * OF * z3_fp32_grads, "optimizer": optimizer,
        "accumulated_gradients": accumulated, "boundary_partition": boundary_partition,
        "buckets": kept_buckets + staging, "passing_buckets": passing_buckets + fresh_grad,
        "gathered": gathered, "z3_reduction": z3_reduction,
        "build_weights": Z3 * ELEM * (n + 2 * MP),
        "build_weights_zero_init": Z3 * (ELEM * n * (1 - ow) / dp + (FP32 * tp + ELEM) * MP),
        "step_weights": ELEM * (1 - Z3) * n + w_part,
        # fp32 gradient at step: ZeRO-0/1/2 upcast the whole partition; ZeRO-3 one optimizer sub-group
        # at a time (stage3.py step: _prepare_sub_group -> _prepare_fp32_grad_for_sub_group, freed
        # in _release_sub_group), of at most sub_group_size elements (executors.DeepSpeedConstants),
        # or, under offload, the persistent grads of the GPU sub-groups; BF16_Optimizer also still
        # holds its 16-bit grads and accumulation buffer (module docstring)
        "step_gradients": (Z3 * part * (1 - OF) + (1 - Z3) * FP32 * n * shard * (1 - oo)
                           + z3_fp32_grads + BF * 2 * ELEM * n),
        # stage_1_and_2.py step(): the 16-bit partition is flattened (a copy) and converted to the
        # fp32 gradient while both 16-bit versions are alive (measured on H100: 22 bytes/param
        # at dp=1 = 2 weights + 12 Adam + 2 + 2 + 4); FP16_Optimizer: its 16-bit grads and the list
        # of fp32 copies beside the flat result, or the grad-norm mask of a TP rank > 0
        "step_convert": (z12 * (1 - OF) * 2 * part
                         + fp * maximum((ELEM + FP32) * n, tp_rank_masked * (2 * FP32 + 1) * n)),
        "step_buffers": ELEM * REDUCE_BUCKET_ELEMENTS * Z3 + staging,
        "cpu_states": cpu, "params": n, **host,
    }


def _ipg_buckets():
    """DeepSpeed's ipg buckets (bytes per GPU): those kept between micro-batches and those passing in a
    backward. stage_1_and_2.py setup_buckets: two with overlap_comm, one in a pipeline's reduce_gradients;
    stage3.py: one, kept. ZeRO-1 keeps its pair between micro-batches when it accumulates; ZeRO-2 (and ZeRO-1
    at the boundary) allocates them when the first parameter gradient arrives, after the loss backward, and
    frees them after the reduction. Measured on H100 (tests/cost/gpu_memory_probe.py): a ZeRO-2 peak carries
    no buckets beyond ZeRO-0's. ZeRO-2's fresh gradient partition comes later, at the first bucket reduction
    (model_state_exprs boundary_partition)."""
    bucket = ELEM * REDUCE_BUCKET_ELEMENTS
    kept = bucket * (2 * Z1 * GA * (1 - PP) + Z3)
    passing = bucket * (2 * (Z2 + Z1 * (1 - GA)) * (1 - PP) + Z1 * PP)
    return kept, passing


def _zero3_gathered_bytes(n, per_layer, ends):
    """ZeRO-3's gathered parameters at the turn from forward to backward (the activation peak), bytes:
    gathered_elements; none with dp 1 and no offload_param: the one partition is the parameter
    (NoGatherHandle: ds_tensor.to(device) on the device returns it). With the plan's zero3_max_live =
    'reuse_set' (LB), max_live is the reuse set itself (zero3_reuse_set); FB: blocks fetched whole keep more
    (reuse_set_elements; the bound written stays the per-module set). `ends`: the stage's embedding or head."""
    gathers = minimum(dp - 1 + ow, 1)
    max_live = LB * reuse_set_elements(per_layer, L, ends) + (1 - LB) * STAGE3_MAX_LIVE_PARAMETERS
    return Z3 * gathers * ELEM * gathered_elements(per_layer, L, ends, n, max_live=max_live, block_fetch=FB)


def _zero3_reduction_bytes(model: ModelSpec):
    """ZeRO-3's reduction buffers (bytes): it reduces a full ipg bucket through reduce_scatter_coalesced
    (comm/coalesced_collectives.py: torch.cat of every gradient's rank chunks, at any dp, live until the
    partitions are written) and, with the optimizer offloaded, copies each partition to the GPU (stage3.py
    partition_grads: grad_buffer.to(device)) and at the boundary takes its norm through an fp64 copy
    (_offload_grad_partition_at_boundary -> _constant_buffered_norm2, chunks of NORM_CHUNK_ELEMENTS): the first
    bucket's largest tensor (the untied head, else a block's largest matrix) sets those two
    (bench/results/runtime/zero3_offload_peak_S18/: 341 + 156 + 625 MiB on llama-2.7b, dp 1)."""
    first_largest = maximum(HD * HC * VS * model.hidden_size, block_largest_matrix(model) / tp)
    return Z3 * (ELEM * REDUCE_BUCKET_ELEMENTS
                 + OF * (ELEM + FP64) * minimum(first_largest / dp, NORM_CHUNK_ELEMENTS))


def reuse_set_elements(per_layer, layers, ends, reuse_distance=STAGE3_MAX_REUSE_DISTANCE,
                       prefetch=STAGE3_PREFETCH_ELEMENTS, block_fetch=0):
    """Parameter elements DeepSpeed's ZeRO-3 reuse rule keeps gathered at the turn from forward to
    backward, plus the prefetch bucket in flight, for a stage whose `layers` blocks hold `per_layer`
    each and whose larger end (head or embedding) holds `ends`: a released module keeps its parameters
    when their next use lies within `reuse_distance` elements of fetches
    (partitioned_param_coordinator.py __params_to_release), so the last blocks of the forward, reused
    by the first backwards, stay gathered: block i of L with 2 (L - 1 - i) blocks and the head's
    forward and backward before its reuse (whole blocks: the oldest kept block may be partly
    released), plus the end in use.

    With `block_fetch` (blocks are z3 leaf modules, Plan.zero3_fetch_unit = 'block') the rule walks the
    trace counting every module's parameters recursively (`iter_params(module, recurse=True)`, since
    the released block is a leaf), and the trace holds the root module between the forward and the
    backward (its backward hook's fetch): walking through the root drops every parameter from the
    release set, so a block stays gathered when the forward's blocks after it and the head come within
    the distance, one pass instead of two. Measured with DeepSpeed's coordinator on 2 CPU ranks
    (tests/runtime/test_zero3_gathered_cpu.py): floor((distance - ends) / per_layer) blocks at three
    distances, one block fewer than this reading of the walk allows."""
    per_module = sp.ceiling((reuse_distance - 2 * ends) / (2 * per_layer))
    per_block = sp.floor((reuse_distance - ends) / per_layer)
    kept = block_fetch * per_block + (1 - block_fetch) * per_module
    kept_layers = minimum(layers, maximum(kept, 1))
    return kept_layers * per_layer + ends + prefetch


def gathered_elements(per_layer, layers, ends, params, reuse_distance=STAGE3_MAX_REUSE_DISTANCE,
                      prefetch=STAGE3_PREFETCH_ELEMENTS, max_live=STAGE3_MAX_LIVE_PARAMETERS, block_fetch=0):
    """Parameter elements ZeRO-3 holds gathered at the turn from forward to backward, of a stage of
    `params` elements (reuse_set_elements says what the others are). DeepSpeed's
    partitioned_param_coordinator.py (0.19.8) keeps two sets:

    - reuse: reuse_set_elements, less the prefetch bucket once `max_live` binds (nothing is then
      prefetched at the turn).
    - prefetch: each fetch (containers' too) pops parameters off the trace until `prefetch`
      not-yet-available elements are in flight, passing the available and in-flight ones for free, so the
      prefetcher runs ahead of the forward into the backward's entries; a parameter it passed there
      is marked as used at that backward step and not released before it (the
      __most_recent_step_id_param_fetched_for check of __params_to_release). It stops once
      `max_live` elements are available (max_params_to_prefetch), so with prefetching on, up to
      max_live elements stay gathered, at most one parameter more.

    At most the stage's parameters (a model within either bound stays gathered whole). Measured on 2
    CPU ranks with DeepSpeed's own coordinator: tests/runtime/test_zero3_gathered_cpu.py; on a GPU,
    gpt-1.3b ZeRO-3 with its weights offloaded held 1.0e9 gathered elements at its peak (S17-5,
    bench/results/runtime/zero3_gathered_S17/), and 0.98e9 bytes less with max_live 4e8 or 2e8, both
    below its reuse set (S18-3, bench/results/runtime/max_live_S18/)."""
    reused = reuse_set_elements(per_layer, layers, ends, reuse_distance, prefetch, block_fetch)
    held = maximum(reused - prefetch, max_live) if prefetch > 0 else reused
    return minimum(held, params)


def zero3_reuse_set(model: ModelSpec, tp_degree: int, layers: int) -> int:
    """stage3_max_live_parameters of a plan whose zero3_max_live is 'reuse_set': reuse_set_elements of
    a one-stage (head and embedding) ZeRO-3 stage of `layers` blocks, rounded up. At this bound the
    prefetcher no longer runs ahead into the backward (gathered_elements), and it never binds the
    forward's prefetch: a forward holds one block, the prefetch bucket and at most the embedding."""
    _, per_layer, embedding, head = stage_params(model)
    values = {tp: tp_degree, VS: int(vocab_shard(model, tp_degree)), HC: float(not model.tie_embeddings)}
    ends = maximum(embedding, head).subs(values)
    return math.ceil(numeric(reuse_set_elements(per_layer.subs(values), layers, ends)))


def host_allocation_exprs(offloaded, part) -> dict[str, sp.Expr]:
    """The host (CPU) side of offload, one term per allocation, bytes per GPU (cost/host_memory.py
    rounds the pinned ones); `offloaded` = parameters whose optimizer state is on the CPU, `part` =
    one 16-bit partition."""
    z12 = Z1 + Z2
    return {
        "host_master": FP32 * offloaded,               # fp32 master partition
        "host_adam": 2 * FP32 * offloaded,             # exp_avg, exp_avg_sq (pageable, CPU Adam)
        "host_fp32_grads": FP32 * offloaded,           # fp32 gradient partition
        "host_bf16_buffer": z12 * OF * part,           # param_buffer_of_bit16_for_cpu_offload_groups
        "host_staging": z12 * OF * ELEM * MP,          # temp_grad_buffer_for_cpu_offload
        "host_accumulated": Z2 * OF * GA * part,       # accumulated_grads_in_cpu (per parameter)
        "host_z3_grads16": Z3 * OF * part,             # grad_partitions_flat_buffer
        "host_z3_params16": Z3 * ow * part,            # offload_param: 16-bit partitions
    }


def activation_exprs(model: ModelSpec, seq_len: int, attention: act.Attention,
                     kernels: KernelChoice | None = None) -> dict[str, sp.Expr]:
    """Saved activations of k in-flight micro-batches, the working set, and logits, bytes, for the
    kernel set that runs (cost/kernel_set.py; None: the runtime's default): the SwiGLU and RoPE
    kernels decide the block's saved tensors, the loss its working memory.

    Recompute keeps only the input of the first r blocks (plus one block's activations while it is
    recomputed, RP). Activation offload follows the runtime (runtime/model.py block_roles and
    OffloadedBlock): the na blocks after the recomputed ones keep their saved tensors in pinned CPU
    memory (torch.autograd.graph.save_on_cpu). save_on_cpu packs every tensor autograd saves,
    including the weight matrices the linears save for their input gradient (ZeRO-3: the gathered
    ones), so those are copied out and back too (l7-2g-c78-z3-mb1-rc16-act16: 21.1 GiB pinned for
    9.4 GiB of activations and 6.0 GiB of 16 blocks' weights, before power-of-two rounding; the
    pinned sizes, one allocation per save call, are cost/stage.py's activation_rounding and
    packed_weight_rounding).
    1F1B in-flight count k: Narayanan et al. 2021 (PipeDream-Flush), stage i of S holds S - i.
    The head's backward (head_backward; cost/stage.py phase_parts) holds, beside the logits and their
    gradient, the 16-bit gradient of the head's weight that its matmul backward returns (autograd then
    accumulates it into param.grad, or DeepSpeed's hooks copy it into a bucket) and the gradient of its
    input: bench/results/runtime/stock_oom_S36/, Llama 3.2 3B, ZeRO-1, both live at the allocated peak.
    """
    kernels = KernelChoice.of(kernels)
    full = kernels.blend(lambda ks: act.layer_saved_bytes(model, seq_len, attention, ELEM,
                                                          activation_kernel=ks.activation, rope_kernel=ks.rope))
    ckpt = act.checkpoint_saved_bytes(model, seq_len, ELEM)
    offloaded = na * full
    # every weight the block's forward saves (shapes.saved_weight_numels): matrices and norms
    packed_weights = na * ELEM * (layer_shapes(model).matmul_params / tp + 2 * model.norm_params)
    saved = (L - r) * full - offloaded + r * ckpt + E * act.embedding_saved_bytes(seq_len) \
        + HD * act.head_saved_bytes(model, seq_len, ELEM)
    # pipeline engine: one input and one output buffer (b, s, h) per in-flight micro-batch
    # (deepspeed/runtime/pipe/engine.py _reserve_pipe_buffers); the input is the first block's
    # saved input, so only the outputs add.
    p2p = PP * k * ELEM * b * seq_len * model.hidden_size
    # a block being recomputed regenerates its activations; its input is the checkpoint itself. The backward
    # meets the blocks kept on the GPU (the last L - r - na: runtime/model.py block_roles) first and frees
    # what each saved before any recomputed block runs again, and a kept block's saved set is larger than
    # what recomputing one regenerates (full - ckpt): with a kept block, the regenerated set is never the
    # larger and only the transients count (S70, Phi-3.5-mini ZeRO-3, 31 of 32 recomputed: the allocated
    # peak is the head's backward beside the kept block's saved set, 1.8 GiB under the sum;
    # bench/results/runtime/alloc_sites_S70/)
    kept = minimum(maximum(L - r - na, 0), 1)
    regenerated = RP * (1 - kept) * (full - ckpt)
    working = regenerated + act.layer_transient_bytes(model, seq_len, ELEM)
    # the boundary backward's first bucket reduction (boundary_partition) comes after the gradients of
    # the separate head (head copies HC: its weight's grad arrives first) and of the last blocks have
    # filled the bucket (whole blocks, rounded down): what those blocks saved is freed by then (from the
    # last: the L - r - na on the GPU, the na offloaded ones, nothing here, then the recomputed ones'
    # checkpoints), as are the head's saved inputs and the loss's working set. The reduction runs in the
    # backward of the next block (the filled + 1-th from the last, if any): unless that one is recomputed,
    # no block's recomputed activations (working's RP term) are live then
    _, per_layer, _, _ = stage_params(model)
    filled = maximum(sp.floor((REDUCE_BUCKET_ELEMENTS - HD * HC * VS * model.hidden_size) / per_layer), 0)
    on_gpu = maximum(L - r - na, 0)
    next_recomputed = minimum(maximum(filled + 1 - (L - r), 0), 1) * minimum(maximum(L - filled, 0), 1)
    freed = (minimum(filled, on_gpu) * full + minimum(maximum(filled - on_gpu - na, 0), r) * ckpt
             + HD * act.head_saved_bytes(model, seq_len, ELEM) + RP * (1 - kept - next_recomputed) * (full - ckpt))
    return {"activations": k * saved + working + p2p, "cpu_activations": k * offloaded,
            "first_reduction_freed": freed,
            "cpu_packed_weights": k * packed_weights,
            "saved_per_microbatch": saved, "offloaded_per_microbatch": offloaded + packed_weights,
            "logits": HD * kernels.blend(lambda ks: act.logits_bytes(seq_len, ELEM, ks.loss)),
            # the recomputed block's regenerated activations, part of the working set
            "recomputed": regenerated, "layer_saved": full,
            # the block backward's working set (inside "activations"), absent while the head's runs
            "working": working,
            # the head's backward (HD): its fresh 16-bit weight gradient (this TP rank's vocabulary rows:
            # the head's own matrix or, tied on one stage, the embedding's) and its input gradient
            "head_backward": HD * ELEM * (VS * model.hidden_size + b * seq_len * model.hidden_size)}
