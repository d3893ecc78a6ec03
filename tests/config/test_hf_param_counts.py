"""ModelSpec's parameter count of an imported config.json == the parameters transformers builds from the same
config (on the meta device: no memory, no weights), for configs whose attention head size is not
hidden_size / num_attention_heads (ModelSpec.head_dim_override)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mist_ds.config import model_spec_from_hf_config

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

HF = Path(__file__).parents[1] / "data" / "hf_configs"
# Qwen3-0.6B's shape (hub Qwen/Qwen3-0.6B config.json: hidden 1024, 16 heads of 128, 8 kv heads, tied head)
# as a Mistral config: the decoupled head without Qwen3's q/k norms
QWEN3_06B_SHAPE = {"model_type": "mistral", "hidden_size": 1024, "num_attention_heads": 16, "head_dim": 128,
                   "num_key_value_heads": 8, "intermediate_size": 3072, "num_hidden_layers": 28,
                   "vocab_size": 151936, "max_position_embeddings": 40960, "rope_theta": 1000000,
                   "rms_norm_eps": 1e-6, "tie_word_embeddings": True, "sliding_window": None,
                   "hidden_act": "silu"}


def transformers_count(config: dict) -> int:
    """Parameters of transformers' causal LM for `config`, built on the meta device (tied ones once)."""
    cfg = transformers.AutoConfig.for_model(**config)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(cfg)
    return sum(p.numel() for p in model.parameters())


def _spec(tmp_path: Path, config: dict):
    (tmp_path / "config.json").write_text(json.dumps(config))
    return model_spec_from_hf_config(tmp_path / "config.json")


@pytest.mark.parametrize(("config", "q_dim", "published"), [
    # hub mistralai/Mistral-Nemo-Base-2407 config.json: hidden 5120, 32 heads of 128 (q 4096 < hidden)
    (json.loads((HF / "mistral-nemo-12b" / "config.json").read_text()), 4096, 12_247_782_400),
    (QWEN3_06B_SHAPE, 2048, None),                                          # q 2048 > hidden 1024
    (dict(QWEN3_06B_SHAPE, model_type="qwen2", use_sliding_window=False), 2048, None),  # + q/k/v biases
    (dict(QWEN3_06B_SHAPE, model_type="llama", num_hidden_layers=2, head_dim=80), 1280, None),
], ids=["mistral-nemo-12b", "qwen3-0.6b-shape-mistral", "qwen3-0.6b-shape-qwen2", "llama-head-80"])
def test_decoupled_head_counts_what_transformers_builds(tmp_path: Path, config: dict, q_dim: int, published) -> None:
    spec = _spec(tmp_path, config)
    assert spec.head_dim == config["head_dim"] != spec.hidden_size // spec.num_heads
    assert spec.q_dim == q_dim and spec.kv_dim == config["num_key_value_heads"] * config["head_dim"]
    assert spec.num_params == transformers_count(config)
    if published is not None:   # the 12.2B of Mistral-Nemo's model card, to the parameter
        assert spec.num_params == published


def test_a_head_dim_equal_to_hidden_over_heads_changes_nothing(tmp_path: Path) -> None:
    """Llama-3.2-1B's config.json says head_dim 64 = 2048 / 32: the same spec as without the key, the
    field left out of its JSON (plans written before it existed keep their bytes)."""
    config = json.loads((HF / "llama-3.2-1b" / "config.json").read_text())
    assert config["head_dim"] == config["hidden_size"] // config["num_attention_heads"]
    spec = _spec(tmp_path, config)
    assert spec.head_dim_override is None and "head_dim_override" not in json.loads(spec.to_json())
    assert spec == _spec(tmp_path, {k: v for k, v in config.items() if k != "head_dim"})
    assert spec.num_params == transformers_count(config)


