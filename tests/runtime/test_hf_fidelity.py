"""A model given as its Hugging Face config.json trains the model transformers builds from that config:
with transformers' weights copied in, mist_ds's runtime model (runtime/model.py, the eager kernels the CPU
runs) gives transformers' logits. A tiny config of each family the import accepts, on the CPU in fp32:
Llama (RoPE, SwiGLU, RMSNorm, untied head), Mistral (grouped-query attention at a sequence inside its
sliding window), Qwen2 (q/k/v biases, head tied to the embedding), Mistral and Qwen2 with a head_dim that is
not hidden_size / num_attention_heads (wider and narrower q than the width), Qwen3 (per-head q/k RMSNorms
before RoPE, no biases, head_dim 24 of width 64), RoPE scaling ('llama3', 'linear' and 'dynamic' on Llama; 'yarn' on
Llama, Qwen2 and Qwen3; 'longrope' on Phi-3 with its short and with its long factors; yarn's and longrope's
attention factor on cos / sin), Phi-3 (fused qkv_proj and gate_up_proj copied as they are; GQA with a tied
head and a sliding window as long as the sequence; partial RoPE), GPT-2 (learned positions, tanh GELU, tied
head) and GPT-NeoX (partial RoPE, parallel residual, exact GELU, per-head interleaved q|k|v)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from mist_ds.config import model_spec_from_hf_config
from mist_ds.runtime.model import BuildOptions, MistModel, block_roles, tied_head_forward

transformers = pytest.importorskip("transformers")

TINY = {"hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
        "vocab_size": 256, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "hidden_act": "silu"}
# Phi3Config's token ids default to 32000 (bos 1): inside the tiny vocabulary here
PHI3 = dict(TINY, bos_token_id=1, eos_token_id=2, pad_token_id=None)
SEQ = 32
# longrope's divisors of the 8 inverse frequencies of a 16-wide head, short and long (Phi-3.5-mini's have 48)
SHORT = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0]
LONG = [1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 32.0, 48.0]
FAMILIES = {
    "llama": dict(TINY, model_type="llama", num_key_value_heads=4, tie_word_embeddings=False),
    "mistral": dict(TINY, model_type="mistral", num_key_value_heads=2, tie_word_embeddings=False,
                    sliding_window=32),
    "qwen2": dict(TINY, model_type="qwen2", num_key_value_heads=2, tie_word_embeddings=True,
                  use_sliding_window=False, rope_theta=1e6),
    # a head size that is not hidden / heads (Mistral-Nemo's, Qwen3's): q 4 x 24 = 96 wide from 64, o 96 -> 64
    "mistral-head-dim": dict(TINY, model_type="mistral", num_key_value_heads=2, tie_word_embeddings=False,
                             sliding_window=None, head_dim=24),
    "qwen2-head-dim": dict(TINY, model_type="qwen2", num_key_value_heads=2, tie_word_embeddings=True,
                           use_sliding_window=False, head_dim=8),
    # Qwen3: no q/k/v biases, per-head RMSNorms of q and k before RoPE, head_dim 24 of width 64, tied head
    "qwen3": dict(TINY, model_type="qwen3", num_key_value_heads=2, tie_word_embeddings=True, head_dim=24,
                  use_sliding_window=False, rope_theta=1e6, attention_bias=False),
    "qwen3-untied-mha": dict(TINY, model_type="qwen3", num_key_value_heads=4, tie_word_embeddings=False,
                             head_dim=16, use_sliding_window=False),
    # RoPE scaling (Llama 3.1 / 3.2's 'llama3', and 'linear'): a pretraining context of 16 tokens, so that at seq 32
    # the scaled, blended and kept wavelengths of a 16-wide head all occur; the llama3 case as transformers 5
    # writes it (rope_parameters, rope_theta inside), the linear one as earlier versions did (rope_scaling)
    "llama-rope-llama3": dict({k: v for k, v in TINY.items() if k != "rope_theta"}, model_type="llama",
                              num_key_value_heads=2, tie_word_embeddings=True,
                              rope_parameters={"rope_type": "llama3", "rope_theta": 500.0, "factor": 8.0,
                                               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                               "original_max_position_embeddings": 16}),
    "llama-rope-linear": dict(TINY, model_type="llama", num_key_value_heads=4, tie_word_embeddings=False,
                              rope_scaling={"rope_type": "linear", "factor": 4.0}),
    # dynamic NTK: the plain RoPE at any sequence up to max_position_embeddings (64 here), the only ones mist_ds
    # trains (hf_import._rope_scaling reads it as none)
    "llama-rope-dynamic": dict(TINY, model_type="llama", num_key_value_heads=2, tie_word_embeddings=False,
                               rope_scaling={"rope_type": "dynamic", "factor": 4.0}),
    # YaRN: factor 4 over a pretraining context of 16 tokens; beta_fast 0.5 / beta_slow 0.05 put the correction
    # range of a 16-wide head (theta 1e4) at dims 1.41 .. 3.41, floored / ceiled to 1 .. 4: pair 0 kept, pairs 2 and
    # 3 blended, 4 .. 7 divided by the factor; cos / sin times 0.1 ln 4 + 1. As transformers 5 writes it
    # (rope_parameters), then as earlier versions did with the range left fractional (truncate false) and
    # DeepSeek's mscale / mscale_all_dim ratio as the attention factor, then Qwen3's documented block (defaults)
    "llama-rope-yarn": dict({k: v for k, v in TINY.items() if k != "rope_theta"}, model_type="llama",
                            num_key_value_heads=2, tie_word_embeddings=False,
                            rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                             "original_max_position_embeddings": 16, "beta_fast": 0.5,
                                             "beta_slow": 0.05}),
    "qwen2-rope-yarn-untruncated": dict(TINY, model_type="qwen2", num_key_value_heads=2, tie_word_embeddings=True,
                                        use_sliding_window=False,
                                        rope_scaling={"type": "yarn", "factor": 4.0, "beta_fast": 0.5,
                                                      "beta_slow": 0.05, "original_max_position_embeddings": 16,
                                                      "truncate": False, "mscale": 1.0, "mscale_all_dim": 0.5}),
    "qwen3-rope-yarn": dict(TINY, model_type="qwen3", num_key_value_heads=2, tie_word_embeddings=True, head_dim=16,
                            use_sliding_window=False, rope_theta=1e6,
                            rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}),
    # Phi-3 / Phi-4 (model_type phi3): q|k|v and gate|up fused as the runtime fuses them, no biases
    "phi3": dict(PHI3, model_type="phi3", num_key_value_heads=4, tie_word_embeddings=False, sliding_window=None),
    # GQA, a tied head and a sliding window of exactly the sequence's 32 tokens (Phi-3-4k's 2047 at 2047): the
    # longest sequence that is still full causal attention (test_phi3_window_is_full_causal_up_to_its_length)
    "phi3-gqa-tied-window": dict(PHI3, model_type="phi3", num_key_value_heads=2, tie_word_embeddings=True,
                                 sliding_window=32),
    # partial RoPE (Phi-4-mini's factor): the first int(16 x 0.75) = 12 dims of each head rotated, 4 passed;
    # once at the top level as config.json writes it, once inside transformers 5's rope_parameters
    "phi3-partial-rope": dict(PHI3, model_type="phi3", num_key_value_heads=2, tie_word_embeddings=False,
                              sliding_window=None, partial_rotary_factor=0.75),
    "phi3-partial-rope-head-dim": dict({k: v for k, v in PHI3.items() if k != "rope_theta"}, model_type="phi3",
                                       num_key_value_heads=2, tie_word_embeddings=True, head_dim=24,
                                       rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                                        "partial_rotary_factor": 0.5}),
    # LongRoPE (Phi-3-128k, Phi-3.5, Phi-4-mini): per-pair divisors, the long ones for a sequence longer than
    # the top-level original_max_position_embeddings (transformers' seq_len > original), so at SEQ = 32 an original
    # of 31 takes long_factor and one of 32 short_factor; cos / sin times sqrt(1 + ln(64 / original) / ln(original)).
    # Then the old name "su" with partial RoPE (6 pairs of 12 rotated dims) in transformers 5's rope_parameters
    "phi3-longrope-long": dict(PHI3, model_type="phi3", num_key_value_heads=2, tie_word_embeddings=False,
                               sliding_window=None, original_max_position_embeddings=SEQ - 1,
                               rope_scaling={"type": "longrope", "short_factor": SHORT, "long_factor": LONG}),
    "phi3-longrope-short": dict(PHI3, model_type="phi3", num_key_value_heads=2, tie_word_embeddings=False,
                                sliding_window=None, original_max_position_embeddings=SEQ,
                                rope_scaling={"type": "longrope", "short_factor": SHORT, "long_factor": LONG}),
    "phi3-su-partial-rope": dict({k: v for k, v in PHI3.items() if k != "rope_theta"}, model_type="phi3",
                                 num_key_value_heads=4, tie_word_embeddings=True, sliding_window=None,
                                 original_max_position_embeddings=16,
                                 rope_parameters={"rope_type": "su", "rope_theta": 500.0, "partial_rotary_factor": 0.75,
                                                  "short_factor": SHORT[:6], "long_factor": LONG[:6]}),
}
# the scaled RoPE cases: transformers' inverse frequencies and attention factor against the runtime's (below)
SCALED = ("llama-rope-llama3", "llama-rope-linear", "llama-rope-dynamic", "llama-rope-yarn", "qwen2-rope-yarn-untruncated",
          "qwen3-rope-yarn", "phi3-longrope-long", "phi3-longrope-short", "phi3-su-partial-rope")
GPT2 = {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_inner": 160, "vocab_size": 256,
        "n_positions": 64, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
        "tie_word_embeddings": True, "bos_token_id": 0, "eos_token_id": 0}
NEOX = {"model_type": "gpt_neox", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 160, "vocab_size": 256, "max_position_embeddings": 64, "rotary_pct": 0.25,
        "rotary_emb_base": 10000, "use_parallel_residual": True, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
        "tie_word_embeddings": False, "attention_bias": True}
# fp32 on the CPU: the same function agrees to ~2e-7 here; the tanh GELU in place of the exact one is off by
# 4e-6 (GPT-2) to 1.2e-5 (GPT-NeoX)
ATOL = 1e-6


def _hf_model(config: dict):
    cfg = transformers.AutoConfig.for_model(**config)
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(cfg).float().eval()
    with torch.no_grad():  # biases are zero and Qwen3's q/k norm weights one at init: make them count
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.5)
            elif name.endswith(("q_norm.weight", "k_norm.weight")):
                p.normal_(1, 0.5)
    return model


def _vocab_rows(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    """An embedding or head matrix into the first rows of the runtime's, padded to a multiple of 128
    (ModelSpec.padded_vocab_size); the padding rows keep their values (the loss leaves them out)."""
    ours[: theirs.shape[0]].copy_(theirs)


def _copy_weights(ours: MistModel, hf) -> None:
    """transformers' parameters into the runtime's layout: q|k|v and gate|up fused (runtime/tp.py)."""
    m = hf.model
    with torch.no_grad():
        _vocab_rows(ours.embed.tok.weight, m.embed_tokens.weight)
        for block, layer in zip(ours.blocks, m.layers):
            a = layer.self_attn
            block.norm1.weight.copy_(layer.input_layernorm.weight)
            block.norm2.weight.copy_(layer.post_attention_layernorm.weight)
            if hasattr(a, "qkv_proj"):   # Phi3: rows q | k | v and gate | up already, the runtime's layout
                block.attn.qkv.weight.copy_(a.qkv_proj.weight)
                block.mlp.gate_up.weight.copy_(layer.mlp.gate_up_proj.weight)
            else:
                block.attn.qkv.weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
                block.mlp.gate_up.weight.copy_(torch.cat([layer.mlp.gate_proj.weight, layer.mlp.up_proj.weight]))
            if block.attn.qkv.bias is not None:
                block.attn.qkv.bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
            block.attn.o.weight.copy_(a.o_proj.weight)
            if block.attn.qk_norm is not None:
                block.attn.qk_norm.copy_(torch.stack([a.q_norm.weight, a.k_norm.weight]))
            block.mlp.down.weight.copy_(layer.mlp.down_proj.weight)
        ours.norm.weight.copy_(m.norm.weight)
        if ours.head is not None:
            _vocab_rows(ours.head.proj.weight, hf.lm_head.weight)


def _copy_block_common(block, norm1, norm2, out, up, down) -> None:
    """LayerNorms (weight + bias) and the biased o / up / down linears of a GPT-style block."""
    for ours, theirs in ((block.norm1, norm1), (block.norm2, norm2), (block.attn.o, out), (block.mlp.up, up),
                         (block.mlp.down, down)):
        ours.weight.copy_(theirs.weight.T if type(theirs).__name__ == "Conv1D" else theirs.weight)
        ours.bias.copy_(theirs.bias)


def _copy_gpt2(ours: MistModel, hf) -> None:
    """GPT-2's Conv1D weights are (in, out); c_attn is q|k|v already."""
    m = hf.transformer
    with torch.no_grad():
        _vocab_rows(ours.embed.tok.weight, m.wte.weight)
        ours.embed.pos.copy_(m.wpe.weight)
        for block, layer in zip(ours.blocks, m.h):
            block.attn.qkv.weight.copy_(layer.attn.c_attn.weight.T)
            block.attn.qkv.bias.copy_(layer.attn.c_attn.bias)
            _copy_block_common(block, layer.ln_1, layer.ln_2, layer.attn.c_proj, layer.mlp.c_fc, layer.mlp.c_proj)
        ours.norm.weight.copy_(m.ln_f.weight)
        ours.norm.bias.copy_(m.ln_f.bias)


