"""runtime/fused_head_loss.py against the unfused head + loss (runtime/loss.py) on CPU, fp32."""

from __future__ import annotations

import os
import subprocess
import sys

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
    """cost/activations.py fused_eager_rows (the fused loss's eager chunks): 16 M logits over Llama-3's
    128256-token vocabulary are 130 rows, cut to 128 (one GEMM tile of M), over Qwen2's 152064 110 rows, raised
    to 128; from under half a tile the plain count stays."""
    from mist_ds.cost.activations import fused_eager_rows

    assert fused_eager_rows(128256, 1 << 24) == fused_eager_rows(152064, 1 << 24) == 128
    assert fused_eager_rows(32000, 1 << 24) == 512 and fused_eager_rows(ROWS, ROWS * 3) == 3


def test_liger_chunks_are_whole_gemm_tiles_of_fused_chunk_bytes():
    """cost/activations.py fused_liger_rows (the fused loss's Liger chunks): 256 MiB of bf16 logits are 768 token
    rows over Qwen2's 152064-token vocabulary and 1024 over Llama-3's 128256, never fewer than one GEMM tile,
    never more than the tokens."""
    from mist_ds.cost.activations import fused_liger_rows

    assert fused_liger_rows(16384, 152064, 2) == 768 and fused_liger_rows(16384, 128256, 2) == 1024
    assert fused_liger_rows(16384, 1 << 30, 2) == 128 and fused_liger_rows(300, 32000, 2) == 300


INTERPRETED = r"""
import torch
import mist_ds.runtime.fused_head_loss as fused
from mist_ds.runtime.loss import IGNORE_INDEX, cross_entropy

fused._on_liger = lambda x, group, columns, impl: group is None   # CPU tensors through Triton's interpreter
gen = torch.Generator().manual_seed(0)
tokens, hidden_size, rows, real, scale = (2, 200), 16, 40, 37, 0.25   # 400 tokens: chunks of 128 (GEMM_ROWS)
hidden = torch.randn(*tokens, hidden_size, generator=gen)
weight = torch.randn(rows, hidden_size, generator=gen) * 0.3
labels = torch.randint(0, real, tokens, generator=gen)
labels[0, :5] = IGNORE_INDEX
h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
want = cross_entropy(h @ w.t(), labels, impl="chunked", vocab_end=real)
want.backward(torch.tensor(scale))
for sunk in (False, True):
    x, wt = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    buffer = torch.full_like(weight, 0.5)
    if sunk:
        wt.wgrad_sink = lambda write: write(buffer)
    loss = fused.fused_head_loss(x, wt, labels, grad_scale=scale, vocab_end=real)
    loss.backward(torch.tensor(scale))
    dw = buffer - 0.5 if sunk else wt.grad
    torch.testing.assert_close(loss.detach(), want.detach())
    torch.testing.assert_close(x.grad, h.grad)
    torch.testing.assert_close(dw, w.grad)
    assert not dw[real:].any()
with torch.no_grad():
    torch.testing.assert_close(fused.fused_head_loss(hidden, weight, labels, grad_scale=scale, vocab_end=real),
                               want.detach())
print("ok")
"""


def test_liger_chunks_match_the_unfused_path_under_the_triton_interpreter():
    """The Liger path (_LigerChunks: Liger's cross-entropy kernel over each 128-token chunk's logits, scaled in
    place) gives the unfused path's loss, dhidden and dW, fresh or into a sink, with ignored labels and padded
    vocabulary; skipped where liger-kernel / Triton are not installed (CI), as tests/runtime/test_liger_loss.py."""
    from tests.runtime.test_liger_loss import ROOT, _liger_and_triton

    _liger_and_triton()
    env = {**os.environ, "TRITON_INTERPRET": "1", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", INTERPRETED], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


@pytest.mark.gpu
def test_liger_chunks_on_the_gpu_match_the_unfused_liger_loss_without_host_synchronisation():
    """On CUDA in bf16 at Qwen2's vocabulary (three chunks of 768 tokens): loss, dhidden and dW within bf16
    rounding of the unfused head + Liger loss, forward and backward under torch's sync debug mode 'error'."""
    from tests.runtime.test_liger_loss import _liger_and_triton

    _liger_and_triton()
    gen = torch.Generator(device="cuda").manual_seed(0)
    vocab, hidden_size, tokens = 152064, 512, (2, 1100)
    hidden = torch.randn(*tokens, hidden_size, device="cuda", generator=gen).bfloat16()
    weight = (torch.randn(vocab, hidden_size, device="cuda", generator=gen) * 0.05).bfloat16()
    labels = torch.randint(0, vocab, tokens, device="cuda", generator=gen)
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    want = cross_entropy(h @ w.t(), labels, impl="liger")
    want.backward(torch.tensor(SCALE, device="cuda"))
    x, wt = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    fused_head_loss(x, wt, labels, grad_scale=SCALE)   # compile the kernels first: Triton's first launch may sync
    x, wt = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    incoming = torch.tensor(SCALE, device="cuda")   # made before the check: a host scalar's copy synchronises
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = fused_head_loss(x, wt, labels, grad_scale=SCALE)
        loss.backward(incoming)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert abs(loss.item() - want.item()) < 1e-4 * want.item()
    for got, ref in ((x.grad, h.grad), (wt.grad, w.grad)):
        assert ((got.float() - ref.float()).norm() / ref.float().norm()).item() < 2e-2


def test_a_plan_asking_for_it_builds_the_engine_with_it(monkeypatch):
    """runtime/build.py build_mistpipe hands build_mistpipe_engine fused_head_loss=True for a plan whose
    Plan.head_loss is 'fused' and no such keyword otherwise (bench/engine's A/B sides bind it themselves)."""
    from types import SimpleNamespace

    import mist_ds.runtime.mistpipe as mistpipe
    from mist_ds.config import Plan
    from mist_ds.runtime import build
    from tests.runtime.test_mistpipe_train_cli import tuned_mistpipe_plan

    seen = []
    monkeypatch.setattr(build, "MistPipelineModule", lambda plan, opts, topology: "module")
    monkeypatch.setattr(mistpipe, "build_mistpipe_engine", lambda module, memory, config, **kw: seen.append(kw))
    plan = tuned_mistpipe_plan().without_prediction()
    fused = Plan.model_validate({**plan.model_dump(), "head_loss": "fused"})
    mpu = SimpleNamespace(coord=SimpleNamespace(pipe=1))
    for each in (plan, fused):
        build.build_mistpipe(each, None, None, mpu, {})
    assert seen == [{}, {"fused_head_loss": True}]
