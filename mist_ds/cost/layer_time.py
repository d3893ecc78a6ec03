"""Forward / backward seconds of one block, the embedding and the LM head + loss on one TP rank,
summed kernel by kernel from a HardwareProfile (mist_ds.config.hw_lookup). The one layer-time
model: the search and predict use it through cost/stage.py, and the profiler's validation
(profiling/validate_layers.py) compares `block_parts` with measured block times.

The kernel list follows the runtime (mist_ds/runtime/blocks.py, model.py, tp.py), extended to tensor
parallelism: column-parallel linears have out/tp outputs, row-parallel linears in/tp inputs,
attention runs heads/tp heads, norms and residual adds stay full width (Megatron TP without sequence
parallelism). Backward of a linear is two GEMMs, dX = dY W and dW = dY^T X (Narayanan et al. 2021);
attention backward comes from the measured attention grid. Cached per (micro-batch, tp): a search
evaluates few distinct pairs.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.hw_lookup import attention_time_s, matmul_time_s, memory_kernel_gbps
from mist_ds.cost.activations import fused_eager_rows, fused_liger_rows
from mist_ds.cost.kernel_set import EAGER, ROPE_COMPILED_ON_VIEWS, KernelChoice, KernelSet
from mist_ds.cost.shapes import vocab_shard

ELEM = 2
FP32 = 4
# Traffic of the loss per logit, forward + backward, as bytes at the rate of one of the profile's memory
# kernels. The eager and compiled losses: each implementation's measured time on H200
# (config/kernel_picks.py MEASUREMENT_FILE, loss.<shape>.methods.<impl>.loss.time_ms, the loss alone at
# gradient 1) times that profile's copy bandwidth (3835 GB/s) over the logits, the mean of the two shapes
# measured (llama-7b head: 2 x 4096 tokens x vocab 32000 = 262.1M logits; gpt-1.3b: 8 x 2048 x 50304 =
# 824.2M), so other GPUs scale with their own copy bandwidth; tests/cost/test_kernel_set.py re-derives each
# from the file:
#   chunked          7.06 / 21.32 ms -> 103.2 / 99.2 B  (eager: upcast copies, amax, sub_, exp_, sum,
#                    and in backward copy, sub_, exp_, scale, copy_ back; 66 B by pass count, ~2.5 TB/s)
#   chunked_compile  4.15 / 12.10 ms ->  60.7 / 56.3 B  (the same two chunk kernels through Inductor,
#                    functional since session 15; the former in-place ones took 4.63 / 20.29 ms)
#   fp32             3.35 / 10.70 ms ->  49.0 / 49.8 B
# Liger (one Triton kernel per row, liger_cross_entropy_kernel: reads the 16-bit logits twice, an exp per
# logit, and writes the gradient into them in forward) is priced from the kernel as training runs it, not
# from that benchmark (0.99 / 2.32 ms, 2x the in-situ kernel), and at the profile's 'gelu_fwd' rate, not its
# copy rate: the kernel is bound by its transcendentals, not by DRAM. Over the committed profiled steps
# (bench/accuracy/loss_kernels.py -> bench/results/loss_kernels.json, sessions 72-73) it moves 6.07 B per logit
# at the H200's copy rate and 5.04 at the H100's (the cards' bandwidths differ 1.40x, the kernel's times 1.16x),
# and 5.28 / 5.26 at their gelu_fwd rates (profile/compute.py: tanh-approximate GELU, a tanh per element; the
# cards differ 1.16x there too): 5.3 B (20 H200 steps, 23 H100, vocabularies 32000-151936). A vocabulary that is
# not a multiple of 16 ran ~3x slower per logit (GPT-2's 50257, one H100 step, session 72): not priced, since the
# runtime now walks such a padded row whole (runtime/liger_loss.py walked_columns; its effect not measured yet).
# Liger's backward kernel scales the stored gradient in place (runtime/liger_loss.py, Liger's element_mul_kernel:
# read 2 + write 2 bytes per logit), always, on top: 3.77 / 3.74 B at the copy rate in the same steps, 3.76.
LOSS_TRAFFIC: dict[str, tuple[tuple[str, float], ...]] = {
    "chunked": (("copy", 101.2),), "chunked_compile": (("copy", 58.5),), "fp32": (("copy", 49.4),),
    "liger": (("gelu_fwd", 5.3), ("copy", 3.76)),
}
"""Per loss implementation (kernels.loss), its (profile memory kernel, bytes per logit at that kernel's rate)
passes, forward + backward (the comment above)."""
# element passes (reads + writes of one activation-sized tensor) of the runtime's apply_rope
# (runtime/kernels.py): neg of half (1) + cat (2), x*cos (2), rotated*sin (2), add (3); its autograd
# backward: g*cos (2), g*sin (2), neg (1), two slice_backward zero-fill + copy (2 + 2), summing the
# three gradients of x_rot (3 + 3) and the slice_backward of x[..., :rot] (3)
ROPE_PASSES = 10
ROPE_BWD_PASSES = 18
# Eager element-wise ops on strided or broadcast operands (RoPE on the transposed q/k views of the
# fused qkv output with broadcast cos/sin, the v copy out of it, SwiGLU on the gate/up halves of
# the fused gate|up output) run torch's non-vectorized TensorIterator path
# (`elementwise_kernel<128, 4, gpu_kernel_impl_nocast<...>>` in the ZeRO-2 trace
# bench/results/runtime/parity/traces/zero2.mist.rank0.trace.json.gz), not the vectorized kernels
# the profile's memory_kernels time on contiguous tensors. Their passes run at this fraction of the
# profile's rate. Fitted on bench/results/runtime/gpu_bench_h200_2026-11-30.json
# (ops.llama-7b.mb{1,2,4}: torch swiglu's 14 passes and rope's 28, laid out as the block passes
# them; 0.34-0.42, mean 0.39); no accuracy run is in its fit. The trace's kernels agree: RoPE
# forward 0.33, silu 0.41, silu * up 0.51, the v copy 0.39.
NONVECTORIZED_FRACTION = 0.39
# Grouped-query attention's k/v repeat_interleave on SDPA's (b, heads, s, d) views (runtime/blocks.py
# Attention.forward) runs, per k or v, one generic strided copy `elementwise_kernel<128, 4>` forward (read kv,
# write h wide) and backward a `reduce_kernel<128, 4>` sum over each group plus a strided kv-wide copy. Their
# (forward, backward) rates as fractions of the profile's 'copy' rate over the forward's bytes, from the
# kernels' durations in profiled steps of Llama 3.2 1B at micro-batch 1 (bench/results/runtime/
# l321b_z1_trace_S27, seq 4096: 23.9 / 13.7 + 6.8 us; l321b_s8192_trace_S28, seq 8192: 48.9 / 24.2 + 13.4 us):
# forward 0.229 / 0.224, backward 0.268 / 0.291. Held out, Mistral-7B at seq 4096 (swap_trace_S34, the same
# 41.9 MB per tensor as the seq-8192 1B): 54 / 27 + 15 us, i.e. 0.20 / 0.26. Priced before at the vectorized
# copy rate (4-5x fast).
GQA_REPEAT_FRACTION = (0.23, 0.28)
# The 'compile' SwiGLU and RoPE are Inductor's Triton kernels for these very layouts, not torch's
# non-vectorized TensorIterator path; their passes (FUSED_SWIGLU_PASSES, FUSED_QKV_ROPE_PASSES) run at
# these (forward, backward) fractions of the profile's 'mul' rate, fitted on the kernels' durations in
# the profiled training steps (bench/accuracy/trace_compare.py --ops, mean us per block pass; bytes of
# the passes over the duration; FUSED_CREDIT.md "Session 9"): llama-7b at micro-batch 1, seq 4096
# (bench/results/runtime/parity/traces/zero1-fastest-traced.mist.rank0, 2x H200 ZeRO-1) and
# llama-2.7b at micro-batch 2 (bench/results/runtime/fastest_1g/traces/l27pq-qkvrope.rank0, 1x H200):
#   SwiGLU forward  63.7 / 78.6 us   -> 0.99 / 1.01, mean 1.00 (one pass each way over gate|up, out)
#   SwiGLU backward 226.2 / 262.5 us -> 0.47 / 0.51, mean 0.49
#   RoPE forward    53.5 / 67.3 us   -> 0.88 / 0.88 (the rotation and v's clone, two kernels)
#   RoPE backward   125.6 / 303.3 us -> 0.38 / 0.19, mean 0.28 (head_dim 128 / 80: the kernel that
#                   writes the fused gradient runs at half the rate at 80; the mean is a compromise)
# The backward kernels run at about half the forward ones' rate in both models. The isolated
# benchmarks priced both directions at one fraction: SwiGLU 0.65 (gpu_bench_h200_2026-11-30.json, the
# slope over micro-batches 1-4) and RoPE 0.50 (rope_layout_h200_2026-11-30.json, forward + backward
# beside SDPA); in situ the forward runs faster and the backward slower than those. The benchmark's
# intercept (0.59 ms per SwiGLU forward + backward call, 0.61 RoPE, against 0.06 eager) is taken as
# the compiled call's host work, which the GPU does not wait for in a training step. No measurement
# of Liger's SwiGLU / RoPE in a training step exists (kernel_picks.py): their passes count at the rate.
COMPILED_FRACTION = {"activation": (1.00, 0.49), "rope": (0.88, 0.28)}
# The compiled RoPE the runtime ran until 2026-11-30 17:56 UTC (kernel_set.ROPE_COMPILED_ON_VIEWS, on
# the transposed q / k views), priced as it was for the runs that ran it: 0.247 ms per micro-batch for
# 4 passes of q + k (8192) -> 0.25 (gpu_bench_h200_2026-11-30.json ops.llama-7b.mb{1,2,4}.rope.compile;
# that benchmark also ran the split backward and the gradient accumulation into the fused input).
# Those runs gained ~4% less than this credits: the profiled step of bench/results/runtime/fastest_1g/
# shows five strided copies per block backward (AOTAutograd's tangent copies and the re-layouts into the
# fused gradient) that no term here counts; the fused-projection kernel removes them.
VIEWS_ROPE_FRACTION = 0.25
# element passes (fwd, bwd) of the fused SwiGLU and RoPE kernels (bench/runtime/README.md, "What
# the cost model must follow"). SwiGLU 'compile' (one Inductor kernel each way) and 'liger'
# (liger_kernel/ops/swiglu.py fused gate-up kernels): read gate|up (2), write the product (1);
# backward reads gate|up and dY (3) and writes dgate|dup as one tensor (2), so the eager chunk's
# backward copy goes too. RoPE 'compile': read q, k, write q', k' (backward dq', dk' -> dq, dk);
# 'liger': a contiguous copy of the transposed q/k (2), then an in-place rotation (2), each way.
FUSED_SWIGLU_PASSES = (3, 5)
FUSED_ROPE_PASSES = {"liger": (4, 4), ROPE_COMPILED_ON_VIEWS: (2, 2)}
# 'compile' RoPE (runtime/kernels.py torch_qkv_rope) runs on the fused q|k|v projection: forward reads
# it and writes q', k' and v's copy (2 passes of q + k + v), backward reads dq', dk', dv and writes the
# fused gradient (2 passes of q + k + v), each one Inductor kernel per the profiled step of
# bench/results/runtime/fastest_1g/ (README.md).
FUSED_QKV_ROPE_PASSES = 2
# Qwen3's per-head q/k RMSNorms (ModelSpec.qk_norm; runtime/kernels.py torch_qk_norm), counted from the ops
# (no Qwen3 run or trace is committed). Eager (RoPE 'torch' / 'liger'): F.rms_norm over q and k, priced as the
# block norms are (the profile's rmsnorm kernel: forward read x + write y, 2 passes; backward read x and dy,
# write dx, and the weight gradient's reduction reading x and dy again, 5). Compiled (torch_qkv_rope): the
# forward's reads and writes are the compiled kernel's own (FUSED_QKV_ROPE_PASSES); its backward also reads
# the saved q and k and, for the weight gradient, reads them and dy once more: 3 passes over q + k at the
# compiled RoPE's backward rate.
QK_NORM_PASSES = (2, 5)
QK_NORM_COMPILED_BWD_PASSES = 3


def block_linears(model: ModelSpec, tp: int = 1) -> list[tuple[int, int]]:
    """(out, in) features per TP rank of every GEMM of one block (runtime/blocks.py layout: q|k|v
    one fused column-parallel linear, SwiGLU's gate|up another (runtime/tp.py FusedColumnLinear:
    one GEMM over the concatenated shards), o and down row-parallel). The fused shapes are what
    the profile's GEMM table is read at: in the ZeRO-2 trace
    (bench/results/runtime/parity/traces/zero2.mist.rank0.trace.json.gz) a llama-7b block's
    forward runs 4 GEMMs, the qkv one (4096 x 12288 x 4096) in 0.51 ms."""
    h, q, kv, f = model.hidden_size, model.q_dim, model.kv_dim, model.ffn_hidden_size
    column = [(q // tp + 2 * (kv // tp), h), ((2 if model.activation == "swiglu" else 1) * (f // tp), h)]
    row = [(h, q // tp), (h, f // tp)]
    return column + row


def _elementwise(model: ModelSpec, tokens: int, tp: int, backward: bool,
                 kernels: KernelSet = EAGER) -> list[tuple[str, float]]:
    """(kernel, bytes[, vectorized]) of the block's memory-bound passes, counted from runtime/blocks.py and
    runtime/tp.py, with the f-, head- and kv-wide tensors / tp. Forward: 2 norms (read x, write y),
    2 residual adds (2 reads, 1 write), the attention-output relayout copy, the activation, RoPE, and
    with biases the two row-parallel `out + bias` adds. Backward: norm dx (read x, dy; write dx) plus
    its weight-gradient reduction (read x, dy), the residual gradient sums, the copy, the activation
    backward (GELU: 3 passes; SwiGLU: silu_backward + two products, 9), RoPE, and one reduction over
    dY per bias. Fused linears (runtime/tp.py FusedColumnLinear: qkv, SwiGLU's gate|up) get their
    input gradient from the parts' gradients concatenated by split/chunk's backward (read + write
    the fused width). With RoPE, q and k become new tensors and blocks.py _own_storage copies v
    out of the fused output; SDPA gets grouped k/v repeated to all heads (repeat_interleave:
    read kv, write q_dim each; backward sums them back). q, the attention output and the o-projection's
    input are num_heads x head_dim wide (ModelSpec.q_dim: hidden_size unless head_dim_override). `kernels` picks each
    op's implementation: the eager torch ops above, or the fused SwiGLU / RoPE kernels (FUSED_SWIGLU_PASSES,
    FUSED_ROPE_PASSES, vectorized); the norms count the same for every implementation (only 'torch' is ever picked). The
    compiled fused-projection RoPE (_rope_on_fused) runs no relayout copy either way: its q, k, v are (b, s, heads, d)
    tensors of their own, SDPA's output and gradients come back in that layout, and the profiled steps with it
    (parity/traces/zero1-fastest-traced.mist.rank0, fastest_1g/traces/l27pq-qkvrope.rank0: trace_compare.py --ops) hold
    no copy kernel in a block, forward or backward."""
    h, kv, f = model.hidden_size, model.kv_dim / tp, model.ffn_hidden_size / tp
    qw = model.q_dim                  # q and the attention output (hidden_size unless head_dim_override)
    t = tokens * ELEM
    norm = "layernorm_fwd" if model.norm == "layernorm" else "rmsnorm_fwd"
    passes = [(norm, 2 * (5 if backward else 2) * t * h), ("add", 2 * 3 * t * h)]
    if not _rope_on_fused(model, kernels):
        passes += [("copy", 2 * t * qw / tp)]                                  # the relayout copy
    if backward and not _rope_on_fused(model, kernels):
        passes += [("copy", 2 * t * (qw / tp + 2 * kv))]                       # qkv split backward
    if model.activation == "swiglu" and kernels.activation != "torch":
        passes += [("mul", FUSED_SWIGLU_PASSES[backward] * t * f, _fused_rate(kernels, "activation", backward))]
    elif model.activation == "swiglu":                   # on the gate/up halves: non-vectorized
        passes += [("mul", (9 if backward else 5) * t * f, False)]
        passes += [("copy", 4 * t * f)] if backward else []                  # gate|up chunk backward
    else:
        passes += [("gelu_bwd" if backward else "gelu_fwd", (3 if backward else 2) * t * f)]
    if _rope_on_fused(model, kernels):                   # q|k|v in and out, split backward included
        passes += [("mul", FUSED_QKV_ROPE_PASSES * t * (qw / tp + 2 * kv), _fused_rate(kernels, "rope", backward))]
    elif model.position_embedding == "rope" and kernels.rope != "torch":
        passes += [("mul", FUSED_ROPE_PASSES[kernels.rope][backward] * t * (qw / tp + kv),
                    _fused_rate(kernels, "rope", backward))]
    elif model.position_embedding == "rope":             # transposed q/k views: non-vectorized
        passes += [("mul", (ROPE_BWD_PASSES if backward else ROPE_PASSES) * t * (qw / tp + kv), False)]
    if _copies_v(model, kernels) and not backward:       # v out of the fused qkv
        passes += [("copy", 2 * t * kv, False)]
    if model.num_kv_heads != model.num_heads:
        passes += [("copy", 2 * t * (kv + qw / tp), GQA_REPEAT_FRACTION[backward])]  # k, v repeat_interleave
    if model.linear_bias:
        passes += [("add", (qw / tp + 2 * h + 2 * kv + f) * t)] if backward else [("add", 2 * 2 * t * h)]
    return passes + _qk_norm_passes(model, t, tp, backward, kernels)


def _qk_norm_passes(model: ModelSpec, t: float, tp: int, backward: bool, kernels: KernelSet) -> list:
    """The q/k norms' passes over q + k per token (QK_NORM_PASSES, QK_NORM_COMPILED_BWD_PASSES)."""
    if not model.qk_norm:
        return []
    width = model.q_dim / tp + model.kv_dim / tp
    if _rope_on_fused(model, kernels):
        rate = _fused_rate(kernels, "rope", True)
        return [("mul", QK_NORM_COMPILED_BWD_PASSES * t * width, rate)] if backward else []
    return [("rmsnorm_fwd", QK_NORM_PASSES[backward] * t * width)]