def _copy_neox(ours: MistModel, hf, heads: int) -> None:
    """GPT-NeoX's query_key_value holds q, k, v per head, interleaved; the runtime's qkv all q, then k, then v."""
    m = hf.gpt_neox
    per_head = lambda t: t.reshape(heads, 3, -1, *t.shape[1:]).transpose(0, 1).reshape(t.shape)  # noqa: E731
    with torch.no_grad():
        _vocab_rows(ours.embed.tok.weight, m.embed_in.weight)
        for block, layer in zip(ours.blocks, m.layers):
            a = layer.attention
            block.attn.qkv.weight.copy_(per_head(a.query_key_value.weight))
            block.attn.qkv.bias.copy_(per_head(a.query_key_value.bias))
            _copy_block_common(block, layer.input_layernorm, layer.post_attention_layernorm, a.dense,
                               layer.mlp.dense_h_to_4h, layer.mlp.dense_4h_to_h)
        ours.norm.weight.copy_(m.final_layer_norm.weight)
        ours.norm.bias.copy_(m.final_layer_norm.bias)
        _vocab_rows(ours.head.proj.weight, hf.get_output_embeddings().weight)


COPY = {"gpt2": lambda ours, hf, cfg: _copy_gpt2(ours, hf),
        "gpt_neox": lambda ours, hf, cfg: _copy_neox(ours, hf, cfg["num_attention_heads"])}


