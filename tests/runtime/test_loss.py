"""The chunked cross-entropy (runtime/loss.py) equals torch's fp32 cross-entropy, loss and logit
gradient, at TP 1 (in process) and TP 2 (two real gloo ranks), and holds no fp32 copy of the
logits: the gradient is written into the logits' own storage."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from tests.helpers import tiny_model
from mist_ds.cost import activations
from mist_ds.cost.symbols import PP, VS, b
from mist_ds.runtime import loss as runtime_loss
from mist_ds.runtime.loss import IGNORE_INDEX, chunked_cross_entropy, cross_entropy
from mist_ds.runtime.model import BuildOptions, MistModel

from tests.helpers import free_port, spawn_ranks
from .test_loss_equivalence import ROOT, cpu_env

TOL = {torch.float32: 1e-5, torch.bfloat16: 1e-2}


def logits_and_labels(dtype, shape=(3, 5), vocab=37, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = (4 * torch.randn(*shape, vocab, generator=gen)).to(dtype)
    labels = torch.randint(0, vocab, shape, generator=gen)
    labels[1, 2] = IGNORE_INDEX
    return logits, labels


def reference(logits, labels):
    """fp32 torch cross-entropy: loss and the logits' gradient."""
    ref = logits.detach().float().clone().requires_grad_(True)
    loss = F.cross_entropy(ref.flatten(0, -2), labels.flatten(), ignore_index=IGNORE_INDEX)
    loss.backward()
    return loss.detach(), ref.grad


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("chunk_logits", [1, 37 * 2, 37 * 4 + 5, 1 << 24])
def test_loss_and_gradient_equal_the_fp32_reference(dtype, chunk_logits):
    logits, labels = logits_and_labels(dtype)
    want_loss, want_grad = reference(logits, labels)
    x = logits.clone().requires_grad_(True)
    loss = chunked_cross_entropy(x, labels, chunk_logits=chunk_logits)
    (3.0 * loss).backward()
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(want_loss.item(), rel=TOL[dtype])
    assert x.grad.dtype == dtype
    assert rel(x.grad, 3.0 * want_grad) < TOL[dtype]
    assert torch.all(x.grad[1, 2] == 0)  # ignored token: no gradient


def test_gradient_is_written_into_the_logits_storage_once():
    hidden = torch.randn(2, 4, 8, requires_grad=True)
    head = torch.nn.Linear(8, 50, bias=False)
    logits = head(hidden)
    seen = []
    logits.register_hook(lambda grad: seen.append(grad.untyped_storage().data_ptr()))
    loss = chunked_cross_entropy(logits, torch.randint(0, 50, (2, 4)), chunk_logits=64)
    loss.backward(retain_graph=True)
    assert seen == [logits.untyped_storage().data_ptr()]   # no second logit-sized tensor
    with pytest.raises(RuntimeError, match="inplace"):      # the saved logits are gone
        loss.backward()


def test_non_contiguous_logits_get_their_own_gradient():
    logits, labels = logits_and_labels(torch.float32, shape=(5, 3))
    base = logits.transpose(0, 1).contiguous().requires_grad_(True)  # (3, 5, V)
    view = base.transpose(0, 1)                                      # (5, 3, V), strided
    before = view.detach().clone()
    loss = chunked_cross_entropy(view, labels, chunk_logits=40)
    loss.backward()
    want_loss, want_grad = reference(before, labels)
    assert loss.item() == pytest.approx(want_loss.item(), rel=1e-5)
    assert rel(base.grad.transpose(0, 1), want_grad) < 1e-5
    assert torch.equal(view.detach(), before)


def test_saved_tensors_are_the_16bit_logits_and_per_token_vectors():
    """What the loss keeps for backward: the bf16 logits and 14 bytes per token, no fp32 logits;
    the cost model's logits_bytes is that (plus the fp32 target logits, 4 bytes per token, live in
    forward) and one fp32 chunk."""
    tokens, vocab = (4, 64), 1000
    logits = torch.randn(*tokens, vocab, dtype=torch.bfloat16, requires_grad=True)
    labels = torch.randint(0, vocab, tokens)
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = chunked_cross_entropy(logits, labels)
    loss.backward()
    n = tokens[0] * tokens[1]
    assert sum(storages.values()) == 2 * n * vocab + 14 * n + 4
    model = activations.logits_bytes(tokens[1]).subs({b: tokens[0], VS: vocab, PP: 0})
    chunk = 4 * activations.LOSS_CHUNK_LOGITS
    assert float(model) - chunk == pytest.approx(2 * n * vocab + 18 * n, rel=1e-9)