def _copies_v(model: ModelSpec, kernels: KernelSet) -> bool:
    """Whether the block copies v out of the fused qkv output (runtime/blocks.py _own_storage): when
    RoPE or the q/k norms made q and k new tensors ('torch'; 'liger': its contiguous copies) while v is
    still a view.
    The compiled RoPE copies v inside its own kernel (_rope_on_fused). SDPA's grouped-query path
    repeats k and v into new tensors first (blocks.py Attention.forward), so nothing is left to copy.
    One non-vectorized direct_copy of kv width in forward (ZeRO-2 trace
    bench/results/runtime/parity/traces/zero2.mist.rank0.trace.json.gz: 0.048 ms per block at
    micro-batch 1, seq 4096)."""
    return ((model.position_embedding == "rope" or model.qk_norm) and model.num_kv_heads == model.num_heads
            and not _rope_on_fused(model, kernels))


def _rope_on_fused(model: ModelSpec, kernels: KernelSet) -> bool:
    """Whether RoPE runs as one compiled function of the fused q|k|v projection (runtime/kernels.py
    split_qkv, torch_qkv_rope): it writes q', k' and v's copy in one kernel and, in backward, the
    fused gradient (split's backward) in one kernel: no v copy, no qkv gradient cat."""
    return model.position_embedding == "rope" and kernels.rope == "compile"