def _logits(ours: MistModel, tokens: torch.Tensor) -> torch.Tensor:
    hidden = ours.embed(tokens)
    for block in ours.blocks:
        hidden = block(hidden)
    hidden = ours.norm(hidden)
    return tied_head_forward(ours.embed, hidden) if ours.head is None else ours.head(hidden)


def _run_both(spec, config: dict, copy):
    """transformers' model of `config` and the runtime's of `spec`, the former's weights copied into the latter
    by `copy(ours, hf)`, run on the same tokens: (transformers' output, our logits, our loss, the labels)."""
    hf = _hf_model(config)
    ours = MistModel(spec, BuildOptions(), block_roles(0, spec.num_layers, 0, 0)).eval()
    copy(ours, hf)
    padding = (spec.padded_vocab_size(1) - spec.vocab_size) * spec.hidden_size * (1 if spec.tie_embeddings else 2)
    assert sum(p.numel() for p in ours.parameters()) - padding == sum(p.numel() for p in hf.parameters())
    tokens = torch.randint(0, spec.vocab_size, (2, SEQ + 1), generator=torch.Generator().manual_seed(1))
    inputs, labels = tokens[:, :-1], tokens[:, 1:]
    with torch.no_grad():
        out = hf(input_ids=inputs, labels=tokens[:, :-1])   # transformers shifts the labels itself
        got = _logits(ours, inputs)
        loss = ours(inputs, labels)
    return out, got[..., :spec.vocab_size], loss, labels


