"""The generic block: parameter counts match ModelSpec, recompute is exact, flags change the math."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.runtime import blocks as runtime_blocks
from mist_ds.runtime import tp as runtime_tp
from mist_ds.runtime.blocks import TransformerBlock, apply_rope, rope_cos_sin
from mist_ds.runtime.tp import ParallelLinear


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
    assert torch.equal(a.attn.qkv.weight, b.attn.qkv.weight)
    assert not torch.equal(a.attn.qkv.weight, c.attn.qkv.weight)


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


@pytest.mark.parametrize("name", ["llama", "llama-gqa"])
def test_fused_linears_hold_the_separate_linears_weights(name):
    """qkv and gate|up are the concatenation of what separate linears of the same keys draw, so
    a checkpoint or a loss curve does not depend on the fusion."""
    spec = tiny_model(**VARIANTS[name])
    block = TransformerBlock(spec, layer_index=2, seed=7)
    h, kv, f = spec.hidden_size, spec.kv_dim, spec.ffn_hidden_size
    parts = [("layer2.attn.q", h), ("layer2.attn.k", kv), ("layer2.attn.v", kv)]
    separate = [ParallelLinear(h, out, mode="column", bias=False, key=key, seed=7).weight
                for key, out in parts]
    assert torch.equal(block.attn.qkv.weight, torch.cat(separate))
    gate_up = [ParallelLinear(h, f, mode="column", bias=False, key=f"layer2.mlp.{part}", seed=7).weight
               for part in ("gate", "up")]
    assert torch.equal(block.mlp.gate_up.weight, torch.cat(gate_up))


@pytest.fixture
def counted_tp(monkeypatch):
    """`group=2` behaves like rank 0 of a TP group of 2; every all-reduce is counted."""
    calls = []
    monkeypatch.setattr(runtime_tp, "tp_size", lambda group: 1 if group is None else group)
    monkeypatch.setattr(runtime_tp, "tp_rank", lambda group: 0)
    monkeypatch.setattr(runtime_tp, "_all_reduce",
                        lambda tensor, group, op=None: calls.append(tensor.shape) or tensor)
    monkeypatch.setattr(runtime_blocks, "tp_size", runtime_tp.tp_size)
    return calls


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_one_backward_all_reduce_per_sub_layer(counted_tp, name):
    spec = tiny_model(**{**VARIANTS[name], "num_heads": 4,
                         "num_kv_heads": 2 if name == "llama-gqa" else 4})
    block = TransformerBlock(spec, 2)
    x = torch.randn(2, 8, spec.hidden_size, requires_grad=True)
    out = block(x)
    assert len(counted_tp) == 2  # forward: the row-parallel outputs of attention and MLP
    counted_tp.clear()
    out.square().sum().backward()
    # backward: the input gradient of attention's qkv and of the MLP's first linear, once each; with q/k
    # norms (Qwen3) also their replicated (2, head_dim) weight's gradient
    qk_norm = [torch.Size([2, spec.head_dim])] if spec.qk_norm else []
    assert sorted(counted_tp) == sorted([x.shape, x.shape, *qk_norm])


def _rank_attention(monkeypatch, spec, tp: int, rank: int):
    """Rank `rank` of a TP group of `tp` (group=tp), whose all-reduces are the identity: its local sums."""
    monkeypatch.setattr(runtime_tp, "tp_size", lambda group: 1 if group is None else group)
    monkeypatch.setattr(runtime_tp, "tp_rank", lambda group: rank)
    monkeypatch.setattr(runtime_tp, "_all_reduce", lambda tensor, group, op=None: tensor)
    monkeypatch.setattr(runtime_blocks, "tp_size", runtime_tp.tp_size)
    return runtime_blocks.Attention(spec, key="layer1.attn", seed=3, group=None if tp == 1 else tp)


def test_tp_ranks_q_k_norm_gradients_sum_to_the_unsplit_gradient(monkeypatch):
    """Each TP rank normalises its own heads with the whole (2, head_dim) weight, so its gradient there is a
    partial sum over its heads: the ranks' local gradients add up to the unsplit attention's (a loss linear in
    the output, which is the sum of the ranks' row-parallel partial outputs), which is why the runtime
    all-reduces (sums) that gradient over the TP group and every rank then holds the same."""
    spec = tiny_model(**{**VARIANTS["qwen3"], "num_heads": 4, "num_kv_heads": 2})
    x = torch.randn(2, 8, spec.hidden_size)
    weight = torch.randn(2, spec.head_dim).abs() + 0.5
    grads = {}
    for tp, rank in ((1, 0), (2, 0), (2, 1)):
        attn = _rank_attention(monkeypatch, spec, tp, rank)
        with torch.no_grad():
            attn.qk_norm.copy_(weight)
        out = attn(x)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads[tp, rank] = attn.qk_norm.grad
    assert not torch.allclose(grads[2, 0], grads[2, 1], atol=1e-3)    # the local sums differ per rank
    torch.testing.assert_close(grads[2, 0] + grads[2, 1], grads[1, 0], rtol=1e-5, atol=1e-6)