def _fused_rate(kernels: KernelSet, op: str, backward: bool) -> float:
    """Fraction of the profile's rate a fused SwiGLU / RoPE kernel runs at in this direction
    (COMPILED_FRACTION; the old views RoPE: VIEWS_ROPE_FRACTION both ways; Liger: 1)."""
    impl = getattr(kernels, op)
    if impl == ROPE_COMPILED_ON_VIEWS:
        return VIEWS_ROPE_FRACTION
    return COMPILED_FRACTION[op][backward] if impl == "compile" else 1.0


def _memory_s(hw: HardwareProfile, passes) -> float:
    """Seconds of (kernel, bytes[, rate]) passes: the profile's rate of that kernel, times the
    fraction given (False: NONVECTORIZED_FRACTION, for a pass marked not vectorized; absent: 1)."""
    def fraction(p) -> float:
        if len(p) < 3 or p[2] is True:
            return 1.0
        return NONVECTORIZED_FRACTION if p[2] is False else float(p[2])

    return sum(p[1] / (memory_kernel_gbps(hw, p[0]) * 1e9 * fraction(p)) for p in passes)


def block_parts(hw: HardwareProfile, model: ModelSpec, batch: int, seq: int, tp: int = 1,
                causal: bool = True, kernels: KernelSet | None = None) -> dict[str, tuple[float, float]]:
    """(forward, backward) seconds of one block on one TP rank per part: 'gemm', 'attention',
    'other' (element-wise) -- the categories the profiler records (mist_ds/profile/layers.py).
    `kernels`: the set that runs (cost/kernel_set.py); None is the runtime's default at this tp."""
    kernels = KernelChoice.of(kernels).at(tp)
    m = batch * seq
    lin = block_linears(model, tp)
    gemm = (sum(matmul_time_s(hw, m, o, i) for o, i in lin),
            sum(matmul_time_s(hw, m, i, o) + matmul_time_s(hw, o, i, m) for o, i in lin))
    attention = attention_time_s(hw, batch, model.num_heads // tp, seq, model.head_dim, causal)
    other = (_memory_s(hw, _elementwise(model, m, tp, False, kernels)),
             _memory_s(hw, _elementwise(model, m, tp, True, kernels)))
    return {"gemm": gemm, "attention": attention, "other": other}


def head_parts(hw: HardwareProfile, model: ModelSpec, m: int, tp: int,
               kernels: KernelSet | None = None) -> dict[str, float]:
    """Seconds of the stage-edge work for m tokens on one TP rank, forward + backward, per part:
    'head_gemm' (the logits GEMM and its two backward GEMMs), 'loss' (the cross-entropy that runs,
    runtime/loss.py: LOSS_TRAFFIC[kernels.loss] per logit; None: the runtime's default at
    this tp), 'final_norm' and 'embedding' (gather forward, scatter-add into the (rows, h) gradient
    backward)."""
    loss = KernelChoice.of(kernels).at(tp).loss
    h, rows = model.hidden_size, int(vocab_shard(model, tp))
    norm = "layernorm_fwd" if model.norm == "layernorm" else "rmsnorm_fwd"
    return {
        "head_gemm": matmul_time_s(hw, m, rows, h) + matmul_time_s(hw, m, h, rows) + matmul_time_s(hw, rows, h, m),
        "loss": _memory_s(hw, [(kernel, m * rows * per_logit) for kernel, per_logit in LOSS_TRAFFIC[loss]]),
        "final_norm": _memory_s(hw, [(norm, 2.5 * 2 * m * h * ELEM)]),
        "embedding": _memory_s(hw, [("copy", 3 * m * h * ELEM), ("copy", rows * h * ELEM)]),
    }


def fused_head_s(hw: HardwareProfile, model: ModelSpec, m: int, tp: int, kernels: KernelSet | None = None) -> float:
    """LM head + loss fwd+bwd seconds for m tokens on one TP rank when fused (runtime/fused_head_loss.py, the
    mistpipe engine's fused_head_loss option): head_parts' three GEMMs run chunk by chunk, each chunk's rows as M
    (logits, dx) or K (dW) (cost/activations.py fused_liger_rows on the Liger path, the 'liger' loss; else
    fused_eager_rows), the last chunk the rest; the loss's traffic as head_parts' for its path ('liger', else
    the eager 'chunked'); the final norm as unfused; backward one more read and write of dx to scale it. Each
    chunk's dW GEMM accumulates (beta 1) into the whole (vocabulary, hidden) gradient, reading and writing it once
    per chunk: one such pass is the unfused head's too (its GEMM into the gradient sink), every further chunk's is
    priced as memory traffic beside the GEMM's compute (S59-1, bench/results/engine/fused_head_loss_S59/: Qwen2-7B,
    21 further passes of 2.18 GB, ran ~15 ms a micro-batch over the unfused head, where the GEMMs alone price 0.7)."""
    h, rows = model.hidden_size, int(vocab_shard(model, tp))
    liger = KernelChoice.of(kernels).at(tp).loss == "liger"
    chunk = int(fused_liger_rows(m, rows, ELEM) if liger else min(m, fused_eager_rows(rows)))
    whole, rest = divmod(m, chunk)
    chunks = whole + (rest > 0)
    parts = head_parts(hw, model, m, tp, replace(KernelChoice.of(kernels).at(tp), loss="liger" if liger else "chunked"))
    return (whole * _chunk_gemms_s(hw, chunk, rows, h) + (_chunk_gemms_s(hw, rest, rows, h) if rest else 0.0)
            + parts["loss"] + parts["final_norm"] + _memory_s(hw, [("copy", 2 * m * h * ELEM)])
            + _memory_s(hw, [("copy", 2 * (chunks - 1) * rows * h * ELEM)]))


def _chunk_gemms_s(hw: HardwareProfile, chunk: int, rows: int, h: int) -> float:
    """One fused chunk's logits GEMM, its input gradient g W and its weight gradient g^T x (head_parts' three)."""
    return matmul_time_s(hw, chunk, rows, h) + matmul_time_s(hw, chunk, h, rows) + matmul_time_s(hw, rows, h, chunk)


def _head_and_embedding(hw: HardwareProfile, model: ModelSpec, m: int, tp: int,
                        kernels: KernelSet) -> tuple[float, float]:
    """(LM head + loss fwd+bwd, embedding fwd+bwd) seconds for m tokens on one TP rank."""
    parts = head_parts(hw, model, m, tp, kernels)
    return parts["head_gemm"] + parts["loss"] + parts["final_norm"], parts["embedding"]


@functools.lru_cache(maxsize=4096)
def _block_times(hw_json: str, model_json: str, seq: int, batch: int, tp: int,
                 causal: bool, kernels: KernelSet) -> tuple[float, float, float, float]:
    """(fwd, bwd, head fwd+bwd, embedding fwd+bwd) seconds (cached on the JSON of the inputs)."""
    hw = HardwareProfile.from_json_text(hw_json)
    model = ModelSpec.from_json_text(model_json)
    parts = block_parts(hw, model, batch, seq, tp, causal, kernels).values()
    head, embedding = _head_and_embedding(hw, model, batch * seq, tp, kernels)
    return sum(p[0] for p in parts), sum(p[1] for p in parts), head, embedding


def block_times(hw_json: str, model_json: str, seq: int, batch: int, tp: int,
                causal: bool = True, kernels: KernelSet | None = None) -> tuple[float, float, float, float]:
    """(block forward, block backward, LM head + loss fwd+bwd, embedding fwd+bwd) seconds, from
    the canonical JSON of the profile and the model (the cache key; serialise them once), for the
    kernel set `kernels` (None: the runtime's default at this tp)."""
    return _block_times(hw_json, model_json, seq, int(batch), int(tp), causal, KernelChoice.of(kernels).at(tp))


# Kernel launches (kernels, memsets and copies the host thread issues on the compute stream) of one
# block pass, by op, (forward, backward); a recomputed forward launches the forward's again. Counted
# in the ZeRO-2 trace bench/results/runtime/parity/traces/zero2.mist.rank0.trace.json.gz (llama-7b,
# eager set: a block forward is 27 launches between consecutive cuDNN fprop kernels, a backward 58
# of which 8 are DeepSpeed's: 6 DtoD bucket copies, the bucket's div_ and all-reduce) and the
# ZeRO-3 + recompute trace zero3-rc.mist.rank0 (a recomputed forward + backward: 77 model launches
# between consecutive bprop kernels besides the 2 all-gathers). Each GEMM launches its kernel after
# a cuBLASLt workspace memset (2; backward: dX and dW, 4); cuDNN SDPA: memset + fprop (2), backward
# memset + compute_dot_do_o + bprop + convert_dq_to_16bits (4); a norm: one kernel (torch >= 2.9 runs
# F.rms_norm as the layer-norm kernel), backward grad-input + gamma/beta (2); a residual add (1, its
# gradient sum 1); eager SwiGLU: silu, mul (backward mul, mul, silu_backward, the gate|up cat: 4);
# eager RoPE per tensor: neg, cat, mul, mul, add (5; backward mul, mul, fill, copy, add, neg, fill,
# copy, add: 9); v copied out of the fused qkv (runtime/blocks.py _own_storage) where RoPE replaced
# q and k; backward: the q|k|v gradient cat and one layout copy (2).
LAUNCHES_GEMM = (2, 4)
LAUNCHES_ATTENTION = (2, 4)
LAUNCHES_NORM = {"torch": (1, 2), "compile": (1, 2), "liger": (1, 2)}
LAUNCHES_SWIGLU = {"torch": (2, 4), "compile": (1, 1), "liger": (1, 1)}
LAUNCHES_ROPE = {"torch": (10, 18), "compile": (1, 1), "liger": (3, 3), ROPE_COMPILED_ON_VIEWS: (1, 1)}
# Not traced (no GPT / GQA / tp > 1 / fused-kernel trace is committed): counted from the ops.
# GELU: torch's one GELU kernel each way (tanh or exact: ModelSpec.gelu_approximation); a row-parallel
# linear's `out + bias` add (runtime/tp.py ParallelLinear) in forward and one dY reduction per biased
# linear in backward (F.linear's bias rides the GEMM epilogue in forward); GQA's k/v repeat_interleave (2; backward the
# sums back, 2); with tp > 1 the two row-parallel output all-reduces (forward) and the two
# column-parallel input-gradient all-reduces (backward), and with Qwen3's q/k norms their weight gradient's
# (runtime/blocks.py Attention); the q/k norms themselves: two norms (LAUNCHES_NORM 'torch') and unbind's
# backward stacking the weight rows' gradients (1), or, compiled into the RoPE kernel, one more backward
# kernel for the weight gradient. Liger RoPE: the contiguous q/k copies + one
# kernel each way; compiled SwiGLU / RoPE: one Inductor kernel each way.
LAUNCHES_GELU = (1, 1)


def block_launches(model: ModelSpec, tp: int = 1, kernels: KernelSet = EAGER) -> tuple[int, int]:
    """(forward, backward) launches the host thread issues for one block pass of the runtime's block
    (runtime/blocks.py) on one TP rank with the kernel set `kernels`; DeepSpeed's own per-parameter
    work (bucket copies, ZeRO-3 fetches) is not included (cost/work.py counts fetches)."""
    linears = len(block_linears(model, tp))
    parts = [tuple(linears * n for n in LAUNCHES_GEMM), LAUNCHES_ATTENTION,
             tuple(2 * n for n in LAUNCHES_NORM[kernels.norm]), (2, 2)]       # two norms, two residual adds
    if model.activation == "swiglu":
        parts.append(LAUNCHES_SWIGLU[kernels.activation])
    else:
        parts.append(LAUNCHES_GELU)
    if model.position_embedding == "rope" and model.rotary_fraction > 0:
        parts.append(LAUNCHES_ROPE[kernels.rope])
    if _copies_v(model, kernels):
        parts.append((1, 0))                                                   # the v copy
    if not _rope_on_fused(model, kernels):
        parts.append((0, 2))                                                   # qkv gradient cat + copy
    if model.num_kv_heads != model.num_heads:
        parts.append((2, 2))
    if model.linear_bias:
        parts.append((2, linears))
    if model.qk_norm:  # eager: two norms and the weight rows' gradients stacked (unbind's backward)
        eager = (2 * LAUNCHES_NORM["torch"][0], 2 * LAUNCHES_NORM["torch"][1] + 1)
        parts.append((0, 1) if _rope_on_fused(model, kernels) else eager)  # compiled: the weight-gradient reduction
    if int(tp) > 1:
        parts.append((2, 2 + int(model.qk_norm)))          # + the q/k norm weights' gradient all-reduce
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def host_launches(model: ModelSpec, tp: int = 1, kernels: KernelSet = EAGER) -> tuple[int, int]:
    """(forward, backward) launches one block pass's host work is priced as (cost/stage_time.py
    host_parts, act_offload.py pack_host_s): the eager set's block_launches, whatever norm, SwiGLU and
    RoPE implementations run. A fused call saves GPU passes, not host work.

    Measured, 1x H200, 2026-12-02 (bench/accuracy/HOST_JITTER.md section "Session 20"): two host-bound
    1-GPU ZeRO-3 suite plans, eager and fused kernels alternating in one machine call, twice in each of
    two calls. llama-2.7b (l27-1g-c78-b4-z3-mb2-rc16) ran 0.99-1.10 s/iter eager and 0.79-0.97 fused,
    llama-1.3b (l13b-1g-c40-s2048-z3-mb4-rc24) 0.67-0.71 eager and 0.55-0.85 fused; pricing the fused
    set's own launches had predicted 34-35% less. Sources agree: a Liger or compiled call's host work
    is larger than one launch's (the ops benchmark's host-bound fused fwd+bwd takes 0.54-0.70 ms,
    bench/accuracy/FUSED_CREDIT.md mechanism 5), and the profiled fused ZeRO-3 step's host time is
    DeepSpeed's per-linear and per-module work, the fused calls' own a few percent of it
    (bench/results/runtime/z3_1g_S18/: LinearFunctionForZeroStage3Backward 391 ms, the module hooks
    270 ms, Liger's SwiGLU 33 ms and the compiled RoPE 41 ms of a 2.5 s step)."""
    return block_launches(model, tp, replace(kernels, norm="torch", activation="torch", rope="torch"))
