"""Saved-activation bytes of the runtime's own blocks (mist_ds/runtime/blocks.py), per micro-batch.

Derivation: Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
Models", section 4.1 / table 2 (activations per layer = s*b*h*(34 + 5*a*s/h) bytes for GPT with
fp16, dropout, no flash), adapted to this runtime:
  * no dropout (the runtime has none), so Korthikanti's mask bytes vanish;
  * attention through SDPA's flash/efficient kernels saves q, k, v, its output and the fp32
    log-sum-exp (b * heads * s) instead of the s^2 score/softmax matrices;
  * grouped-query attention: the SDPA path repeats k/v to all heads before the kernel
    (causal_attention in blocks.py), so the saved k/v are full width; flash-attn saves them at kv width;
  * SwiGLU saves gate, silu(gate), up and their product (4 f-wide tensors) instead of GELU's 2;
  * norms save their input and fp32 per-token statistics (LayerNorm: mean and rstd; RMSNorm: rstd);
  * RoPE saves its cos/sin tables (s x rot_dim each, shared by q and k);
  * Megatron TP without sequence parallelism: tensors entering column-parallel linears are full
    width on every rank, everything between column and row linears is 1/tp.
Every count below is checked against torch.autograd.graph.saved_tensors_hooks on the runtime's
block in tests/cost/test_activations.py.
"""

from __future__ import annotations

from typing import Literal

import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.cost.symbols import VS, b, tp

Attention = Literal["sdpa", "flash_attn", "math"]
FP32 = 4
INT64 = 8


def layer_saved_bytes(model: ModelSpec, seq_len: int, attention: Attention = "sdpa",
                      elem: int = 2):
    """Bytes one block saves for backward per micro-batch (sympy, in b and tp)."""
    h, f, s = model.hidden_size, model.ffn_hidden_size, seq_len
    kv = model.kv_dim if attention == "flash_attn" else h
    bs = b * s
    # full-width tensors on every TP rank: block input, norm1 output, residual sum, norm2 output
    replicated = 4 * h if not model.parallel_residual else 2 * h
    # q, k, v, attention output (saved by SDPA) and the re-laid-out output entering o
    attn = (h + 2 * kv + h + h) / tp
    mlp = (4 if model.activation == "swiglu" else 2) * f / tp
    stats_per_norm = FP32 * (2 if model.norm == "layernorm" else 1)
    num_norms = 2 if not model.parallel_residual else 1
    total = elem * bs * (replicated + attn + mlp) + num_norms * stats_per_norm * bs
    heads = model.num_heads / tp
    if attention == "math":
        # math SDPA keeps the softmax output (b, heads, s, s), the scaled q and k, and v
        # (torch/_decomp + aten/native/transformers/attention.cpp _scaled_dot_product_attention_math)
        total += elem * bs * heads * s
    else:
        total += FP32 * bs * heads                       # log-sum-exp of the flash kernels
    if model.position_embedding == "rope":
        rot = 2 * int(model.head_dim * model.rotary_fraction // 2)
        total += 2 * elem * s * rot                      # cos and sin tables
    return total


def checkpoint_saved_bytes(model: ModelSpec, seq_len: int, elem: int = 2):
    """A recomputed block saves only its input (torch.utils.checkpoint, non-reentrant)."""
    return elem * b * seq_len * model.hidden_size


def layer_transient_bytes(model: ModelSpec, seq_len: int, elem: int = 2):
    """Largest short-lived working set inside one block's backward (not saved between layers).

    Estimate, to be calibrated on GPU: in the MLP backward the gradient of the f-wide output of
    the activation and of its input are live together with the h-wide input gradient.
    """
    f, h = model.ffn_hidden_size, model.hidden_size
    return elem * b * seq_len * (2 * f / tp + 2 * h)


def embedding_saved_bytes(seq_len: int):
    """The embedding lookup saves its int64 token ids (F.embedding backward)."""
    return INT64 * b * seq_len


def head_saved_bytes(model: ModelSpec, seq_len: int, elem: int = 2):
    """Final norm (input + stats) and the LM-head input, saved until the loss backward."""
    stats = FP32 * (2 if model.norm == "layernorm" else 1)
    return (2 * elem * model.hidden_size + stats) * b * seq_len


def logits_bytes(seq_len: int, elem: int = 2):
    """Peak of the loss on the last stage: 16-bit logits, their fp32 copy and the fp32
    log-softmax output (runtime/tp.py vocab_parallel_cross_entropy upcasts to fp32), per TP rank."""
    return (elem + FP32 + FP32) * b * seq_len * VS