@pytest.mark.parametrize("with_ignored", [False, True])
def test_pointwise_chunk_gradient_equals_the_scatter_one(with_ignored):
    """The compiled path's one-hot-by-comparison gradient (run here eagerly) is the eager path's."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(6, 50, generator=gen).bfloat16()
    target = torch.randint(0, 50, (6,), generator=gen)
    hit = torch.ones(6, dtype=torch.bool)
    hit[2] = not with_ignored
    lse = torch.logsumexp(x.float(), dim=1)
    scale = torch.full((6,), 0.25) * hit
    want = runtime_loss._chunk_grad(x, lse, target, hit, scale).to(torch.bfloat16)
    got = runtime_loss._chunk_grad_pointwise(x, lse, target, hit, scale)
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, want)


def test_functional_chunk_stats_equal_the_in_place_ones():
    x = torch.randn(5, 40, generator=torch.Generator().manual_seed(4)).bfloat16()
    target = torch.tensor([0, 39, 7, 7, 12])
    for got, want in zip(runtime_loss._chunk_stats_functional(x, target), runtime_loss._chunk_stats(x, target)):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_cost_model_chunk_is_the_runtime_chunk():
    assert activations.LOSS_CHUNK_LOGITS == runtime_loss.CHUNK_LOGITS


def test_implementations_agree_and_names_are_checked():
    logits, labels = logits_and_labels(torch.float32)
    labels[1, 2] = 0   # the fp32 path at tp > 1 has no ignore_index; keep the cases comparable
    got = {impl: cross_entropy(logits, labels, impl=impl).item()
           for impl in ("chunked", "chunked_compile", "liger", "fp32")}  # CPU: liger -> chunked
    assert max(got.values()) == pytest.approx(min(got.values()), rel=1e-6)
    with pytest.raises(ValueError, match="loss implementation"):
        cross_entropy(logits, labels, impl="nope")
    with pytest.raises(ValueError, match="loss must be one of"):
        BuildOptions(loss="nope")


@pytest.mark.parametrize("tie", [True, False])
def test_model_loss_and_gradients_match_the_fp32_loss(tie):
    """The whole model (tied or untied head) trains the same with the chunked loss as with the
    former fp32 loss."""
    spec = tiny_model(tie_embeddings=tie)
    tokens = torch.randint(0, spec.vocab_size, (2, 16))
    labels = torch.randint(0, spec.vocab_size, (2, 16))
    results = []
    for impl in ("fp32", "chunked"):
        model = MistModel(spec, BuildOptions(loss=impl), {0: "keep", 1: "recompute"})
        loss = model(tokens, labels)
        loss.backward()
        results.append((loss.item(), [p.grad for p in model.parameters()]))
    (ref, ref_grads), (got, got_grads) = results
    assert got == pytest.approx(ref, rel=1e-6)
    assert all(rel(g, r) < 1e-5 for g, r in zip(got_grads, ref_grads) if r.norm() > 0)


@pytest.mark.distributed
def test_vocab_parallel_loss_on_two_gloo_ranks(tmp_path):
    out = tmp_path / "loss.json"
    proc = spawn_ranks("tests/runtime/loss_worker.py", 2, free_port(), ["--out", str(out)], cwd=ROOT,
                       env=cpu_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert len(results) == 10   # 6 full-vocabulary cases, 4 with padding (one shard padding only)
    for name, errs in results.items():
        tol = 1e-5 if "float32" in name else 1e-2
        assert errs["loss_rel_err"] < tol and errs["grad_rel_err"] < tol, (name, errs)


@pytest.mark.parametrize("impl,chunk_logits", [("chunked", 1), ("chunked", 23 * 2 + 5), ("chunked", None),
                                               ("chunked_compile", None), ("fp32", None), ("auto", None)])
def test_padded_vocabulary_columns_stay_out_of_the_softmax(impl, chunk_logits):
    """Logits for a vocabulary padded from 23 to 37 columns: the loss is torch's cross-entropy over the 23
    real ones, their gradient its gradient, and the padding's gradient 0 (runtime/loss.py vocab_end)."""
    logits, labels = logits_and_labels(torch.float32)
    labels = labels.clamp(max=22).masked_fill(labels == IGNORE_INDEX, IGNORE_INDEX)
    if impl == "fp32":
        labels[1, 2] = 0   # the fp32 path at tp > 1 has no ignore_index; keep the cases comparable
    want_loss, want_grad = reference(logits[..., :23], labels)
    x = logits.clone().requires_grad_(True)
    loss = cross_entropy(x, labels, impl=impl, chunk_logits=chunk_logits, vocab_end=23)
    loss.backward()
    assert loss.item() == pytest.approx(want_loss.item(), rel=1e-6)
    assert rel(x.grad[..., :23], want_grad) < 1e-5
    assert torch.all(x.grad[..., 23:] == 0)


def test_the_model_loss_leaves_a_padded_vocabulary_out():
    """A vocabulary of 250 is padded to 256 logits; the model's loss is the cross-entropy of the 250."""
    spec = tiny_model(vocab_size=250)
    assert spec.padded_vocab_size(1) == 256
    model = MistModel(spec, BuildOptions(), {0: "keep", 1: "keep"})
    tokens = torch.randint(0, 250, (2, 16), generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 250, (2, 16), generator=torch.Generator().manual_seed(1))
    hidden = model.embed(tokens)
    for block in model.blocks:
        hidden = block(hidden)
    logits = model.embed(model.norm(hidden), as_head=True)
    assert logits.shape[-1] == 256
    want = F.cross_entropy(logits[..., :250].flatten(0, 1).float(), labels.flatten())
    assert model(tokens, labels).item() == pytest.approx(want.item(), rel=1e-6)
