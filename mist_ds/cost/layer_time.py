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

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.hw_lookup import attention_time_s, matmul_time_s, memory_kernel_gbps
from mist_ds.cost.shapes import vocab_shard

ELEM = 2
FP32 = 4
# bytes read + written per logit by the runtime's chunked cross-entropy (runtime/loss.py), each
# chunk: forward upcast copy (2 + 4), amax (4), sub_ (4 + 4), exp_ (4 + 4), sum (4); backward
# upcast copy (2 + 4), sub_ (8), exp_ (8), scale mul_ (8), copy_ back to 16 bits (4 + 2). Measured
# on H200 (bench/results/runtime/gpu_bench_h200_2026-11-30.json, loss.*.methods.chunked.loss):
# 25.9 / 26.8 ps per logit for gpt-1.3b / llama-7b shapes, i.e. 66 bytes at ~2.5 TB/s; the model
# charges them at the profile's copy bandwidth (~17 ps per logit on H200).
LOSS_BYTES_PER_LOGIT = 30 + 36
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


def block_linears(model: ModelSpec, tp: int = 1) -> list[tuple[int, int]]:
    """(out, in) features per TP rank of every GEMM of one block (runtime/blocks.py layout: q|k|v
    one fused column-parallel linear, SwiGLU's gate|up another (runtime/tp.py FusedColumnLinear:
    one GEMM over the concatenated shards), o and down row-parallel). The fused shapes are what
    the profile's GEMM table is read at: in the ZeRO-2 trace
    (bench/results/runtime/parity/traces/zero2.mist.rank0.trace.json.gz) a llama-7b block's
    forward runs 4 GEMMs, the qkv one (4096 x 12288 x 4096) in 0.51 ms."""
    h, kv, f = model.hidden_size, model.kv_dim, model.ffn_hidden_size
    column = [(h // tp + 2 * (kv // tp), h), ((2 if model.activation == "swiglu" else 1) * (f // tp), h)]
    row = [(h, h // tp), (h, f // tp)]
    return column + row


def _elementwise(model: ModelSpec, tokens: int, tp: int, backward: bool) -> list[tuple[str, float]]:
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
    read kv, write h each; backward sums them back)."""
    h, kv, f = model.hidden_size, model.kv_dim / tp, model.ffn_hidden_size / tp
    t = tokens * ELEM
    norm = "layernorm_fwd" if model.norm == "layernorm" else "rmsnorm_fwd"
    passes = [(norm, 2 * (5 if backward else 2) * t * h), ("add", 2 * 3 * t * h), ("copy", 2 * t * h / tp)]
    if backward:
        passes += [("copy", 2 * t * (h / tp + 2 * kv))]                        # qkv split backward
    if model.activation == "swiglu":                     # on the gate/up halves: non-vectorized
        passes += [("mul", (9 if backward else 5) * t * f, False)]
        passes += [("copy", 4 * t * f)] if backward else []                  # gate|up chunk backward
    else:
        passes += [("gelu_bwd" if backward else "gelu_fwd", (3 if backward else 2) * t * f)]
    if model.position_embedding == "rope":               # transposed q/k views: non-vectorized
        passes += [("mul", (ROPE_BWD_PASSES if backward else ROPE_PASSES) * t * (h / tp + kv), False)]
        passes += [] if backward else [("copy", 2 * t * kv, False)]          # v out of the fused qkv
    if model.num_kv_heads != model.num_heads:
        passes += [("copy", 2 * t * (kv + h / tp))]                          # k, v repeat_interleave
    if model.linear_bias:
        passes += [("add", (h / tp + 2 * h + 2 * kv + f) * t)] if backward else [("add", 2 * 2 * t * h)]
    return passes


def _memory_s(hw: HardwareProfile, passes) -> float:
    """Seconds of (kernel, bytes[, vectorized]) passes: the profile's rate of that kernel, times
    NONVECTORIZED_FRACTION for a pass marked not vectorized."""
    return sum(p[1] / (memory_kernel_gbps(hw, p[0]) * 1e9 * (1.0 if len(p) < 3 or p[2] else NONVECTORIZED_FRACTION))
               for p in passes)


def block_parts(hw: HardwareProfile, model: ModelSpec, batch: int, seq: int, tp: int = 1,
                causal: bool = True) -> dict[str, tuple[float, float]]:
    """(forward, backward) seconds of one block on one TP rank per part: 'gemm', 'attention',
    'other' (element-wise) -- the categories the profiler records (mist_ds/profile/layers.py)."""
    m = batch * seq
    lin = block_linears(model, tp)
    gemm = (sum(matmul_time_s(hw, m, o, i) for o, i in lin),
            sum(matmul_time_s(hw, m, i, o) + matmul_time_s(hw, o, i, m) for o, i in lin))
    attention = attention_time_s(hw, batch, model.num_heads // tp, seq, model.head_dim, causal)
    other = (_memory_s(hw, _elementwise(model, m, tp, False)), _memory_s(hw, _elementwise(model, m, tp, True)))
    return {"gemm": gemm, "attention": attention, "other": other}


def head_parts(hw: HardwareProfile, model: ModelSpec, m: int, tp: int) -> dict[str, float]:
    """Seconds of the stage-edge work for m tokens on one TP rank, forward + backward, per part:
    'head_gemm' (the logits GEMM and its two backward GEMMs), 'loss' (the runtime's chunked
    cross-entropy, runtime/loss.py ChunkedCrossEntropy: LOSS_BYTES_PER_LOGIT of traffic),
    'final_norm' and 'embedding' (gather forward, scatter-add into the (rows, h) gradient backward)."""
    h, rows = model.hidden_size, int(vocab_shard(model, tp))
    norm = "layernorm_fwd" if model.norm == "layernorm" else "rmsnorm_fwd"
    return {
        "head_gemm": matmul_time_s(hw, m, rows, h) + matmul_time_s(hw, m, h, rows) + matmul_time_s(hw, rows, h, m),
        "loss": _memory_s(hw, [("copy", m * rows * LOSS_BYTES_PER_LOGIT)]),
        "final_norm": _memory_s(hw, [(norm, 2.5 * 2 * m * h * ELEM)]),
        "embedding": _memory_s(hw, [("copy", 3 * m * h * ELEM), ("copy", rows * h * ELEM)]),
    }


def _head_and_embedding(hw: HardwareProfile, model: ModelSpec, m: int, tp: int) -> tuple[float, float]:
    """(LM head + loss fwd+bwd, embedding fwd+bwd) seconds for m tokens on one TP rank."""
    parts = head_parts(hw, model, m, tp)
    return parts["head_gemm"] + parts["loss"] + parts["final_norm"], parts["embedding"]


@functools.lru_cache(maxsize=4096)
def _block_times(hw_json: str, model_json: str, seq: int, batch: int, tp: int,
                 causal: bool) -> tuple[float, float, float, float]:
    """(fwd, bwd, head fwd+bwd, embedding fwd+bwd) seconds (cached on the JSON of the inputs)."""
    hw = HardwareProfile.from_json_text(hw_json)
    model = ModelSpec.from_json_text(model_json)
    parts = block_parts(hw, model, batch, seq, tp, causal).values()
    head, embedding = _head_and_embedding(hw, model, batch * seq, tp)
    return sum(p[0] for p in parts), sum(p[1] for p in parts), head, embedding


def block_times(hw_json: str, model_json: str, seq: int, batch: int, tp: int,
                causal: bool = True) -> tuple[float, float, float, float]:
    """(block forward, block backward, LM head + loss fwd+bwd, embedding fwd+bwd) seconds, from
    the canonical JSON of the profile and the model (the cache key; serialise them once)."""
    return _block_times(hw_json, model_json, seq, int(batch), int(tp), causal)
