"""runtime/wgrad.py: a weight with a wgrad_sink gets its gradient added into the sink's buffer in one GEMM,
and nothing else changes (input and bias gradients, outputs, weights without a sink)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mist_ds.runtime.wgrad import linear, weight_gradient


def _inputs(bias: bool):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8, dtype=torch.float64, requires_grad=True)
    weight = torch.nn.Parameter(torch.randn(6, 8, dtype=torch.float64))
    b = torch.nn.Parameter(torch.randn(6, dtype=torch.float64)) if bias else None
    return x, weight, b


def test_the_sink_accumulates_what_autograd_would_and_the_weight_gets_no_grad():
    for bias in (True, False):
        x, weight, b = _inputs(bias)
        dy = torch.randn(2, 5, 6, dtype=torch.float64)
        F.linear(x, weight, b).backward(dy)
        expected = (x.grad.clone(), weight.grad.clone(), None if b is None else b.grad.clone())
        x.grad = None
        weight.grad = None
        if b is not None:
            b.grad = None
        buffer = torch.full_like(weight, 0.5)  # what earlier micro-batches accumulated
        weight.wgrad_sink = lambda write: write(buffer)
        out = linear(x, weight, b)
        assert torch.equal(out, F.linear(x, weight, b))
        out.backward(dy)
        assert weight.grad is None
        torch.testing.assert_close(buffer, 0.5 + expected[1])
        torch.testing.assert_close(x.grad, expected[0])
        if b is not None:
            torch.testing.assert_close(b.grad, expected[2])


def test_a_sink_given_none_gets_a_fresh_gradient():
    x, weight, _ = _inputs(False)
    dy = torch.randn(2, 5, 6, dtype=torch.float64)
    got = []
    weight.wgrad_sink = lambda write: got.append(write(None))
    linear(x, weight).backward(dy)
    torch.testing.assert_close(got[0], weight_gradient(dy, x, None))
    torch.testing.assert_close(got[0], dy.reshape(-1, 6).t() @ x.detach().reshape(-1, 8))


def test_without_a_sink_or_without_grad_it_is_f_linear():
    x, weight, b = _inputs(True)
    out = linear(x, weight, b)
    assert out.grad_fn.name() == F.linear(x, weight, b).grad_fn.name()
    weight.wgrad_sink = lambda write: (_ for _ in ()).throw(AssertionError("no backward expected"))
    with torch.no_grad():
        assert torch.equal(linear(x, weight, b), F.linear(x, weight, b))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_in_bf16_the_accumulating_gemm_is_as_accurate_as_a_fresh_gradient_and_an_add():
    """The engine's default path on the GPU (bf16, torch.addmm_ with beta = 1): four micro-batches
    accumulated in the GEMM, against fresh bf16 gradients added one by one (the path it replaced),
    both against an fp32 reference: the fused buffer is no further from it than the added one
    (it rounds once per micro-batch where the add rounds twice), and within bf16 rounding of it."""
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(512, 1024, device="cuda", dtype=torch.bfloat16) / 32)
    fused, added = torch.zeros_like(weight), torch.zeros_like(weight)
    exact = torch.zeros(weight.shape, device="cuda", dtype=torch.float32)
    for _ in range(4):
        x = torch.randn(2, 256, 1024, device="cuda", dtype=torch.bfloat16)
        dy = torch.randn(2, 256, 512, device="cuda", dtype=torch.bfloat16)
        weight.wgrad_sink = lambda write: write(fused)
        linear(x, weight).backward(dy)
        added.add_(weight_gradient(dy, x, None))
        exact += weight_gradient(dy.float(), x.float(), None)
    fused_err, added_err = ((buffer.float() - exact).abs().max().item() for buffer in (fused, added))
    assert fused_err <= added_err
    assert fused_err <= 2 ** -7 * exact.abs().max().item()
    assert weight.grad is None


def _gemms_in_backward(block, x) -> int:
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket in (torch.ops.aten.mm, torch.ops.aten.addmm, torch.ops.aten.bmm):
                Count.n += 1
            return func(*args, **(kwargs or {}))

    out = block(x)
    with Count():
        out.square().mean().backward()
    return Count.n


@pytest.mark.parametrize("variant", ["gpt", "llama", "neox-partial-rope-parallel"])
def test_a_recomputed_block_with_sinks_runs_no_more_gemms_than_without(variant):
    """torch.utils.checkpoint stops recomputing once the last saved tensor is packed; a custom Function
    packs only after its forward, so a sink on the block's final linear re-ran that GEMM (S15-4: 144
    extra GEMMs a step, 9 recomputed blocks x 16 micro-batches). fuse_weight_gradients leaves it out."""
    from mist_ds.runtime.blocks import TransformerBlock
    from mist_ds.runtime.wgrad import fuse_weight_gradients
    from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model

    spec = tiny_model(**{**ARCHITECTURE_VARIANTS.get(variant, {}), "hidden_size": 64, "num_heads": 4,
                         "ffn_hidden_size": 128})
    x = torch.randn(2, 16, 64, requires_grad=True)
    plain = _gemms_in_backward(TransformerBlock(spec, recompute=True), x)
    block = TransformerBlock(spec, recompute=True)
    sinks = []
    fuse_weight_gradients(block, lambda p: (lambda write: sinks.append(write(None))))
    assert _gemms_in_backward(block, x) == plain
    fused = sum(getattr(p, "wgrad_sink", None) is not None for p in block.parameters())
    assert len(sinks) == fused == sum(p.dim() == 2 for p in block.parameters()) - 1
