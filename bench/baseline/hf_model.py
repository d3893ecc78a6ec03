"""mist_ds ModelSpec -> a Hugging Face transformers config, built with random weights.

Llama presets map to LlamaConfig (RMSNorm, SwiGLU, RoPE, GQA through num_key_value_heads, head_dim, biases
only where the preset has them), specs with Qwen3's per-head q/k norms to Qwen3Config; GPT presets to
GPT2Config (LayerNorm, GELU MLP of width ffn_hidden_size, learned positions, biases on every linear, tied
head). Dropout is off, as in the mist_ds runtime. Imports transformers lazily (an optional extra: `pip install .[hf]`).
"""

from __future__ import annotations

from mist_ds.config import ModelSpec


def hf_config(spec: ModelSpec, attn_implementation: str = "sdpa"):
    """The transformers config of `spec` (ValueError for a shape HF's classes cannot express)."""
    if spec.qk_norm:
        config = _qwen3_config(spec)
    elif spec.family == "llama":
        from transformers import LlamaConfig

        if spec.linear_bias != spec.qkv_bias and spec.qkv_bias:
            raise ValueError(f"{spec.name}: q/k/v-only biases have no LlamaConfig flag")
        config = LlamaConfig(
            vocab_size=spec.vocab_size, hidden_size=spec.hidden_size,
            intermediate_size=spec.ffn_hidden_size, num_hidden_layers=spec.num_layers,
            num_attention_heads=spec.num_heads, num_key_value_heads=spec.num_kv_heads, head_dim=spec.head_dim,
            max_position_embeddings=spec.max_seq_len, rope_theta=spec.rope_theta,
            rms_norm_eps=spec.norm_eps, tie_word_embeddings=spec.tie_embeddings,
            attention_bias=spec.linear_bias, mlp_bias=spec.linear_bias, hidden_act="silu",
            attention_dropout=0.0, use_cache=False)
    elif spec.family == "gpt":
        from transformers import GPT2Config

        if spec.num_kv_heads != spec.num_heads or not spec.tie_embeddings or not spec.linear_bias:
            raise ValueError(f"{spec.name}: GPT2Config needs full heads, a tied head and biases")
        config = GPT2Config(
            vocab_size=spec.vocab_size, n_positions=spec.max_seq_len, n_embd=spec.hidden_size,
            n_layer=spec.num_layers, n_head=spec.num_heads, n_inner=spec.ffn_hidden_size,
            activation_function="gelu", layer_norm_epsilon=spec.norm_eps, resid_pdrop=0.0,
            embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True, use_cache=False)
    else:
        raise ValueError(f"{spec.name}: no Hugging Face mapping for family '{spec.family}'")
    config._attn_implementation = attn_implementation
    return config


def _qwen3_config(spec: ModelSpec):
    """Qwen3Config for a spec with per-head q/k norms (ModelSpec.qk_norm): RMSNorm, SwiGLU, RoPE, no biases."""
    from transformers import Qwen3Config

    if spec.family != "llama" or spec.qkv_bias or spec.linear_bias or spec.attention_window is not None:
        raise ValueError(f"{spec.name}: q/k norms map to Qwen3Config only for a bias-free Llama-style block "
                         "without a sliding window")
    return Qwen3Config(
        vocab_size=spec.vocab_size, hidden_size=spec.hidden_size, intermediate_size=spec.ffn_hidden_size,
        num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads, head_dim=spec.head_dim, max_position_embeddings=spec.max_seq_len,
        rope_theta=spec.rope_theta, rms_norm_eps=spec.norm_eps, tie_word_embeddings=spec.tie_embeddings,
        attention_bias=False, use_sliding_window=False, hidden_act="silu", attention_dropout=0.0, use_cache=False)


def preload() -> None:
    """Import the model classes (and torch._dynamo, which transformers' generation utilities pull
    in) now: importing them inside deepspeed.zero.Init, which patches torch.Tensor.__new__, fails
    torch._dynamo's signature check of its Tensor polyfill."""
    import torch._dynamo  # noqa: F401
    from transformers import GPT2LMHeadModel, LlamaForCausalLM  # noqa: F401


def build_model(spec: ModelSpec, dtype, attn_implementation: str = "sdpa"):
    """A randomly initialised causal LM of `spec` in `dtype` (on the current default device)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_config(hf_config(spec, attn_implementation), dtype=dtype,
                                            attn_implementation=attn_implementation)
