"""Kernel-sum prediction of one transformer block's forward and backward time from a profile.

A diagnostic next to the cost model (mist_ds.cost): it adds up the profile's own measurements
kernel by kernel -- every GEMM of the runtime's block at its exact (m, n, k) from the matmul
grid, attention from the nearest measured attention shapes, each element-wise pass at the
bandwidth measured for its kind -- so a layer-time error can be split into "the profile's
kernels do not add up to the layer" and "the cost model uses the profile differently". Pure.

Block layout (mist_ds.runtime.blocks, tp = 1): q, k, v, o projections; GELU MLP (up, down) or
SwiGLU (gate, up, down); two norms; two residual adds; RoPE on q and k for Llama. Backward per
linear: dX = dY W (m x in x out) and dW = dY^T X (out x in x m) (Narayanan et al. 2021).
"""

from __future__ import annotations

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.hw_lookup import attention_time_s, block_linears, matmul_time_s, memory_kernel_gbps

ELEM = 2  # bf16 bytes
# element passes (reads + writes of one activation-sized tensor) of the runtime's apply_rope:
# neg of half (1) + cat (2), x*cos (2), rotated*sin (2), add (3); the same again in backward
ROPE_PASSES = 10


def linears(spec: ModelSpec) -> list[tuple[int, int]]:
    """(out_features, in_features) of every linear layer of one block (tp = 1)."""
    return block_linears(spec, 1)


def _elementwise(spec: ModelSpec, tokens: int, backward: bool) -> list[tuple[str, float]]:
    """(kernel, bytes) of the block's memory-bound passes, counted from runtime/blocks.py and
    runtime/tp.py. Forward: 2 norms (read x, write y), 2 residual adds (2 reads, 1 write), the
    attention-output relayout copy, the activation, RoPE, and with biases the two row-parallel
    `out + bias` adds. Backward: norm dx (read x, dy; write dx) plus its weight-gradient reduction
    (read x, dy), the residual gradient sums, the copy, the activation backward (GELU: 3 passes;
    SwiGLU: silu_backward + two products, 9), RoPE, and one reduction over dY per bias."""
    h, kv, f = spec.hidden_size, spec.kv_dim, spec.ffn_hidden_size
    t = tokens * ELEM
    norm = "layernorm_fwd" if spec.norm == "layernorm" else "rmsnorm_fwd"
    passes = [(norm, 2 * (5 if backward else 2) * t * h), ("add", 2 * 3 * t * h), ("copy", 2 * t * h)]
    if spec.activation == "swiglu":
        passes += [("mul", (9 if backward else 5) * t * f)]
    else:
        passes += [("gelu_bwd" if backward else "gelu_fwd", (3 if backward else 2) * t * f)]
    if spec.position_embedding == "rope":
        passes += [("mul", ROPE_PASSES * t * (h + kv))]
    if spec.linear_bias:
        passes += [("add", (3 * h + 2 * kv + f) * t)] if backward else [("add", 2 * 2 * t * h)]
    return passes


def predict_layer_parts(hw: HardwareProfile, spec: ModelSpec, batch: int, seq: int) -> dict[str, tuple[float, float]]:
    """(forward, backward) seconds of one block (tp = 1, bf16) per part: 'gemm', 'attention',
    'other' (element-wise) -- the categories mist_ds.profile.layers records from the profiler."""
    m = batch * seq
    gemm = (sum(matmul_time_s(hw, m, out, inp) for out, inp in linears(spec)),
            sum(matmul_time_s(hw, m, inp, out) + matmul_time_s(hw, out, inp, m) for out, inp in linears(spec)))
    other = tuple(sum(b / (memory_kernel_gbps(hw, k) * 1e9) for k, b in _elementwise(spec, m, backward))
                  for backward in (False, True))
    attention = attention_time_s(hw, batch, spec.num_heads, seq, spec.head_dim, causal=True)
    return {"gemm": gemm, "attention": attention, "other": other}  # type: ignore[dict-item]


def predict_layer(hw: HardwareProfile, spec: ModelSpec, batch: int, seq: int) -> tuple[float, float]:
    """(forward, backward) seconds of one block on one GPU (tp = 1), bf16."""
    parts = predict_layer_parts(hw, spec, batch, seq).values()
    return sum(p[0] for p in parts), sum(p[1] for p in parts)
