"""On a GPU: the bf16 block (SDPA flash kernels, or flash-attn when installed) agrees with an fp32
reference of the same weights, forward and backward."""

from __future__ import annotations

import pytest
import torch

from mist_ds.config.presets import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.runtime.blocks import TransformerBlock

LLAMA = ARCHITECTURE_VARIANTS["llama"]

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("flags", [{}, LLAMA, {**LLAMA, "num_kv_heads": 2}], ids=["gpt", "llama", "gqa"])
def test_bf16_block_matches_fp32(flags):
    spec = tiny_model(**{**flags, "hidden_size": 256, "num_heads": 4, "ffn_hidden_size": 512})
    x = torch.randn(2, 128, spec.hidden_size, device="cuda")
    outs = []
    for dtype in (torch.float32, torch.bfloat16):
        block = TransformerBlock(spec, dtype=dtype, device="cuda", layer_index=1)
        xi = x.to(dtype).requires_grad_(True)
        out = block(xi)
        out.float().square().mean().backward()
        outs.append((out.float(), xi.grad.float()))
    (ref, gref), (got, ggot) = outs
    assert ((got - ref).norm() / ref.norm()).item() < 2e-2
    assert ((ggot - gref).norm() / gref.norm()).item() < 5e-2
