"""On a GPU: the bf16 block (SDPA flash kernels, or flash-attn when installed) agrees with an fp32
reference of the same weights, forward and backward."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.runtime.blocks import TransformerBlock

LLAMA = ARCHITECTURE_VARIANTS["llama"]

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("flags", [{}, LLAMA, {**LLAMA, "num_kv_heads": 2}, ARCHITECTURE_VARIANTS["qwen3"]],
                         ids=["gpt", "llama", "gqa", "qwen3"])
def test_bf16_block_matches_fp32(flags):
    spec = tiny_model(**{**flags, "hidden_size": 256, "num_heads": 4, "ffn_hidden_size": 512})
    x = torch.randn(2, 128, spec.hidden_size, device="cuda")
    outs = []
    for dtype in (torch.float32, torch.bfloat16):
        block = TransformerBlock(spec, dtype=dtype, device="cuda", layer_index=1)
        xi = x.detach().to(dtype).requires_grad_(True)  # a fresh leaf for each dtype
        out = block(xi)
        out.float().square().mean().backward()
        outs.append((out.float(), xi.grad.float()))
    (ref, gref), (got, ggot) = outs
    assert ((got - ref).norm() / ref.norm()).item() < 2e-2
    assert ((ggot - gref).norm() / gref.norm()).item() < 5e-2


def _liger_or_skip():
    pytest.importorskip("liger_kernel", reason="liger-kernel not installed")


@pytest.mark.parametrize("impl", ["chunked", "chunked_compile", "liger", "auto"])
def test_loss_matches_fp32_reference_and_holds_no_fp32_logits(impl):
    """bf16 logits (4096 tokens x 32000): loss and gradient equal torch's fp32 cross-entropy, and
    the loss's fwd+bwd peak above the logits is the chunk buffer the cost model prices (eager: one
    fp32 chunk; compiled: its 16-bit output) plus per-token vectors."""
    from mist_ds.config.kernel_picks import loss_impl
    from mist_ds.cost.activations import loss_chunk_bytes
    from mist_ds.runtime.loss import cross_entropy, liger_available

    if impl == "liger":
        _liger_or_skip()
    gen = torch.Generator(device="cuda").manual_seed(0)
    tokens, vocab = (2, 2048), 32000
    logits = torch.randn(*tokens, vocab, device="cuda", generator=gen).mul_(3).bfloat16()
    labels = torch.randint(0, vocab, tokens, device="cuda", generator=gen)
    ref_in = logits.float().requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(ref_in.flatten(0, 1), labels.flatten())
    ref.backward()
    want = ref_in.grad.bfloat16()
    del ref_in
    # warm: a compiled kernel's first call compiles it and may benchmark Triton configurations on scratch
    # buffers (S17-1, a cold process: 96.5 MB above the logits; S15-5, after bench/runtime/loss_peaks.py
    # had filled the on-disk cache: 33.6 MB); the steady peak is what the cost model prices
    cross_entropy(logits.clone().requires_grad_(True), labels, impl=impl).backward()
    x = logits.clone().requires_grad_(True)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    loss = cross_entropy(x, labels, impl=impl)
    loss.backward()
    torch.cuda.synchronize()
    extra = torch.cuda.max_memory_allocated() - base
    # every implementation returns an fp32 loss (Liger's own Function rounded it to bf16: S15-1,
    # 14.9375 against 14.9067; runtime/liger_loss.py keeps its per-token losses in fp32)
    assert loss.dtype == torch.float32
    assert abs(loss.item() - ref.item()) / ref.item() < 1e-3
    assert ((x.grad.float() - want.float()).norm() / want.float().norm()).item() < 2e-2
    n = tokens[0] * tokens[1]
    assert extra <= loss_chunk_bytes(impl if impl != "auto" else loss_impl(True, 1, liger_available()))\
        + 64 * n + (1 << 20)   # the chunk's working buffer the cost model prices + per-token vectors
    assert extra < 1.0 * n * vocab   # an fp32 copy alone would be 4 bytes per logit, + its grad 8


@pytest.mark.parametrize("impl", ["liger", "compile", "auto"])
@pytest.mark.parametrize("flags", [{}, LLAMA, {**LLAMA, "num_kv_heads": 2},
                                   ARCHITECTURE_VARIANTS["neox-partial-rope-parallel"], ARCHITECTURE_VARIANTS["qwen3"],
                                   ARCHITECTURE_VARIANTS["phi3-partial-rope"], ARCHITECTURE_VARIANTS["yarn"]],
                         ids=["gpt", "llama", "gqa", "partial-rope", "qwen3", "phi3-partial-rope", "yarn"])
def test_fused_kernels_match_the_torch_block(impl, flags):
    from mist_ds.runtime.kernels import Kernels

    if impl == "liger":
        _liger_or_skip()
    spec = tiny_model(**{**flags, "hidden_size": 256, "num_heads": 4, "ffn_hidden_size": 512})
    x = torch.randn(2, 128, spec.hidden_size, device="cuda", dtype=torch.bfloat16)
    outs = []
    for kernels in (Kernels(norm="torch", activation="torch", rope="torch"),
                    Kernels(norm=impl, activation=impl, rope=impl)):
        block = TransformerBlock(spec, dtype=torch.bfloat16, device="cuda", layer_index=1,
                                 kernels=kernels)
        xi = x.clone().requires_grad_(True)
        out = block(xi)
        out.float().square().mean().backward()
        outs.append((out.float(), xi.grad.float()))
    (ref, gref), (got, ggot) = outs
    assert ((got - ref).norm() / ref.norm()).item() < 2e-2
    assert ((ggot - gref).norm() / gref.norm()).item() < 5e-2


def _saved_bytes(block, x) -> int:
    params = {p.untyped_storage().data_ptr() for p in block.parameters()}
    storages = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = block(x)
    out.float().sum().backward()
    return sum(storages.values())


@pytest.mark.parametrize("impl", ["liger", "compile"])
def test_fused_swiglu_saves_what_the_cost_model_says(impl):
    """A fused SwiGLU recomputes silu(gate): one f-wide tensor per token less than eager torch
    (mist_ds/cost/activations.py _mlp_bytes_per_token)."""
    from mist_ds.cost.activations import layer_saved_bytes
    from mist_ds.cost.symbols import b, tp
    from mist_ds.runtime.kernels import Kernels

    if impl == "liger":
        _liger_or_skip()
    spec = tiny_model(**{**LLAMA, "hidden_size": 256, "num_heads": 4, "ffn_hidden_size": 768})
    x = torch.randn(2, 128, spec.hidden_size, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    measured = {}
    for act in ("torch", impl):
        block = TransformerBlock(spec, dtype=torch.bfloat16, device="cuda",
                                 kernels=Kernels(activation=act))
        measured[act] = _saved_bytes(block, x)
    predicted = {act: float(layer_saved_bytes(spec, 128, activation_kernel=act).subs({b: 2, tp: 1}))
                 for act in measured}
    assert measured["torch"] - measured[impl] == pytest.approx(
        predicted["torch"] - predicted[impl], rel=0.02)


@pytest.mark.parametrize("kernel", ["sdpa", "sdpa_flash", "sdpa_efficient", "sdpa_cudnn", "math"])
def test_attention_kernels_agree_on_gpu(kernel):
    from mist_ds.runtime.kernels import causal_attention

    q, k, v = (torch.randn(2, 8, 256, 128, device="cuda", dtype=torch.bfloat16, requires_grad=True)
               for _ in range(3))
    ref = causal_attention(q.float(), k.float(), v.float(), "math")
    got = causal_attention(q, k, v, kernel)
    assert ((got.float() - ref).norm() / ref.norm()).item() < 2e-2
    got.float().sum().backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()


def _backward_copy_kernels(rope_impl: str) -> list[str]:
    """Names of the copy / cat kernels the backward of split_qkv + cuDNN SDPA launches (llama-7b
    heads at seq 1024)."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.profiler import ProfilerActivity, profile

    from mist_ds.runtime import kernels as K
    from mist_ds.runtime.blocks import _own_storage

    heads, d, seq = 32, 128, 1024
    fused = torch.randn(1, seq, 3 * heads * d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    cos, sin = K.rope_cos_sin(seq, d, 10000.0, "cuda", torch.bfloat16)
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        for step in range(2):    # the first one compiles
            q, k, v = _own_storage(list(K.split_qkv(fused, (heads, heads, heads), d, cos, sin, rope_impl)), fused)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            grad = torch.randn_like(out)
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                out.backward(grad)
                torch.cuda.synchronize()
            fused.grad = None
    return [e.name for e in prof.events() if e.device_type.name == "CUDA"
            and ("direct_copy" in e.name or "CatArray" in e.name)]


def test_compiled_rope_backward_writes_the_fused_gradient_without_copies():
    """The compiled RoPE on the fused projection (kernels.torch_qkv_rope) takes SDPA's gradients as
    they come and writes the fused gradient itself: no layout copies and no cat in the backward
    (cost/layer_time.py _rope_on_fused), where the eager path's split backward cats (a check that
    the profiler sees these kernels at all)."""
    assert _backward_copy_kernels("compile") == []
    assert any("CatArray" in name for name in _backward_copy_kernels("torch"))


@pytest.mark.parametrize("rope", ["torch", "compile"])
@pytest.mark.parametrize("variant", ["gpt", "llama", "llama-gqa", "neox-partial-rope-parallel", "decoupled-head",
                                     "qwen3", "phi3-partial-rope", "yarn"])
def test_block_saves_what_the_cost_model_says_per_rope_kernel(variant, rope):
    """Every storage one bf16 block's forward saves on the GPU (parameters excluded) is what
    cost/activations.py layer_saved_bytes prices for that RoPE implementation: eager partial RoPE leaves q
    in (b, heads, s, d) layout and the o-projection saves a re-layout copy; the compiled one does not
    (activations.ROPE_CAT_LAYOUT). Qwen3's q/k norms (both RoPE paths) keep the whole fused q|k|v output
    through their saved input views and save an fp32 rstd per head (activations._qk_norm_saves). Scalars
    some kernels save (a few bytes) are within the tolerance."""
    from mist_ds.cost.activations import layer_saved_bytes
    from mist_ds.cost.symbols import b, tp
    from mist_ds.runtime.kernels import Kernels

    spec = tiny_model(**{**ARCHITECTURE_VARIANTS[variant], "hidden_size": 512, "num_heads": 4,
                         "ffn_hidden_size": 1024, "max_seq_len": 256})
    if spec.position_embedding != "rope" and rope != "torch":
        pytest.skip("no RoPE to compile")
    kernels = Kernels(norm="torch", activation="torch", rope=rope, attention="sdpa")
    block = TransformerBlock(spec, dtype=torch.bfloat16, device="cuda", kernels=kernels)
    x = torch.randn(2, 256, spec.hidden_size, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    predicted = float(layer_saved_bytes(spec, 256, rope_kernel=rope).subs({b: 2, tp: 1}))
    assert _saved_bytes(block, x) == pytest.approx(predicted, rel=0.01)


@pytest.mark.parametrize("impl", ["chunked", "chunked_compile", "liger"])
def test_padded_vocabulary_columns_stay_out_of_the_loss_on_gpu(impl):
    """bf16 logits of a vocabulary padded from 50257 to 50304 (GPT-2's): the loss is torch's fp32
    cross-entropy of the 50257 real columns, and the padding's gradient is 0 (runtime/loss.py vocab_end;
    Liger's kernel walks the first `columns` logits of each row)."""
    from mist_ds.runtime.loss import cross_entropy

    if impl == "liger":
        _liger_or_skip()
    gen = torch.Generator(device="cuda").manual_seed(0)
    real, width = 50257, 50304
    logits = torch.randn(1024, width, device="cuda", generator=gen).mul_(3).bfloat16()
    labels = torch.randint(0, real, (1024,), device="cuda", generator=gen)
    ref = torch.nn.functional.cross_entropy(logits[:, :real].float(), labels)
    x = logits.clone().requires_grad_(True)
    loss = cross_entropy(x, labels, impl=impl, vocab_end=real)
    loss.backward()
    assert abs(loss.item() - ref.item()) / ref.item() < 1e-3
    assert torch.all(x.grad[:, real:] == 0)
    assert x.grad[:, :real].float().sum(dim=1).abs().max().item() < 1e-3   # softmax - onehot sums to 0 a row
