"""Kernel selection (runtime/kernels.py): names are checked, CPU tensors take the torch path for
every element-wise choice, and each attention kernel name runs (GPU-only ones fall back on CPU)."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.cost.activations import ATTENTION_KERNELS, ATTENTION_SAVES
from mist_ds.runtime import kernels as K
from mist_ds.runtime.blocks import TransformerBlock
from mist_ds.runtime.model import BuildOptions, MistModel

LLAMA = ARCHITECTURE_VARIANTS["llama"]


def test_names_are_checked():
    with pytest.raises(ValueError, match="kernel for rope"):
        K.Kernels(rope="triton")
    with pytest.raises(ValueError, match="attention kernel"):
        K.Kernels(attention="flash")
    assert set(ATTENTION_SAVES) == set(ATTENTION_KERNELS)


def run_block(spec, kernels, x):
    block = TransformerBlock(spec, layer_index=1, kernels=kernels)
    xi = x.clone().requires_grad_(True)
    out = block(xi)
    out.square().sum().backward()
    return out.detach(), xi.grad


@pytest.mark.parametrize("impl", ["liger", "compile"])
@pytest.mark.parametrize("name", ["gpt", "llama", "neox-partial-rope-parallel"])
def test_cpu_tensors_take_the_torch_path(impl, name):
    spec = tiny_model(**ARCHITECTURE_VARIANTS[name])
    x = torch.randn(2, 8, spec.hidden_size)
    ref = run_block(spec, K.Kernels(), x)
    got = run_block(spec, K.Kernels(norm=impl, activation=impl, rope=impl), x)
    assert torch.equal(ref[0], got[0]) and torch.equal(ref[1], got[1])


@pytest.mark.parametrize("kernel", ATTENTION_KERNELS)
def test_every_attention_kernel_runs_and_agrees(kernel):
    spec = tiny_model(**{**LLAMA, "num_kv_heads": 2})
    x = torch.randn(2, 8, spec.hidden_size)
    with sdpa_kernel(SDPBackend.MATH):
        ref = run_block(spec, K.Kernels(attention="sdpa"), x)
    got = run_block(spec, K.Kernels(attention=kernel), x)
    assert torch.allclose(got[0], ref[0], atol=1e-5) and torch.allclose(got[1], ref[1], atol=1e-4)


def test_forced_math_kernel_really_runs_math():
    """'math' saves the softmax matrix; SDPA's CPU dispatch (flash) does not."""
    q = torch.randn(1, 2, 32, 8, dtype=torch.bfloat16, requires_grad=True)
    sizes = {}
    for kernel in ("sdpa", "math"):
        seen = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t.shape) or t,
                                                      lambda t: t):
            K.causal_attention(q, q, q, kernel)
        sizes[kernel] = seen
    assert (1, 2, 32, 32) in sizes["math"] and (1, 2, 32, 32) not in sizes["sdpa"]


def test_cuda_only_kernels_resolve_to_sdpa_on_cpu():
    q = torch.randn(1, 2, 4, 8)
    for kernel in ("sdpa_cudnn", "sdpa_efficient", "flash_attn", "auto"):
        assert K.resolve_attention(kernel, q) == "sdpa"
    assert K.resolve_attention("sdpa_flash", q) == "sdpa_flash"


def test_build_options_reach_every_block():
    kernels = K.Kernels(norm="compile", attention="math")
    model = MistModel(tiny_model(), BuildOptions(kernels=kernels), {0: "keep", 1: "recompute"})
    assert all(block.attn.kernels is kernels for block in model.blocks)
    assert all(block.norm1.impl == "compile" for block in model.blocks)
    assert model.norm.impl == "compile"


@pytest.mark.parametrize("name", ["llama", "llama-gqa", "neox-partial-rope-parallel", "qwen3"])
def test_the_fused_projection_rope_equals_rotating_the_split_views(name):
    """kernels.torch_qkv_rope (what 'compile' compiles) gives the views path's q, k, v and fused
    gradient, with each output a contiguous (b, s, heads, d) tensor of its own; with Qwen3's q/k norms
    (normalised before the rotation on both paths) the norm weight's gradient too."""
    from mist_ds.runtime.blocks import rotary_dims

    spec = tiny_model(**ARCHITECTURE_VARIANTS[name])
    heads, kv, d = spec.num_heads, spec.num_kv_heads, spec.head_dim
    fused = torch.randn(2, 8, (heads + 2 * kv) * d, dtype=torch.float64, requires_grad=True)
    cos, sin = K.rope_cos_sin(8, rotary_dims(spec), 10000.0, "cpu", torch.float64)
    weight = (torch.rand(2, d, dtype=torch.float64) + 0.5).requires_grad_(True) if spec.qk_norm else None
    qk_norm = None if weight is None else (weight, 1e-6)
    raw = K.torch_qkv_rope(fused, (heads, kv, kv), d, cos, sin, weight, 1e-6)
    assert all(t.is_contiguous() and t.shape[2] == n for t, n in zip(raw, (heads, kv, kv)))
    assert all(t.untyped_storage().data_ptr() != fused.untyped_storage().data_ptr() for t in raw)
    grads = [torch.randn(t.transpose(1, 2).shape, dtype=torch.float64) for t in raw]
    results = []
    for fn in (lambda: tuple(t.transpose(1, 2) for t in raw),
               lambda: K.split_qkv(fused, (heads, kv, kv), d, cos, sin, "torch", qk_norm)):
        fused.grad = None
        if weight is not None:
            weight.grad = None
        outs = fn()
        torch.autograd.backward(outs, grads, retain_graph=True)
        results.append(([t.detach() for t in outs], fused.grad.clone(), None if weight is None else weight.grad))
    (got, got_grad, got_w), (want, want_grad, want_w) = results
    assert all(torch.allclose(a, b) for a, b in zip(got, want))
    assert torch.allclose(got_grad, want_grad)
    if weight is not None:
        assert torch.allclose(got_w, want_w)
        # and the norm is really there: q's heads have unit RMS before the weight and the rotation
        q = K.split_qkv(fused, (heads, kv, kv), d, qk_norm=(torch.ones(2, d, dtype=torch.float64), 1e-30))[0]
        torch.testing.assert_close(q.square().mean(-1), torch.ones(q.shape[:-1], dtype=torch.float64))

