"""Saved-activation bytes of the cost model == what autograd really saves for the runtime's block.

Measured with torch.autograd.graph.saved_tensors_hooks on mist_ds.runtime.blocks.TransformerBlock
(CPU, bf16), counting each storage once and skipping parameters. TP > 1 is measured on one
rank's shard: the runtime's TP helpers are patched to a fake group of size tp whose all-reduce
is the identity (the shapes and saved tensors of rank 0 are what a real group gives).
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from mist_ds.config import ModelSpec
from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.cost.activations import checkpoint_saved_bytes, layer_saved_bytes
from mist_ds.cost.symbols import b as B_SYM
from mist_ds.cost.symbols import tp as TP_SYM
from mist_ds.runtime import blocks as runtime_blocks
from mist_ds.runtime import tp as runtime_tp


def spec(**overrides) -> ModelSpec:
    return tiny_model(**{"name": "probe", "hidden_size": 64, "ffn_hidden_size": 256,
                         "max_seq_len": 256, **overrides})


VARIANTS = {**ARCHITECTURE_VARIANTS,
            "wide-ffn": {"ffn_hidden_size": 384, "hidden_size": 96, "num_heads": 8, "num_kv_heads": 8},
            # q/k norms without RoPE (GPT): the norms alone make q and k new tensors, so v is copied out
            "gpt-qk-norm": {"qk_norm": True}}


@pytest.fixture
def fake_tp(monkeypatch):
    """Make `group=<int tp>` behave like rank 0 of a TP group of that size."""
    monkeypatch.setattr(runtime_tp, "tp_size", lambda group: 1 if group is None else group)
    monkeypatch.setattr(runtime_tp, "tp_rank", lambda group: 0)
    monkeypatch.setattr(runtime_tp, "_all_reduce", lambda tensor, group, op=None: tensor)
    monkeypatch.setattr(runtime_blocks, "tp_size", runtime_tp.tp_size)


def measured_saved_bytes(model: ModelSpec, batch: int, seq: int, tp: int = 1,
                         recompute: bool = False) -> int:
    group = None if tp == 1 else tp
    block = runtime_blocks.TransformerBlock(model, group, torch.bfloat16, recompute=recompute)
    params = {p.untyped_storage().data_ptr() for p in block.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    x = torch.randn(batch, seq, model.hidden_size, dtype=torch.bfloat16, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = block(x)
    out.float().sum().backward()   # the saved tensors are really what backward needs
    return sum(storages.values())


def predicted(model, batch, seq, tp=1, attention="sdpa", recompute=False) -> float:
    expr = (checkpoint_saved_bytes(model, seq) if recompute
            else layer_saved_bytes(model, seq, attention, platform="cpu"))
    return float(sp_subs(expr, batch, tp))


def sp_subs(expr, batch, tp):
    return expr.subs({B_SYM: batch, TP_SYM: tp}) if hasattr(expr, "subs") else expr


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("batch,seq", [(1, 64), (3, 40)])
def test_saved_bytes_match_autograd(name, batch, seq):
    model = spec(**VARIANTS[name])
    measured = measured_saved_bytes(model, batch, seq)
    assert measured == pytest.approx(predicted(model, batch, seq), rel=0.02)


@pytest.mark.parametrize("name", ["gpt", "llama", "llama-gqa", "qwen3"])
def test_saved_bytes_math_attention(name):
    model = spec(**VARIANTS[name])
    with sdpa_kernel(SDPBackend.MATH):
        measured = measured_saved_bytes(model, 2, 48)
    assert measured == pytest.approx(predicted(model, 2, 48, attention="math"), rel=0.02)


@pytest.mark.parametrize("name", ["gpt", "llama", "llama-gqa", "decoupled-head", "qwen3"])
@pytest.mark.parametrize("tp", [2, 4])
def test_saved_bytes_tensor_parallel(fake_tp, name, tp):
    model = spec(**{**VARIANTS[name], "num_heads": 8,
                     "num_kv_heads": 4 if name in ("llama-gqa", "qwen3") else 8})
    measured = measured_saved_bytes(model, 2, 32, tp=tp)
    assert measured == pytest.approx(predicted(model, 2, 32, tp=tp), rel=0.02)
    # the TP-sharded parts really shrink: tp ranks together save more than one unsharded block
    assert measured < measured_saved_bytes(model, 2, 32, tp=1)


@pytest.mark.parametrize("name", ["gpt", "llama"])
def test_recompute_saves_only_the_block_input(name):
    model = spec(**VARIANTS[name])
    measured = measured_saved_bytes(model, 2, 32, recompute=True)
    assert measured == pytest.approx(predicted(model, 2, 32, recompute=True), rel=0.02)
    assert measured < measured_saved_bytes(model, 2, 32) / 5


def test_math_attention_upcast_follows_the_reduction_flag_not_the_device():
    """The fp32 upcast inside math SDPA is governed by allow_fp16_bf16_reduction_math_sdp (off by
    default), in the device-independent math kernel: turning the flag on removes it on the CPU
    too, so the model charges the upcast on CUDA as well (activations.py _attention_bytes_per_token)."""
    model = spec(**VARIANTS["gpt"])
    batch, seq = 2, 48
    with sdpa_kernel(SDPBackend.MATH):
        upcast = measured_saved_bytes(model, batch, seq)
    before = torch.backends.cuda.fp16_bf16_reduction_math_sdp_allowed()
    torch.backends.cuda.allow_fp16_bf16_reduction_math_sdp(True)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            reduced = measured_saved_bytes(model, batch, seq)
    finally:
        torch.backends.cuda.allow_fp16_bf16_reduction_math_sdp(before)
    h, heads = model.hidden_size, model.num_heads
    # q, k, v and the softmax matrix drop from 4 to 2 bytes per element
    assert upcast - reduced == 2 * batch * seq * (3 * h + heads * seq)
    cuda = layer_saved_bytes(model, seq, "math", platform="cuda")
    cpu = layer_saved_bytes(model, seq, "math", platform="cpu")
    sdpa_cuda = layer_saved_bytes(model, seq, "sdpa", platform="cuda")
    sdpa_cpu = layer_saved_bytes(model, seq, "sdpa", platform="cpu")
    assert sp_subs(cuda - sdpa_cuda, batch, 1) == sp_subs(cpu - sdpa_cpu, batch, 1)
