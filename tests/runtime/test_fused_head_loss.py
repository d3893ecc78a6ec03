"""runtime/fused_head_loss.py against the unfused head + loss (runtime/loss.py) on CPU, fp32."""

from __future__ import annotations

import pytest
import torch

from mist_ds.runtime.fused_head_loss import fused_head_loss
from mist_ds.runtime.loss import IGNORE_INDEX, cross_entropy

TOKENS, HIDDEN, ROWS, REAL = (2, 7), 16, 40, 37   # 40 weight rows, the last 3 padding
SCALE = 0.25                                      # the gradient the loss receives (1 / grad accumulation)


def inputs(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(*TOKENS, HIDDEN, generator=gen)
    weight = torch.randn(ROWS, HIDDEN, generator=gen) * 0.3
    labels = torch.randint(0, REAL, TOKENS, generator=gen)
    labels[0, :2] = IGNORE_INDEX
    return hidden, weight, labels


def reference(hidden, weight, labels, grad: float = SCALE):
    """Loss, dL/dhidden and dL/dweight of the unfused path for an incoming gradient `grad`."""
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    loss = cross_entropy(h @ w.t(), labels, impl="chunked", vocab_end=REAL)
    loss.backward(torch.tensor(grad))
    return loss.detach(), h.grad, w.grad


@pytest.mark.parametrize("chunk_logits", [ROWS * 3, 1 << 24])   # 3 tokens a chunk, or all in one
def test_loss_and_gradients_match_the_unfused_path(chunk_logits):
    hidden, weight, labels = inputs()
    want = reference(hidden, weight, labels)
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    loss = fused_head_loss(h, w, labels, grad_scale=SCALE, vocab_end=REAL, chunk_logits=chunk_logits)
    loss.backward(torch.tensor(SCALE))
    torch.testing.assert_close(loss.detach(), want[0])
    torch.testing.assert_close(h.grad, want[1])
    torch.testing.assert_close(w.grad, want[2])
    assert not w.grad[REAL:].any()   # padded vocabulary: no gradient


def test_a_fresh_weight_gradient_follows_any_incoming_gradient():
    """Without a sink dx and dW are saved and scaled in backward, so a gradient other than grad_scale
    still gives the exact result."""
    hidden, weight, labels = inputs(1)
    want = reference(hidden, weight, labels, grad=1.0)
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    fused_head_loss(h, w, labels, grad_scale=SCALE, vocab_end=REAL).backward()
    torch.testing.assert_close(h.grad, want[1])
    torch.testing.assert_close(w.grad, want[2])


def test_a_sink_takes_the_weight_gradient_in_forward():
    """With weight.wgrad_sink (runtime/wgrad.py) dW goes into the sink's buffer during forward, the
    weight itself gets none; a backward with another gradient than grad_scale fails loudly."""
    hidden, weight, labels = inputs(2)
    want = reference(hidden, weight, labels)
    buffer = torch.full_like(weight, 0.5)   # an accumulation buffer that already holds something
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    w.wgrad_sink = lambda write: write(buffer)
    loss = fused_head_loss(h, w, labels, grad_scale=SCALE, vocab_end=REAL, chunk_logits=ROWS * 4)
    torch.testing.assert_close(buffer - 0.5, want[2])   # already there before any backward
    loss.backward(torch.tensor(SCALE))
    assert w.grad is None
    torch.testing.assert_close(h.grad, want[1])
    again = fused_head_loss(hidden.clone().requires_grad_(), w, labels, grad_scale=SCALE, vocab_end=REAL)
    with pytest.raises(RuntimeError):
        again.backward(torch.tensor(1.0))


def test_without_gradients_only_the_loss():
    hidden, weight, labels = inputs(3)
    with torch.no_grad():
        got = fused_head_loss(hidden, weight, labels, grad_scale=SCALE, vocab_end=REAL, chunk_logits=ROWS)
    torch.testing.assert_close(got, reference(hidden, weight, labels)[0])


def test_a_chunk_holds_whole_gemm_tiles_of_tokens():
    """runtime/fused_head_loss.py _token_rows: 16 M logits over Llama-3's 128256-token vocabulary are 130 rows,
    cut to 128 (one GEMM tile of M), over Qwen2's 152064 110 rows, raised to 128; from under half a tile the
    plain count stays."""
    from mist_ds.runtime.fused_head_loss import _token_rows

    assert _token_rows(128256, 1 << 24) == _token_rows(152064, 1 << 24) == 128
    assert _token_rows(32000, 1 << 24) == 512 and _token_rows(ROWS, ROWS * 3) == 3