def _assert_same_logits(spec, config: dict, copy) -> None:
    """As many parameters (less the padding rows of the vocabulary), the same logits for the same tokens, and the
    same loss (_run_both)."""
    out, got, loss, labels = _run_both(spec, config, copy)
    torch.testing.assert_close(got, out.logits, rtol=0, atol=ATOL)
    ce = lambda logits, target: torch.nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten())  # noqa: E731
    # transformers' loss is torch's cross-entropy of its logits (labels shifted inside), and ours of the same
    # logits and labels: the padded vocabulary's columns stay out (runtime/loss.py vocab_end)
    torch.testing.assert_close(out.loss, ce(out.logits[:, :-1], labels[:, :-1]), rtol=1e-6, atol=0)
    torch.testing.assert_close(loss, ce(out.logits, labels), rtol=1e-6, atol=0)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_runtime_model_computes_transformers_logits(family, tmp_path: Path):
    config = FAMILIES[family]
    (tmp_path / "config.json").write_text(json.dumps(config))
    spec = model_spec_from_hf_config(tmp_path / "config.json")
    assert spec.padded_vocab_size(1) == spec.vocab_size  # no padded logits to compare
    qwen2 = config["model_type"] == "qwen2"
    assert (spec.qkv_bias, spec.tie_embeddings, spec.qk_norm) == (qwen2, config["tie_word_embeddings"],
                                                                  config["model_type"] == "qwen3")
    assert spec.head_dim == config.get("head_dim", 16) and spec.q_dim == 4 * spec.head_dim
    assert spec.attention_window == config.get("sliding_window") and spec.max_seq_len >= SEQ
    spec.check_seq_len(SEQ)   # the sequence compared is one the planner accepts
    _assert_same_logits(spec, config, lambda ours, hf: _copy_weights(ours, hf))


