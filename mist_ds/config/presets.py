"""Named model presets and their lookup (with a did-you-mean for typos)."""

from __future__ import annotations

import difflib
from typing import Any

from mist_ds.config.model_spec import ModelSpec

# GPT-3 family shapes (Brown et al. 2020, table 2.1; 22B from Korthikanti et al. 2022, table 3),
# GPT-2 vocabulary padded to a multiple of 128 (Megatron-LM: 50257 -> 50304), sequence 2048.
_GPT_SHAPES = {
    "gpt-125m": (12, 768, 12),
    "gpt-350m": (24, 1024, 16),
    "gpt-760m": (24, 1536, 16),
    "gpt-1.3b": (24, 2048, 16),
    "gpt-2.7b": (32, 2560, 32),
    "gpt-6.7b": (32, 4096, 32),
    "gpt-13b": (40, 5120, 40),
    "gpt-22b": (48, 6144, 48),
}

# Llama shapes: (layers, hidden, heads, kv heads, ffn, vocab, max seq, rope theta).
# 7b/13b/70b: Llama 2 (Touvron et al. 2023); 30b: LLaMA-1 33B; 1.3b/2.7b: Mist's scaled-down
# Llama shapes with FFN = 256-multiple of 8h/3 (Llama's rule); llama3-8b, llama3.2-1b and llama3.2-3b: Meta's
# config.json (Meta-Llama-3-8B, Llama-3.2-1B, Llama-3.2-3B; the 3.2 models tie the head to the embedding, _TIED).
# The presets leave out Llama 3.2's RoPE frequency scaling (rope_scaling rope_type "llama3"): it moves no FLOP or
# byte, so plans are the same; its config.json (tests/data/hf_configs/llama-3.2-1b) carries it (ModelSpec.rope_scaling).
_LLAMA_SHAPES = {
    "llama-1.3b": (24, 2048, 16, 16, 5632, 32000, 4096, 10000.0),
    "llama-2.7b": (32, 2560, 32, 32, 6912, 32000, 4096, 10000.0),
    "llama-7b": (32, 4096, 32, 32, 11008, 32000, 4096, 10000.0),
    "llama-13b": (40, 5120, 40, 40, 13824, 32000, 4096, 10000.0),
    "llama-30b": (60, 6656, 52, 52, 17920, 32000, 4096, 10000.0),
    "llama-70b": (80, 8192, 64, 8, 28672, 32000, 4096, 10000.0),
    "llama3-8b": (32, 4096, 32, 8, 14336, 128256, 8192, 500000.0),
    "llama3.2-1b": (16, 2048, 32, 8, 8192, 128256, 131072, 500000.0),
    "llama3.2-3b": (28, 3072, 24, 8, 8192, 128256, 131072, 500000.0),
}
_TIED = frozenset({"llama3.2-1b", "llama3.2-3b"})
"""Llama presets whose config.json sets tie_word_embeddings."""


def _gpt(name: str, layers: int, hidden: int, heads: int) -> ModelSpec:
    return ModelSpec(
        name=name, family="gpt", num_layers=layers, hidden_size=hidden, num_heads=heads,
        num_kv_heads=heads, ffn_hidden_size=4 * hidden, vocab_size=50304, max_seq_len=2048,
        tie_embeddings=True, norm="layernorm", activation="gelu", position_embedding="learned",
        linear_bias=True,
    )


def _llama(name: str, shape: tuple[Any, ...]) -> ModelSpec:
    layers, hidden, heads, kv_heads, ffn, vocab, max_seq, theta = shape
    return ModelSpec(
        name=name, family="llama", num_layers=layers, hidden_size=hidden, num_heads=heads,
        num_kv_heads=kv_heads, ffn_hidden_size=ffn, vocab_size=vocab, max_seq_len=max_seq,
        tie_embeddings=name in _TIED, norm="rmsnorm", activation="swiglu", position_embedding="rope",
        rope_theta=theta, linear_bias=False,
    )


PRESETS: dict[str, ModelSpec] = {
    **{name: _gpt(name, *shape) for name, shape in _GPT_SHAPES.items()},
    **{name: _llama(name, shape) for name, shape in _LLAMA_SHAPES.items()},
}


class UnknownPresetError(ValueError):
    """A model name that is neither a preset nor a config file."""


def get_preset(name: str) -> ModelSpec:
    """Return the preset called `name`, or raise with the closest names as a suggestion."""
    if name in PRESETS:
        return PRESETS[name]
    close = difflib.get_close_matches(name, PRESETS, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(PRESETS)}"
    raise UnknownPresetError(f"unknown model preset '{name}'{hint}")
