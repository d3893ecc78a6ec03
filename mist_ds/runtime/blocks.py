"""One generic decoder block built from ModelSpec flags (GPT, Llama, NeoX, Qwen2-, Qwen3- and Phi-3-style).

Flags used: norm (layernorm | rmsnorm), activation (gelu | swiglu), position_embedding (learned |
rope, with rotary_fraction and rope_theta), num_kv_heads (grouped-query attention), head_dim_override
(q and the attention output heads x head_dim wide), qk_norm (Qwen3's per-head q/k RMSNorm before
RoPE), linear_bias / qkv_bias, parallel_residual. q/k/v are one fused column-parallel linear, and so are SwiGLU's gate
and up (runtime/tp.py FusedColumnLinear): with TP each sub-layer all-reduces its input gradient
once. Their rows are q | k | v and gate | up, transformers' Phi3 qkv_proj and gate_up_proj as they are.
Which kernels run the norms, SwiGLU, RoPE and attention is `kernels` (runtime/kernels.py;
the default is 'auto': on CUDA the implementation config/kernel_picks.py measured fastest per op,
eager torch on the CPU; 'auto' attention is flash-attn when importable for a CUDA 16-bit tensor,
else torch SDPA's dispatch). `TransformerBlock(spec)` needs no process group (tp = 1), so
a cost-model probe can build and measure it in a plain process.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from mist_ds.config import ModelSpec
from mist_ds.runtime import kernels as K
from mist_ds.runtime.kernels import (DEFAULT_KERNELS, Kernels, apply_rope,  # noqa: F401 (re-exported)
                                     causal_attention, rope_cos_sin)
from mist_ds.runtime.tp import INIT_STD, FusedColumnLinear, ParallelLinear, copy_to_tp, tp_size


def rotary_dims(spec: ModelSpec) -> int:
    """Dimensions of each head that RoPE rotates (rotary_fraction of head_dim, even); 0 without RoPE."""
    if spec.position_embedding != "rope":
        return 0
    return 2 * int(spec.head_dim * spec.rotary_fraction // 2)


class Norm(nn.Module):
    """LayerNorm (weight + bias) or RMSNorm (weight), as the spec says."""

    def __init__(self, spec: ModelSpec, device=None, dtype=torch.float32, impl: str = "auto"):
        super().__init__()
        self.kind, self.eps, self.impl = spec.norm, spec.norm_eps, impl
        self.weight = nn.Parameter(torch.ones(spec.hidden_size, device=device, dtype=dtype))
        self.bias = None
        if spec.norm == "layernorm":
            self.bias = nn.Parameter(torch.zeros(spec.hidden_size, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return K.norm(x, self.weight, self.bias, self.eps, self.impl)


def _own_storage(parts: list[torch.Tensor], fused: torch.Tensor) -> list[torch.Tensor]:
    """Copy out those parts that are still views of `fused` when others are not: a saved view
    keeps the whole fused buffer alive (e.g. v after RoPE replaced q and k), so the block would
    save more than separate linears did (mist_ds/cost/activations.py counts separate tensors)."""
    ptr = fused.untyped_storage().data_ptr()
    views = [p.untyped_storage().data_ptr() == ptr for p in parts]
    if all(views) or not any(views):
        return parts
    return [p.contiguous() if view else p for p, view in zip(parts, views)]


class Attention(nn.Module):
    """Multi-head / grouped-query self-attention, heads split over the TP group."""

    def __init__(self, spec: ModelSpec, *, key: str, seed: int, group=None, device=None,
                 dtype=torch.float32, kernels: Kernels = DEFAULT_KERNELS):
        super().__init__()
        world = tp_size(group)
        self.heads, self.kv_heads = spec.num_heads // world, spec.num_kv_heads // world
        self.head_dim = spec.head_dim
        self.rope = spec.position_embedding == "rope"
        self.rot_dim = rotary_dims(spec)
        self.theta, self.rope_scaling = spec.rope_theta, spec.rope_scaling
        self.kernels = kernels
        qkv_bias = spec.linear_bias or spec.qkv_bias
        out_std = INIT_STD / math.sqrt(2 * spec.num_layers)  # GPT-2 residual-projection scaling
        common = dict(seed=seed, group=group, device=device, dtype=dtype)
        h, q, kv = spec.hidden_size, spec.q_dim, spec.kv_dim   # q: heads x head_dim (hidden unless decoupled)
        self.qkv = FusedColumnLinear(h, {key + ".q": q, key + ".k": kv, key + ".v": kv},
                                     bias=qkv_bias, **common)
        self.o = ParallelLinear(q, h, mode="row", bias=spec.linear_bias, key=key + ".o",
                                std=out_std, **common)
        self.group, self.norm_eps, self.qk_norm = group, spec.norm_eps, None
        if spec.qk_norm:
            # q_norm's and k_norm's weights as rows 0 and 1 (Qwen3): every TP rank normalises its own heads
            # with the whole weight, so the weight is replicated and its gradient, each rank's sum over its
            # heads, is summed over the TP group in backward (copy_to_tp in _qkv): transformers' TP plan
            # "replicated_with_grad_allreduce" for q_norm / k_norm (configuration_qwen3.py)
            self.qk_norm = nn.Parameter(torch.ones(2, self.head_dim, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        fused = self.qkv(x)
        q, k, v = self._qkv(fused)
        kernel = K.resolve_attention(self.kernels.attention, q)
        if kernel != "flash_attn" and self.kv_heads != self.heads:  # SDPA gets k/v repeated
            repeat = self.heads // self.kv_heads
            k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
        q, k, v = _own_storage([q, k, v], fused)
        out = K.causal_attention(q, k, v, kernel)
        return self.o(out.transpose(1, 2).reshape(b, s, self.heads * self.head_dim))

    def _qkv(self, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v (b, heads, s, d) of the fused projection, q and k rotated (kernels.split_qkv)."""
        sizes = (self.heads, self.kv_heads, self.kv_heads)
        qk_norm = None if self.qk_norm is None else (copy_to_tp(self.qk_norm, self.group), self.norm_eps)
        if not (self.rope and self.rot_dim):
            return K.split_qkv(fused, sizes, self.head_dim, qk_norm=qk_norm)
        cos, sin = K.rope_cos_sin(fused.shape[1], self.rot_dim, self.theta, fused.device, fused.dtype,
                                  self.rope_scaling)
        return K.split_qkv(fused, sizes, self.head_dim, cos, sin, self.kernels.rope, qk_norm)