@pytest.mark.parametrize("family", SCALED)
def test_scaled_rope_tables_are_transformers_own(family, tmp_path: Path):
    """The runtime's inverse frequencies for a sequence of SEQ tokens equal, to the bit, those transformers'
    rotary embedding rotates that sequence by (its forward, dynamic_rope_update included: longrope's short or long
    set by max(position_ids) + 1 > original_max_position_embeddings), and its attention_scaling is the runtime's
    attention factor; the cos / sin tables agree to the bit too."""
    from mist_ds.runtime.blocks import rotary_dims
    from mist_ds.runtime.kernels import rope_attention_factor, rope_cos_sin, rope_inv_freq

    config = FAMILIES[family]
    (tmp_path / "config.json").write_text(json.dumps(config))
    spec = model_spec_from_hf_config(tmp_path / "config.json")
    rotary = _hf_model(config).model.rotary_emb
    cos, sin = rotary(torch.zeros(1), torch.arange(SEQ)[None])
    ours = rope_inv_freq(rotary_dims(spec), spec.rope_theta, spec.rope_scaling, seq_len=SEQ)
    assert torch.equal(ours, rotary.inv_freq)
    assert rope_attention_factor(spec.rope_scaling) == rotary.attention_scaling
    ours_cos, ours_sin = rope_cos_sin(SEQ, rotary_dims(spec), spec.rope_theta, "cpu", torch.float32, spec.rope_scaling)
    assert torch.equal(ours_cos, cos[0]) and torch.equal(ours_sin, sin[0])
    expected = {"llama-rope-yarn": 0.1 * math.log(4) + 1, "qwen3-rope-yarn": 0.1 * math.log(4) + 1,
                "qwen2-rope-yarn-untruncated": (0.1 * math.log(4) + 1) / (0.05 * math.log(4) + 1),
                "phi3-longrope-long": math.sqrt(1 + math.log(64 / 31) / math.log(31)),
                "phi3-longrope-short": math.sqrt(1 + math.log(2) / math.log(32)),
                "phi3-su-partial-rope": math.sqrt(1 + math.log(4) / math.log(16))}.get(family, 1.0)
    assert rope_attention_factor(spec.rope_scaling) == pytest.approx(expected, rel=1e-12)


