"""The generic block: parameter counts match ModelSpec, recompute is exact, flags change the math."""

from __future__ import annotations

import pytest
import torch

from mist_ds.config.presets import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.runtime.blocks import TransformerBlock, apply_rope, rope_cos_sin


VARIANTS = ARCHITECTURE_VARIANTS
LLAMA = ARCHITECTURE_VARIANTS["llama"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_parameter_count_matches_spec(name):
    spec = tiny_model(**VARIANTS[name])
    block = TransformerBlock(spec)
    assert sum(p.numel() for p in block.parameters()) == spec.layer_params


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_recompute_gives_identical_output_and_gradients(name):
    spec = tiny_model(**VARIANTS[name])
    x = torch.randn(2, 16, spec.hidden_size)
    grads = []
    for recompute in (False, True):
        block = TransformerBlock(spec, recompute=recompute, layer_index=3)
        xi = x.clone().requires_grad_(True)
        out = block(xi)
        out.square().sum().backward()
        grads.append((out.detach(), xi.grad, [p.grad for p in block.parameters()]))
    (o0, x0, p0), (o1, x1, p1) = grads
    assert torch.equal(o0, o1) and torch.equal(x0, x1)
    assert all(torch.equal(a, b) for a, b in zip(p0, p1))


def test_same_layer_index_same_weights_other_index_differs():
    spec = tiny_model()
    a, b, c = (TransformerBlock(spec, layer_index=i) for i in (1, 1, 2))
    assert torch.equal(a.attn.q.weight, b.attn.q.weight)
    assert not torch.equal(a.attn.q.weight, c.attn.q.weight)


def test_block_is_causal():
    spec = tiny_model(**LLAMA)
    block = TransformerBlock(spec)
    x = torch.randn(1, 8, spec.hidden_size)
    y = x.clone()
    y[:, 5:] = torch.randn(1, 3, spec.hidden_size)
    assert torch.allclose(block(x)[:, :5], block(y)[:, :5], atol=1e-6)
    assert not torch.allclose(block(x)[:, 5:], block(y)[:, 5:])


def test_parallel_residual_changes_the_function():
    x = torch.randn(1, 8, 32)
    seq = TransformerBlock(tiny_model())(x)
    par = TransformerBlock(tiny_model(parallel_residual=True))(x)
    assert not torch.allclose(seq, par)


def test_partial_rope_leaves_the_rest_untouched():
    x = torch.randn(1, 2, 5, 8)
    cos, sin = rope_cos_sin(5, 2, 10000.0, None, torch.float32)
    out = apply_rope(x, cos, sin)
    assert torch.equal(out[..., 2:], x[..., 2:])
    assert torch.equal(out[:, :, 0], x[:, :, 0])  # position 0 is not rotated
    assert not torch.allclose(out[:, :, 1:, :2], x[:, :, 1:, :2])
