"""ModelSpec: presets against published parameter counts, HF import, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mist_ds.config import PRESETS, ModelSpec, get_preset, model_spec_from_hf_config, resolve_model

HF = Path(__file__).parents[1] / "data" / "hf_configs"


@pytest.mark.parametrize(
    ("name", "expected", "rel"),
    [
        ("gpt-1.3b", 1.3e9, 0.02),     # GPT-3 XL, Brown et al. 2020 table 2.1 ("1.3B")
        ("gpt-2.7b", 2.7e9, 0.03),
        ("gpt-6.7b", 6.7e9, 0.01),
        ("gpt-13b", 13.0e9, 0.02),
        ("llama-7b", 6_738_415_616, 0.0),   # Llama-2-7b-hf, exact
        ("llama-13b", 13_015_864_320, 0.0),  # Llama-2-13b-hf, exact
        ("llama-70b", 68_976_648_192, 0.0),  # Llama-2-70b-hf, exact
        ("llama3-8b", 8_030_261_248, 0.0),   # Meta-Llama-3-8B, exact
        ("llama3.2-1b", 1_235_814_400, 0.0),  # Llama-3.2-1B, exact (tied head)
        ("llama3.2-3b", 3_212_749_824, 0.0),  # Llama-3.2-3B, exact (tied head)
    ],
)
def test_preset_parameter_counts(name: str, expected: float, rel: float) -> None:
    assert get_preset(name).num_params == pytest.approx(expected, rel=rel, abs=0)


def test_every_documented_preset_exists() -> None:
    documented = {f"gpt-{s}" for s in ("125m", "350m", "760m", "1.3b", "2.7b", "6.7b", "13b", "22b")}
    documented |= {f"llama-{s}" for s in ("1.3b", "2.7b", "7b", "13b", "30b", "70b")}
    documented |= {"llama3-8b", "llama3.2-1b", "llama3.2-3b"}
    assert documented <= set(PRESETS)


@pytest.mark.parametrize(
    ("folder", "params", "kv_heads"),
    [
        ("llama-2-7b", 6_738_415_616, 32),
        ("meta-llama-3-8b", 8_030_261_248, 8),
        ("mistral-7b", 7_241_732_096, 8),
        ("qwen2-0.5b", 494_032_768, 2),
        ("gpt2", 124_439_808, 12),
        ("pythia-160m", 162_322_944, 12),
        # the families batches b32-b35 trained from their config.json (session 35)
        ("pythia-1.4b", 1_414_647_808, 16),
        ("pythia-2.8b", 2_775_208_960, 32),
        ("pythia-6.9b", 6_857_302_016, 32),
        ("gpt2-large", 774_030_080, 20),
        ("gpt2-xl", 1_557_611_200, 25),
        ("qwen2-1.5b", 1_543_714_304, 2),
        ("qwen2-7b", 7_615_616_512, 4),
    ],
)
def test_hf_import_matches_published_counts(folder: str, params: int, kv_heads: int) -> None:
    spec = model_spec_from_hf_config(HF / folder / "config.json")
    assert spec == ModelSpec.from_hf_config(HF / folder)
    assert spec.num_params == params
    assert spec.num_kv_heads == kv_heads


def test_llama_3_2_preset_is_its_config_json() -> None:
    """The preset and Meta's Llama-3.2-1B config.json (tied head, GQA) agree but for the name and the RoPE
    scaling, which the import carries for the runtime and the preset leaves out (no FLOP or byte moves)."""
    imported = model_spec_from_hf_config(HF / "llama-3.2-1b").model_dump()
    preset = get_preset("llama3.2-1b").model_dump()
    assert imported["rope_scaling"]["kind"] == "llama3" and "rope_scaling" not in preset
    apart = ("name", "rope_scaling")
    assert {k: v for k, v in imported.items() if k not in apart} == {k: v for k, v in preset.items() if k not in apart}


def test_hf_import_reads_family_flags() -> None:
    neox = model_spec_from_hf_config(HF / "pythia-160m")
    assert (neox.family, neox.position_embedding, neox.parallel_residual) == ("gpt", "rope", True)
    assert neox.rotary_fraction == 0.25
    qwen = model_spec_from_hf_config(HF / "qwen2-0.5b")
    assert qwen.qkv_bias and qwen.tie_embeddings and not qwen.linear_bias


def test_hf_import_rejects_unknown_model_type(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ValueError, match="model_type 'bert' is not supported"):
        model_spec_from_hf_config(tmp_path)


def test_hf_import_names_missing_field(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama", "hidden_size": 64}')
    with pytest.raises(ValueError, match="missing field"):
        model_spec_from_hf_config(tmp_path / "config.json")


def test_unknown_preset_suggests_close_names() -> None:
    with pytest.raises(ValueError, match="did you mean llama-7b"):
        resolve_model("lama-7b")


def test_flops_per_token_follows_palm_formula() -> None:
    spec = get_preset("gpt-1.3b")
    n = spec.num_layers * spec.layer_params + spec.vocab_size * spec.hidden_size
    assert spec.flops_per_token(2048) == 6 * n + 12 * 24 * 2048 * 2048


def test_heads_must_divide_hidden() -> None:
    base = get_preset("gpt-125m").model_dump()
    with pytest.raises(ValidationError, match="not divisible by num_heads"):
        ModelSpec(**{**base, "num_heads": 7})


def test_kv_heads_must_divide_heads() -> None:
    base = get_preset("llama3-8b").model_dump()
    with pytest.raises(ValidationError, match="num_kv_heads"):
        ModelSpec(**{**base, "num_kv_heads": 5})


def test_padded_vocab_is_divisible_by_tp_shards() -> None:
    spec = get_preset("llama-7b")
    for tp in (1, 2, 4, 8):
        padded = spec.padded_vocab_size(tp)
        assert padded >= spec.vocab_size and padded % (128 * tp) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_layers": 257}, "less than or equal to 256"),
        ({"hidden_size": 2**18, "num_heads": 2**10, "num_kv_heads": 2**10}, "less than or equal to 131072"),
        ({"vocab_size": 2**22 + 1}, "less than or equal to 4194304"),
        ({"max_seq_len": 2**24 + 1}, "less than or equal to 16777216"),
        ({"rope_theta": float("inf")}, "finite number"),
        ({"norm_eps": float("nan")}, "finite number"),
        ({"num_kv_heads": 64}, "num_kv_heads 64 must divide num_heads 32"),
    ],
)
def test_model_sizes_are_capped_and_finite(change: dict, message: str) -> None:
    base = get_preset("llama-7b").model_dump()
    with pytest.raises(ValidationError, match=message):
        ModelSpec(**{**base, **change})


def _qwen3_06b_shape(**changes) -> ModelSpec:
    """Qwen3-0.6B's block shape (hidden 1024, 16 heads of 128, 8 kv heads) without its q/k norms."""
    base = get_preset("llama3.2-1b").model_dump()
    return ModelSpec(**{**base, "num_layers": 28, "hidden_size": 1024, "num_heads": 16, "num_kv_heads": 8,
                        "head_dim_override": 128, "ffn_hidden_size": 3072, "vocab_size": 151936, **changes})