def test_yarn_case_takes_every_branch_of_the_ramp(tmp_path: Path):
    """The yarn cases' correction range (dims 1 .. 4, truncated) leaves pair 0 kept (theta^(-2i/d)), blends
    pairs 2 and 3, and divides pairs 4 .. 7 by the factor: each branch of transformers' ramp is compared."""
    from mist_ds.runtime.kernels import rope_inv_freq

    (tmp_path / "config.json").write_text(json.dumps(FAMILIES["llama-rope-yarn"]))
    scaling = model_spec_from_hf_config(tmp_path / "config.json").rope_scaling
    plain = rope_inv_freq(16, 10000.0, None)
    ratio = rope_inv_freq(16, 10000.0, scaling) / plain
    assert torch.allclose(ratio[:2], torch.ones(2)) and torch.allclose(ratio[4:], torch.full((4,), 0.25))
    assert torch.allclose(ratio[2:4], torch.tensor([1 - 0.75 / 3, 1 - 1.5 / 3]))   # ramp 1/3, 2/3 of the way


@pytest.mark.parametrize(("family", "change"), [
    ("llama-rope-yarn", {"attention_factor": 1.0}),               # the attention factor dropped
    ("llama-rope-yarn", {"truncate": False}),                     # the ramp's bounds left fractional
    ("qwen2-rope-yarn-untruncated", {"mscale": None}),            # 0.1 ln 4 + 1 in place of the mscale ratio
    ("phi3-longrope-long", {"attention_factor": 1.0}),
    ("phi3-longrope-long", {"short_factor": tuple(LONG), "long_factor": tuple(SHORT)}),    # short / long swapped
    ("phi3-longrope-short", {"short_factor": tuple(LONG), "long_factor": tuple(SHORT)}),
    ("phi3-longrope-short", {"original_max_position_embeddings": SEQ - 1}),   # long factors at seq == original
])
def test_a_wrong_scaling_fails_the_comparison(family, change, tmp_path: Path):
    """The comparison sees each part of the scaling: changed as said, the runtime's logits leave transformers' by more
    than 100 x the ATOL it allows (the tiny models' logits are ~0.1-0.5: a 2e-4 change is that)."""
    config = FAMILIES[family]
    (tmp_path / "config.json").write_text(json.dumps(config))
    spec = model_spec_from_hf_config(tmp_path / "config.json")
    wrong = spec.model_copy(update={"rope_scaling": spec.rope_scaling.model_copy(update=change)})
    out, got, _, _ = _run_both(wrong, config, lambda ours, hf: _copy_weights(ours, hf))
    assert (got - out.logits).abs().max() > 100 * ATOL   # the comparison allows ATOL


