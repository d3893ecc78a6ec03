"""One generic decoder block built from ModelSpec flags (GPT, Llama, NeoX, Qwen2-style).

Flags used: norm (layernorm | rmsnorm), activation (gelu | swiglu), position_embedding (learned |
rope, with rotary_fraction and rope_theta), num_kv_heads (grouped-query attention), linear_bias /
qkv_bias, parallel_residual. Attention goes through flash-attn when it is importable and the input
is a CUDA bf16/fp16 tensor, else torch.nn.functional.scaled_dot_product_attention(is_causal=True)
(its own flash / memory-efficient kernels on GPU). `TransformerBlock(spec)` needs no process group
(tp = 1), so a cost-model probe can build and measure it in a plain process.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from mist_ds.config import ModelSpec
from mist_ds.runtime.tp import INIT_STD, ParallelLinear, tp_size

try:  # optional: flash-attn ships no wheels (DESIGN.md); SDPA is the default path
    from flash_attn import flash_attn_func
except ImportError:  # pragma: no cover - depends on the machine
    flash_attn_func = None


class Norm(nn.Module):
    """LayerNorm (weight + bias) or RMSNorm (weight), as the spec says."""

    def __init__(self, spec: ModelSpec, device=None, dtype=torch.float32):
        super().__init__()
        self.kind, self.eps = spec.norm, spec.norm_eps
        self.weight = nn.Parameter(torch.ones(spec.hidden_size, device=device, dtype=dtype))
        self.bias = None
        if spec.norm == "layernorm":
            self.bias = nn.Parameter(torch.zeros(spec.hidden_size, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[-1],)
        if self.kind == "layernorm":
            return F.layer_norm(x, shape, self.weight, self.bias, self.eps)
        return F.rms_norm(x, shape, self.weight, self.eps)


def rope_cos_sin(seq_len: int, rot_dim: int, theta: float, device, dtype):
    """cos/sin tables (seq, rot_dim) of rotary embeddings (Su et al. 2021, RoFormer, eq. 34)."""
    inv = 1.0 / (theta ** (torch.arange(0, rot_dim, 2, device=device, dtype=torch.float32) / rot_dim))
    angles = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), inv)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first cos.shape[-1] dims of each head of x (b, heads, s, d); GPT-NeoX half layout."""
    rot = cos.shape[-1]
    x_rot, x_pass = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = torch.cat((-x_rot[..., half:], x_rot[..., :half]), dim=-1)
    x_rot = x_rot * cos + rotated * sin
    return torch.cat((x_rot, x_pass), dim=-1) if x_pass.shape[-1] else x_rot


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention of (b, heads, s, d) tensors; k/v may have fewer (grouped) heads."""
    if flash_attn_func is not None and q.is_cuda and q.dtype in (torch.bfloat16, torch.float16):
        out = flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal=True)
        return out.transpose(1, 2)
    if k.shape[1] != q.shape[1]:
        repeat = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class Attention(nn.Module):
    """Multi-head / grouped-query self-attention, heads split over the TP group."""

    def __init__(self, spec: ModelSpec, *, key: str, seed: int, group=None, device=None,
                 dtype=torch.float32):
        super().__init__()
        world = tp_size(group)
        self.heads, self.kv_heads = spec.num_heads // world, spec.num_kv_heads // world
        self.head_dim = spec.head_dim
        self.rope = spec.position_embedding == "rope"
        self.rot_dim = 2 * int(spec.head_dim * spec.rotary_fraction // 2)
        self.theta = spec.rope_theta
        qkv_bias = spec.linear_bias or spec.qkv_bias
        out_std = INIT_STD / math.sqrt(2 * spec.num_layers)  # GPT-2 residual-projection scaling
        common = dict(seed=seed, group=group, device=device, dtype=dtype)
        h, kv = spec.hidden_size, spec.kv_dim
        self.q = ParallelLinear(h, h, mode="column", bias=qkv_bias, key=key + ".q", **common)
        self.k = ParallelLinear(h, kv, mode="column", bias=qkv_bias, key=key + ".k", **common)
        self.v = ParallelLinear(h, kv, mode="column", bias=qkv_bias, key=key + ".v", **common)
        self.o = ParallelLinear(h, h, mode="row", bias=spec.linear_bias, key=key + ".o",
                                std=out_std, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q = self.q(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.rope and self.rot_dim:
            cos, sin = rope_cos_sin(s, self.rot_dim, self.theta, x.device, x.dtype)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        out = causal_attention(q, k, v).transpose(1, 2).reshape(b, s, self.heads * self.head_dim)
        return self.o(out)


class MLP(nn.Module):
    """GELU MLP (up, down) or SwiGLU (gate, up, down), inner width split over the TP group."""

    def __init__(self, spec: ModelSpec, *, key: str, seed: int, group=None, device=None,
                 dtype=torch.float32):
        super().__init__()
        h, f, bias = spec.hidden_size, spec.ffn_hidden_size, spec.linear_bias
        common = dict(seed=seed, group=group, device=device, dtype=dtype)
        self.swiglu = spec.activation == "swiglu"
        self.up = ParallelLinear(h, f, mode="column", bias=bias, key=key + ".up", **common)
        self.gate = (ParallelLinear(h, f, mode="column", bias=bias, key=key + ".gate", **common)
                     if self.swiglu else None)
        self.down = ParallelLinear(f, h, mode="row", bias=bias, key=key + ".down",
                                   std=INIT_STD / math.sqrt(2 * spec.num_layers), **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.swiglu:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class TransformerBlock(nn.Module):
    """Pre-norm decoder block: x + attn(norm1 x), then + mlp(norm2 .) (or both in parallel).

    `recompute=True` wraps the block in torch.utils.checkpoint (non-reentrant): only its input is
    saved and the forward reruns in backward. Weights are drawn from (seed, layer_index) so the same
    block gets the same weights at any TP degree or pipeline split.
    """

    def __init__(self, spec: ModelSpec, tp_group=None, dtype: torch.dtype = torch.float32, *,
                 layer_index: int = 0, seed: int = 1234, device=None, recompute: bool = False):
        super().__init__()
        key = f"layer{layer_index}"
        common = dict(seed=seed, group=tp_group, device=device, dtype=dtype)
        self.parallel_residual = spec.parallel_residual
        self.recompute = recompute
        self.norm1 = Norm(spec, device=device, dtype=dtype)
        self.attn = Attention(spec, key=key + ".attn", **common)
        self.norm2 = Norm(spec, device=device, dtype=dtype)
        self.mlp = MLP(spec, key=key + ".mlp", **common)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.parallel_residual:
            return x + self.attn(self.norm1(x)) + self.mlp(self.norm2(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recompute and torch.is_grad_enabled():
            return checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