class MLP(nn.Module):
    """GELU MLP (up, down) or SwiGLU (fused gate|up, down), inner width split over the TP group."""

    def __init__(self, spec: ModelSpec, *, key: str, seed: int, group=None, device=None,
                 dtype=torch.float32, kernels: Kernels = DEFAULT_KERNELS):
        super().__init__()
        h, f, bias = spec.hidden_size, spec.ffn_hidden_size, spec.linear_bias
        common = dict(seed=seed, group=group, device=device, dtype=dtype)
        self.swiglu = spec.activation == "swiglu"
        self.impl = kernels.activation
        self.gelu_approximation = spec.gelu_approximation
        if self.swiglu:
            self.gate_up = FusedColumnLinear(h, {key + ".gate": f, key + ".up": f}, bias=bias, **common)
        else:
            self.up = ParallelLinear(h, f, mode="column", bias=bias, key=key + ".up", **common)
        self.down = ParallelLinear(f, h, mode="row", bias=bias, key=key + ".down",
                                   std=INIT_STD / math.sqrt(2 * spec.num_layers), **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.swiglu:
            return self.down(K.swiglu(self.gate_up(x), self.impl))
        return self.down(torch.nn.functional.gelu(self.up(x), approximate=self.gelu_approximation))


class TransformerBlock(nn.Module):
    """Pre-norm decoder block: x + attn(norm1 x), then + mlp(norm2 .) (or both in parallel).

    `recompute=True` wraps the block in torch.utils.checkpoint (non-reentrant): only its input is
    saved and the forward reruns in backward. Weights are drawn from (seed, layer_index) so the same
    block gets the same weights at any TP degree or pipeline split. `kernels` picks the
    implementation of each op (runtime/kernels.py).
    """

    def __init__(self, spec: ModelSpec, tp_group=None, dtype: torch.dtype = torch.float32, *,
                 layer_index: int = 0, seed: int = 1234, device=None, recompute: bool = False,
                 kernels: Kernels = DEFAULT_KERNELS):
        super().__init__()
        key = f"layer{layer_index}"
        common = dict(seed=seed, group=tp_group, device=device, dtype=dtype, kernels=kernels)
        self.parallel_residual = spec.parallel_residual
        self.recompute = recompute
        self.norm1 = Norm(spec, device=device, dtype=dtype, impl=kernels.norm)
        self.attn = Attention(spec, key=key + ".attn", **common)
        self.norm2 = Norm(spec, device=device, dtype=dtype, impl=kernels.norm)
        self.mlp = MLP(spec, key=key + ".mlp", **common)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.parallel_residual:
            return x + self.attn(self.norm1(x)) + self.mlp(self.norm2(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def final_linear(self) -> nn.Module:
        """The last linear _forward runs: the MLP's down projection in both residual layouts."""
        return self.mlp.down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recompute and torch.is_grad_enabled():
            return checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