def test_phi3_partial_rope_rotates_what_transformers_rotates(tmp_path: Path):
    """The fidelity cases' partial RoPE: ModelSpec.rotary_fraction gives the runtime's rot_dim transformers' own
    int(head_dim x partial_rotary_factor), 12 of 16 and 12 of 24, and its cos tables that width."""
    from mist_ds.runtime.blocks import rotary_dims

    for family, rot in (("phi3-partial-rope", 12), ("phi3-partial-rope-head-dim", 12), ("phi3", 16)):
        (tmp_path / "config.json").write_text(json.dumps(FAMILIES[family]))
        spec = model_spec_from_hf_config(tmp_path / "config.json")
        cos, _ = _hf_model(FAMILIES[family]).model.rotary_emb(torch.zeros(1), torch.arange(4)[None])
        assert rotary_dims(spec) == rot == cos.shape[-1]


def test_phi3_window_is_full_causal_up_to_its_length():
    """transformers' sliding window (masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window) lets
    a query see itself and sliding_window - 1 earlier tokens: at SEQ tokens a window of SEQ is full causal
    attention to the bit, and one of SEQ - 1 changes the last position only (it no longer sees the first token).
    That is the rule ModelSpec.check_seq_len enforces: seq_len <= attention_window."""
    tokens = torch.randint(0, 256, (2, SEQ), generator=torch.Generator().manual_seed(1))
    logits = {}
    with torch.no_grad():
        for window in (None, SEQ, SEQ - 1):
            logits[window] = _hf_model(dict(FAMILIES["phi3"], sliding_window=window))(input_ids=tokens).logits
    assert torch.equal(logits[None], logits[SEQ])
    assert torch.equal(logits[None][:, :-1], logits[SEQ - 1][:, :-1])
    assert not torch.allclose(logits[None][:, -1], logits[SEQ - 1][:, -1], rtol=0, atol=1e-3)


# GPT-NeoX as transformers 5 writes its configs (rope_parameters holding rope_theta and partial_rotary_factor, no
# rotary_pct / rotary_emb_base), and an older config with a linear RoPE scaling (rope_scaling beside rotary_pct)
NEOX_5 = dict({k: v for k, v in NEOX.items() if k not in ("rotary_pct", "rotary_emb_base")},
              rope_parameters={"rope_type": "default", "rope_theta": 500.0, "partial_rotary_factor": 0.5})
NEOX_LINEAR = dict(NEOX, rope_scaling={"rope_type": "linear", "factor": 4.0})


@pytest.mark.parametrize("config", [GPT2, NEOX, dict(GPT2, activation_function="gelu"), dict(GPT2, vocab_size=250),
                                    dict(NEOX, vocab_size=250), NEOX_5, NEOX_LINEAR],
                         ids=["gpt2", "gpt_neox", "gpt2-exact-gelu", "gpt2-padded-vocab", "gpt_neox-padded-vocab",
                              "gpt_neox-rope-parameters", "gpt_neox-rope-linear"])
def test_gpt_families_compute_transformers_logits(config, tmp_path: Path):
    (tmp_path / "config.json").write_text(json.dumps(config))
    spec = model_spec_from_hf_config(tmp_path / "config.json")
    exact = config.get("activation_function", config.get("hidden_act")) == "gelu"
    assert spec.gelu_approximation == ("none" if exact else "tanh")
    if config["model_type"] == "gpt_neox":   # the RoPE transformers reads from either format
        rope = transformers.AutoConfig.for_model(**config).rope_parameters
        assert (spec.rope_theta, spec.rotary_fraction) == (rope["rope_theta"], rope["partial_rotary_factor"])
        assert (spec.rope_scaling.kind if spec.rope_scaling else "default") == rope["rope_type"]
    _assert_same_logits(spec, config, lambda ours, hf: COPY[config["model_type"]](ours, hf, config))
