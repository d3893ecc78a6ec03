"""Numeric shape facts of a ModelSpec that the symbolic model needs (parameter counts split into
TP-sharded and replicated parts, matmul weights, elementwise traffic).

Source of the sharding rules: mist_ds/runtime/tp.py and blocks.py (Megatron-style TP: q/k/v, up,
gate are column-parallel with sharded biases; o and down are row-parallel with replicated biases;
norms are replicated; the embedding / tied LM head is vocabulary-parallel).
"""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.config import ModelSpec

VOCAB_MULTIPLE = 128  # ModelSpec.padded_vocab_size default (Megatron make-vocab-size-divisible-by)


@dataclass(frozen=True)
class LayerShapes:
    """Per-layer numbers of one model: params = sharded / tp + replicated."""

    sharded_params: int
    """Parameters of one block split over the TP group (weights of all linears + column biases)."""
    replicated_params: int
    """Parameters of one block every TP rank holds whole (norms, row-parallel biases)."""
    matmul_params: int
    """Weights that take part in matmuls (q, k, v, o, MLP matrices), before TP sharding."""
    num_column_linears: int
    """Column-parallel linears per block (each has its own copy_to_tp: one backward all-reduce)."""
    num_row_linears: int
    """Row-parallel linears per block (each all-reduces its output in forward)."""
    mlp_matrices: int
    """Matrices in the MLP (2 for GELU, 3 for SwiGLU)."""


def layer_shapes(model: ModelSpec) -> LayerShapes:
    """Split ModelSpec.layer_params into TP-sharded and replicated parts (runtime/blocks.py)."""
    h, kv, f = model.hidden_size, model.kv_dim, model.ffn_hidden_size
    swiglu = model.activation == "swiglu"
    mlp_mats = 3 if swiglu else 2
    matmul = 2 * h * h + 2 * h * kv + mlp_mats * h * f
    qkv_bias = (h + 2 * kv) if (model.linear_bias or model.qkv_bias) else 0
    col_mlp_bias = ((2 if swiglu else 1) * f) if model.linear_bias else 0
    row_bias = 2 * h if model.linear_bias else 0
    sharded = matmul + qkv_bias + col_mlp_bias
    replicated = row_bias + 2 * model.norm_params
    if sharded + replicated != model.layer_params:  # keeps the split honest if ModelSpec changes
        raise ValueError(f"layer parameter split {sharded}+{replicated} != {model.layer_params}")
    return LayerShapes(sharded, replicated, matmul, 3 + (2 if swiglu else 1), 2, mlp_mats)


def vocab_shard(model: ModelSpec, tp):
    """Rows of the (padded) vocabulary one TP rank holds; works on numpy arrays of tp."""
    import numpy as np

    tp = np.asarray(tp)
    step = VOCAB_MULTIPLE * tp
    return (-(-model.vocab_size // step) * step) // tp
