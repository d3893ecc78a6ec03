"""Read a Hugging Face `config.json` into a ModelSpec, offline (no hub access, no transformers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from mist_ds.config.model_spec import ModelSpec

_LLAMA_LIKE = ("llama", "mistral", "qwen2")


def _llama_like(cfg: dict[str, Any], name: str) -> ModelSpec:
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or hidden // heads
    if head_dim * heads != hidden:
        raise ValueError(f"head_dim {head_dim} x {heads} heads != hidden_size {hidden}: not supported")
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act '{cfg['hidden_act']}' is not supported for {cfg['model_type']}")
    return ModelSpec(
        name=name, family="llama", num_layers=cfg["num_hidden_layers"], hidden_size=hidden,
        num_heads=heads, num_kv_heads=cfg.get("num_key_value_heads") or heads,
        ffn_hidden_size=cfg["intermediate_size"], vocab_size=cfg["vocab_size"],
        max_seq_len=cfg.get("max_position_embeddings", 4096),
        tie_embeddings=bool(cfg.get("tie_word_embeddings", False)), norm="rmsnorm",
        activation="swiglu", position_embedding="rope",
        rope_theta=float(cfg.get("rope_theta", 10000.0)), linear_bias=False,
        qkv_bias=cfg["model_type"] == "qwen2", norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
    )


def _gpt2(cfg: dict[str, Any], name: str) -> ModelSpec:
    hidden = cfg["n_embd"]
    return ModelSpec(
        name=name, family="gpt", num_layers=cfg["n_layer"], hidden_size=hidden,
        num_heads=cfg["n_head"], num_kv_heads=cfg["n_head"],
        ffn_hidden_size=cfg.get("n_inner") or 4 * hidden, vocab_size=cfg["vocab_size"],
        max_seq_len=cfg.get("n_positions", 1024),
        tie_embeddings=bool(cfg.get("tie_word_embeddings", True)), norm="layernorm",
        activation="gelu", position_embedding="learned", linear_bias=True,
        norm_eps=float(cfg.get("layer_norm_epsilon", 1e-5)),
    )


def _gpt_neox(cfg: dict[str, Any], name: str) -> ModelSpec:
    return ModelSpec(
        name=name, family="gpt", num_layers=cfg["num_hidden_layers"],
        hidden_size=cfg["hidden_size"], num_heads=cfg["num_attention_heads"],
        num_kv_heads=cfg["num_attention_heads"], ffn_hidden_size=cfg["intermediate_size"],
        vocab_size=cfg["vocab_size"], max_seq_len=cfg.get("max_position_embeddings", 2048),
        tie_embeddings=bool(cfg.get("tie_word_embeddings", False)), norm="layernorm",
        activation="gelu", position_embedding="rope",
        rotary_fraction=float(cfg.get("rotary_pct", 0.25)),
        rope_theta=float(cfg.get("rotary_emb_base", 10000.0)), linear_bias=True,
        parallel_residual=bool(cfg.get("use_parallel_residual", True)),
        norm_eps=float(cfg.get("layer_norm_eps", 1e-5)),
    )


_READERS: dict[str, Callable[[dict[str, Any], str], ModelSpec]] = {
    **{kind: _llama_like for kind in _LLAMA_LIKE},
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
}


def model_spec_from_hf_config(path: str | Path) -> ModelSpec:
    """Build a ModelSpec from a Hugging Face config.json (a file, or a folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    try:
        cfg = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"model config {path} does not exist") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read model config {path}: {err}") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} is not a JSON object")
    kind = cfg.get("model_type")
    if kind not in _READERS:
        raise ValueError(
            f"{path}: model_type '{kind}' is not supported (supported: {', '.join(sorted(_READERS))})"
        )
    name = cfg.get("_name_or_path") or path.parent.name or kind
    try:
        return _READERS[kind](cfg, str(name))
    except KeyError as err:
        raise ValueError(f"{path}: missing field {err} for model_type '{kind}'") from None
