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

from typing import Literal, get_args

from mist_ds.config import ModelSpec
from mist_ds.config.plan import AttentionKernel
from mist_ds.cost.symbols import PP, VS, b, tp

Attention = Literal["sdpa", "flash_attn", "math"]
Platform = Literal["cuda", "cpu"]
FP32 = 4
INT64 = 8

# The runtime's selectable attention kernels (mist_ds/runtime/kernels.py causal_attention) and the
# saved-tensor family of each: every SDPA kernel but math saves q, k, v (k/v repeated to all
# heads), its output and an fp32 log-sum-exp ('sdpa'); 'auto' is flash-attn where importable.
ATTENTION_KERNELS = ("auto", *get_args(AttentionKernel))  # 'auto': the runtime's machine-dependent default
ATTENTION_SAVES: dict[str, Attention] = {"auto": "sdpa", "sdpa": "sdpa", "sdpa_flash": "sdpa",
                                         "sdpa_cudnn": "sdpa", "sdpa_efficient": "sdpa",
                                         "flash_attn": "flash_attn", "math": "math"}
# Logits per chunk of the runtime's loss (mist_ds/runtime/loss.py CHUNK_LOGITS; a test keeps the
# two equal): its fp32 working buffer is FP32 * LOSS_CHUNK_LOGITS bytes.
LOSS_CHUNK_LOGITS = 1 << 24


def _norm_bytes_per_token(model: ModelSpec, elem: int, platform: Platform) -> float:
    """Bytes the block's norms save per token (inputs they keep + statistics), both norms."""
    h = model.hidden_size
    if model.norm == "rmsnorm" and platform == "cpu":
        # CPU F.rms_norm is composite: it upcasts and saves x.float() and x * rstd in fp32 (each
        # norm its own copies) plus the fp32 rstd; the 16-bit input itself is not kept
        return 2 * (2 * FP32 * h + FP32)
    stat = FP32 if (platform == "cuda" or model.norm == "rmsnorm") else elem
    stats = 2 * (2 * stat if model.norm == "layernorm" else stat)
    # each norm keeps its 16-bit input; with a parallel residual both norms read the same x
    inputs = (1 if model.parallel_residual else 2) * elem * h
    return inputs + stats


def _attention_bytes_per_token(model: ModelSpec, seq_len: int, attention: Attention, elem: int,
                               platform: Platform):
    """q, k, v, output (or the softmax matrix for math) saved per token, on one TP rank."""
    h, heads = model.hidden_size, model.num_heads / tp
    partial_rope = model.position_embedding == "rope" and model.rotary_fraction < 1.0
    if attention == "math":
        # _scaled_dot_product_attention_math keeps q, k, v (repeated to all heads) and the softmax
        # output, upcast to fp32 from 16-bit inputs on every device: the upcast is skipped only
        # when torch.backends.cuda.allow_fp16_bf16_reduction_math_sdp(True) was called (the flag
        # is off by default: torch/include/ATen/Context.h allow_fp16_bf16_reduction_mathSDP =
        # false; the math kernel, aten/src/ATen/native/transformers/attention.cpp, is shared by
        # CPU and CUDA). tests/cost/test_activations.py shows the flag, not the device, decides.
        # Its output is re-laid out by a copy.
        return FP32 * (3 * h / tp + heads * seq_len) + elem * h / tp
    kv = model.kv_dim if attention == "flash_attn" else h   # SDPA path repeats k/v (GQA)
    # flash kernels write their output in (b, s, heads, d) layout when q is a transposed view, so
    # the o-projection's input is the same storage; with partial RoPE q comes out of torch.cat
    # contiguous and the re-layout copies (runtime/blocks.py apply_rope)
    out_copy = elem * h / tp if partial_rope else 0
    return elem * (2 * h + 2 * kv) / tp + out_copy + FP32 * heads


def _mlp_bytes_per_token(model: ModelSpec, elem: int, activation_kernel: str) -> float:
    """GELU saves its input and output (2 f-wide); eager SwiGLU saves the fused gate|up output,
    silu(gate) and the product (4 f-wide); a fused SwiGLU kernel (runtime/kernels.py 'liger':
    LigerFusedGateUpSiLUMulFunction saves only gate|up, or 'compile') recomputes silu(gate) in
    backward: 3 f-wide (tests/runtime/test_gpu_block.py checks both on a GPU)."""
    if model.activation != "swiglu":
        return 2 * elem * model.ffn_hidden_size / tp
    return (4 if activation_kernel == "torch" else 3) * elem * model.ffn_hidden_size / tp


def layer_saved_bytes(model: ModelSpec, seq_len: int, attention: Attention = "sdpa",
                      elem: int = 2, platform: Platform = "cuda", activation_kernel: str = "torch"):
    """Bytes one block saves for backward per micro-batch on one TP rank (sympy, in b and tp).
    `activation_kernel` is the runtime's Kernels.activation (runtime/kernels.py)."""
    h = model.hidden_size
    norms = _norm_bytes_per_token(model, elem, platform)
    norm_outputs = 2 * elem * h                      # inputs of the column-parallel linears
    attn = _attention_bytes_per_token(model, seq_len, attention, elem, platform)
    mlp = _mlp_bytes_per_token(model, elem, activation_kernel)
    total = b * seq_len * (norms + norm_outputs + attn + mlp)
    if model.position_embedding == "rope":
        rot = 2 * int(model.head_dim * model.rotary_fraction // 2)
        total += 2 * elem * seq_len * rot            # cos and sin tables, shared by q and k
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
    """Peak of the loss on the last stage, per TP rank (mist_ds/runtime/loss.py
    ChunkedCrossEntropy, the runtime's default loss): the 16-bit logits, which the loss keeps for
    backward and overwrites in place with their gradient (elem bytes per logit, never an fp32 copy),
    one fp32 chunk of CHUNK_LOGITS logits being worked on, and per token the fp32 log-sum-exp and
    target logit, the int64 target index and two bool masks (18 bytes).
    With more than one stage DeepSpeed's PipelineEngine keeps the previous micro-batch's logits in
    pipe_buffers['outputs'] until the next forward has returned (deepspeed/runtime/pipe/engine.py
    _exec_forward_pass stores them; _exec_backward_pass returns early on the last stage before
    clearing them), so a second set of 16-bit logits is live at the end of that forward (PP)."""
    per_token = 2 * FP32 + INT64 + 2
    return (elem * (1 + PP) * VS + per_token) * b * seq_len + FP32 * LOSS_CHUNK_LOGITS