@pytest.mark.parametrize(("folder", "params", "non_embedding_b", "q_dim", "tied"), [
    # hub Qwen/Qwen3-{0.6B,1.7B,4B,8B} config.json; the model cards' non-embedding counts 0.44B, 1.4B, 3.6B, 6.95B
    ("qwen3-0.6b", 596_049_920, 0.44, 2048, True),
    ("qwen3-1.7b", 1_720_574_976, 1.4, 2048, True),
    ("qwen3-4b", 4_022_468_096, 3.6, 4096, True),
    ("qwen3-8b", 8_190_735_360, 6.95, 4096, False),
])
def test_qwen3_counts_what_transformers_builds(folder: str, params: int, non_embedding_b: float, q_dim: int,
                                               tied: bool) -> None:
    """Qwen3's q/k norms (head_dim 128 each per layer) included: transformers' Qwen3ForCausalLM on the meta device."""
    config = json.loads((HF / folder / "config.json").read_text())
    spec = model_spec_from_hf_config(HF / folder)
    assert spec.qk_norm and not spec.qkv_bias and spec.head_dim == 128 and spec.q_dim == q_dim
    assert spec.tie_embeddings is tied and spec.attention_window is None
    assert spec.num_params == transformers_count(config) == params
    embedding = spec.vocab_size * spec.hidden_size * (1 if tied else 2)
    assert abs((params - embedding) / 1e9 - non_embedding_b) < 0.05           # the cards' rounding
    without = spec.model_copy(update={"qk_norm": False})
    assert spec.qk_norm_params == 256 and spec.layer_params == without.layer_params + 256


@pytest.mark.parametrize(("folder", "params", "card_b"), [
    # hub microsoft/Phi-3-mini-4k-instruct config.json; 3,821,079,552 is also the count Keras-Hub publishes for it
    ("phi-3-mini-4k", 3_821_079_552, 3.8),
    # hub microsoft/Phi-3.5-mini-instruct: Phi-3-mini's shape with 131072 positions and longrope (no parameters)
    ("phi-3.5-mini", 3_821_079_552, 3.8),
    ("phi-3-medium-4k", 13_960_238_080, 14),    # hub microsoft/Phi-3-medium-4k-instruct: GQA 40 heads / 10 kv heads
    ("phi-4", 14_659_507_200, 14),              # hub microsoft/phi-4: GQA 40 / 10, vocabulary 100352
])
def test_phi3_counts_what_transformers_builds(folder: str, params: int, card_b: float) -> None:
    """Phi3ForCausalLM's fused qkv_proj (q_dim + 2 kv_dim rows) and gate_up_proj (2 x intermediate rows) hold as many
    parameters as the separate q/k/v and gate/up ModelSpec counts: transformers on the meta device, and the model
    cards' sizes (3.8B, 14B, 14B: Phi-4's 14.66B is written 14B) within 5%."""
    config = json.loads((HF / folder / "config.json").read_text())
    spec = model_spec_from_hf_config(HF / folder)
    assert spec.num_params == transformers_count(config) == params
    assert abs(params / 1e9 - card_b) / card_b < 0.05


def test_phi35_mini_rope_is_transformers_own() -> None:
    """Phi-3.5-mini's longrope as transformers' Phi3RotaryEmbedding computes it for that config.json: the short
    factors for sequences up to original_max_position_embeddings (4096 tokens: max(position_ids) + 1 = 4096 is not
    > 4096), the long ones from 4097 on, cos / sin times sqrt(1 + ln 32 / ln 4096); the runtime's inverse
    frequencies and attention factor, to the bit."""
    from mist_ds.runtime.blocks import rotary_dims
    from mist_ds.runtime.kernels import rope_attention_factor, rope_inv_freq

    config = json.loads((HF / "phi-3.5-mini" / "config.json").read_text())
    spec = model_spec_from_hf_config(HF / "phi-3.5-mini")
    rotary = transformers.models.phi3.modeling_phi3.Phi3RotaryEmbedding(transformers.AutoConfig.for_model(**config))
    assert rope_attention_factor(spec.rope_scaling) == rotary.attention_scaling == pytest.approx((1 + 5 / 12) ** 0.5)
    for seq_len in (2047, 4096, 4097, 131072):
        rotary(torch.zeros(1), torch.arange(seq_len)[None])      # dynamic_rope_update picks short or long
        ours = rope_inv_freq(rotary_dims(spec), spec.rope_theta, spec.rope_scaling, seq_len=seq_len)
        assert torch.equal(ours, rotary.inv_freq)
        factors = spec.rope_scaling.long_factor if seq_len > 4096 else spec.rope_scaling.short_factor
        assert torch.allclose(rope_inv_freq(96, 10000.0, None) / ours, torch.tensor(factors), rtol=1e-6)