def test_a_decoupled_head_sizes_q_o_and_the_attention_flops() -> None:
    spec = _qwen3_06b_shape()
    assert (spec.head_dim, spec.q_dim, spec.kv_dim) == (128, 2048, 1024)
    # q 1024x2048, k and v 1024x1024, o 2048x1024; SwiGLU 3 x 1024x3072; two RMSNorms of 1024
    layer = 2 * 1024 * 2048 + 2 * 1024 * 1024 + 3 * 1024 * 3072 + 2 * 1024
    assert spec.layer_params == layer
    assert spec.num_params == 28 * layer + 151936 * 1024 + 1024        # tied head, final norm
    # PaLM appendix B: 12 * L * H * Q * T with H * Q = 16 x 128, not the width 1024
    assert spec.flops_per_token(4096) == 6 * (28 * layer + 151936 * 1024) + 12 * 28 * 2048 * 4096


def test_a_decoupled_head_need_not_divide_the_width() -> None:
    spec = _qwen3_06b_shape(hidden_size=1000, num_heads=10, num_kv_heads=5, head_dim_override=96)
    assert (spec.q_dim, spec.kv_dim) == (960, 480)
    with pytest.raises(ValidationError, match="not divisible by num_heads"):
        _qwen3_06b_shape(hidden_size=1000, num_heads=16, head_dim_override=None)
    with pytest.raises(ValidationError, match="attention width num_heads 16 x head_dim 16384 = 262144 exceeds"):
        _qwen3_06b_shape(head_dim_override=2**14)


def test_head_dim_override_is_left_out_of_the_json_at_its_default() -> None:
    assert "head_dim_override" not in get_preset("llama-7b").model_dump_json()
    spec = _qwen3_06b_shape()
    assert '"head_dim_override":128' in spec.model_dump_json()
    assert ModelSpec.from_json_text(spec.to_json()) == spec
