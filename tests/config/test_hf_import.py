"""HF config.json import: every value type- and range-checked, one-line errors naming the HF key."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from mist_ds.config import ClusterSpec, ModelSpec, Plan, TuneRequest, model_spec_from_hf_config
from mist_ds.config.model_spec import MAX_LAYERS

ROOT = Path(__file__).resolve().parents[2]
HF = ROOT / "tests" / "data" / "hf_configs"


def _write(tmp_path: Path, base: str, **changes) -> Path:
    cfg = json.loads((HF / base / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize(
    ("base", "changes", "message"),
    [
        ("llama-2-7b", {"num_attention_heads": 0}, "num_attention_heads must be at least 1, got 0"),
        ("llama-2-7b", {"hidden_size": "4096"}, 'hidden_size must be an integer, got "4096"'),
        ("llama-2-7b", {"num_hidden_layers": 32.0}, "num_hidden_layers must be an integer"),
        ("llama-2-7b", {"num_hidden_layers": True}, "num_hidden_layers must be an integer"),
        ("llama-2-7b", {"num_key_value_heads": 0}, "num_key_value_heads must be at least 1, got 0"),
        ("llama-2-7b", {"num_key_value_heads": 64}, "num_key_value_heads 64 must be between 1"),
        ("llama-2-7b", {"num_key_value_heads": 5}, "num_key_value_heads 5 must be between 1"),
        ("llama-2-7b", {"head_dim": 0}, "head_dim must be at least 1"),
        ("llama-2-7b", {"rope_theta": "1e4"}, "rope_theta must be a finite positive number"),
        ("llama-2-7b", {"rms_norm_eps": -1}, "rms_norm_eps must be a finite positive number"),
        ("llama-2-7b", {"tie_word_embeddings": 0}, "tie_word_embeddings must be true or false"),
        ("llama-2-7b", {"hidden_act": "gelu"}, "hidden_act \"gelu\" is not supported"),
        ("llama-2-7b", {"num_hidden_layers": 10**9}, f"num_hidden_layers: Input should be less than or equal to {MAX_LAYERS}"),
        ("llama-2-7b", {"vocab_size": 10**15}, "vocab_size: Input should be less than or equal to"),
        ("llama-2-7b", {"num_attention_heads": 4097}, "num_attention_heads 4097 does not divide hidden_size 4096 "
                                                      "and no head_dim is given"),
        ("llama-2-7b", {"head_dim": 128.0}, "head_dim must be an integer, got 128.0"),
        ("llama-2-7b", {"head_dim": "128"}, 'head_dim must be an integer, got "128"'),
        ("llama-2-7b", {"head_dim": -64}, "head_dim must be at least 1, got -64"),
        ("llama-2-7b", {"head_dim": 2**17 + 1}, "head_dim: Input should be less than or equal to 131072"),
        ("llama-2-7b", {"head_dim": 2**13}, "attention width num_heads 32 x head_dim 8192 = 262144 exceeds 131072"),
        ("llama-2-7b", {"intermediate_size": None}, "missing field 'intermediate_size'"),
        ("gpt2", {"n_head": 0}, "n_head must be at least 1"),
        ("gpt2", {"n_embd": 770}, "not divisible by num_heads"),
        ("gpt2", {"n_layer": [12]}, "n_layer must be an integer, got list"),
        ("gpt2", {"activation_function": "relu"}, 'activation_function "relu" is not supported for gpt2 (only "gelu_new"'),
        ("pythia-160m", {"hidden_act": "silu"}, 'hidden_act "silu" is not supported for gpt_neox'),
        ("pythia-160m", {"rotary_pct": 2.0}, "rotary_pct: Input should be less than or equal to 1"),
        ("pythia-160m", {"model_type": ["gpt_neox"]}, "model_type list is not supported"),
        ("pythia-160m", {"model_type": "bert"},
         "supported families: gpt2, gpt_neox, llama, mistral, phi3, qwen2, qwen3"),
        ("qwen3-4b", {"attention_bias": True}, "attention_bias true is not supported for qwen3"),
        ("qwen3-4b", {"attention_bias": 1}, "attention_bias must be true or false"),
        ("qwen3-4b", {"head_dim": 0}, "head_dim must be at least 1, got 0"),
        ("qwen3-4b", {"hidden_act": "gelu"}, 'hidden_act "gelu" is not supported for qwen3'),
        ("llama-3.2-1b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0}},
         'rope_scaling rope_type "yarn" is not supported (supported: llama3, linear, or none)'),
        ("llama-3.2-1b", {"rope_scaling": {"rope_type": "llama3", "factor": 32.0}},
         'rope_type "llama3" needs low_freq_factor, high_freq_factor, original_max_position_embeddings'),
        ("llama-3.2-1b", {"rope_scaling": "llama3"}, 'rope_scaling must be an object or null, got "llama3"'),
        ("llama-3.2-1b", {"rope_scaling": {"rope_type": "linear", "factor": -2.0}},
         "rope_scaling.factor: Input should be greater than 0"),
        ("llama-2-7b", {"rope_parameters": {"rope_type": "default", "rope_theta": 0}},
         "rope_theta must be a finite positive number, got 0"),
        ("phi-3-mini-4k", {"attention_bias": True}, "attention_bias true is not supported for phi3"),
        ("phi-3-mini-4k", {"attention_bias": "no"}, 'attention_bias must be true or false, got "no"'),
        ("phi-3-mini-4k", {"hidden_act": "gelu_new"}, 'hidden_act "gelu_new" is not supported for phi3'),
        ("phi-3-mini-4k", {"num_key_value_heads": 5}, "num_key_value_heads 5 must be between 1"),
        ("phi-3-mini-4k", {"sliding_window": 0}, "sliding_window must be at least 1, got 0"),
        # Phi-3-mini-128k / Phi-3.5-mini / Phi-4-mini: longrope (older configs: "su"; transformers reads "yarn"
        # as longrope for phi3 too); transformers' Phi3Config refuses every other rope_type
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": [1.0] * 48,
                                            "short_factor": [1.0] * 48}},
         'rope_scaling rope_type "longrope" is not supported for phi3 (supported: none)'),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "su", "long_factor": [1.0] * 48, "short_factor": [1.0] * 48}},
         'rope_type "su" (longrope) is not supported for phi3'),
        ("phi-3-mini-4k", {"rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0}},
         'rope_type "longrope" is not supported for phi3'),
        ("phi-3-mini-4k", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
         'rope_type "linear" is not supported for phi3 (supported: none)'),
        ("phi-3-mini-4k", {"partial_rotary_factor": 0},
         "partial_rotary_factor must be a finite positive number, got 0"),
        ("phi-3-mini-4k", {"partial_rotary_factor": "0.5"}, "partial_rotary_factor must be a finite positive number"),
        ("phi-3-mini-4k", {"partial_rotary_factor": 1.5},
         "partial_rotary_factor: Input should be less than or equal to 1"),
        ("phi-3-mini-4k", {"partial_rotary_factor": 0.1},
         "partial_rotary_factor 0.1 rotates int(head_dim 96 x 0.1) = 9 dims of each head: an odd count"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, base: str, changes: dict, message: str) -> None:
    path = _write(tmp_path, base, **changes)
    with pytest.raises(ValueError, match=None) as err:
        model_spec_from_hf_config(path)
    text = str(err.value)
    assert message in text and "\n" not in text and text.startswith(str(path))


def test_non_finite_json_numbers_are_refused(tmp_path: Path) -> None:
    cfg = (HF / "llama-2-7b" / "config.json").read_text()
    (tmp_path / "config.json").write_text(cfg.replace('"rms_norm_eps": 1e-05', '"rms_norm_eps": NaN'))
    with pytest.raises(ValueError, match="rms_norm_eps must be a finite positive number, got NaN"):
        model_spec_from_hf_config(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "not a usable JSON config"),
        ('{"model_type": "llama", "hidden_size": ' + "9" * 5000 + "}", "not a usable JSON config"),
        ("[1, 2]", "is not a JSON object"),
        ("{", "is not valid JSON"),
    ],
)
def test_hostile_json_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        model_spec_from_hf_config(tmp_path / "config.json")


def test_folder_holding_config_json_works(tmp_path: Path) -> None:
    folder = tmp_path / "my-llama"
    folder.mkdir()
    (folder / "config.json").write_text((HF / "llama-2-7b" / "config.json").read_text())
    assert ModelSpec.from_hf_config(folder) == model_spec_from_hf_config(folder / "config.json")


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:  # top level only: imports inside functions are deliberate
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_model_spec_and_hf_import_do_not_import_each_other_at_module_level() -> None:
    config = ROOT / "mist_ds" / "config"
    assert "mist_ds.config.hf_import" not in _module_level_imports(config / "model_spec.py")
    assert "mist_ds.config.model_spec" not in _module_level_imports(config / "hf_import.py")


@pytest.mark.parametrize(("base", "changes", "window"), [
    ("mistral-7b", {}, 4096),                                        # sliding_window applies
    ("mistral-7b", {"sliding_window": None}, None),                  # Mistral v0.2+: no window
    ("mistral-7b", {"use_sliding_window": False}, None),
    ("qwen2-0.5b", {}, None),                                        # use_sliding_window: false
    ("qwen2-0.5b", {"use_sliding_window": True, "sliding_window": 2048}, 2048),
    ("qwen2-0.5b", {"use_sliding_window": None}, None),              # Qwen2's default is off
    ("qwen3-4b", {}, None),                                          # use_sliding_window: false
    ("qwen3-4b", {"sliding_window": 4096, "use_sliding_window": None}, None),   # Qwen3's default is off
    ("qwen3-4b", {"use_sliding_window": True, "sliding_window": 4096}, 4096),
    ("llama-2-7b", {}, None),
])
def test_the_attention_window_is_the_one_transformers_applies(tmp_path: Path, base, changes, window) -> None:
    assert model_spec_from_hf_config(_write(tmp_path, base, **changes)).attention_window == window


def test_sequences_longer_than_the_window_are_refused_not_trained_as_full_attention(tmp_path: Path) -> None:
    """The runtime has no sliding-window attention: past the window it would train another model."""
    mistral = model_spec_from_hf_config(HF / "mistral-7b")
    cluster = ClusterSpec(num_nodes=1, gpus_per_node=1)
    TuneRequest(model=mistral, cluster=cluster, global_batch_size=8, seq_len=4096)  # at the window: the same model
    with pytest.raises(ValueError, match="sliding attention window of 4096 tokens"):
        TuneRequest(model=mistral, cluster=cluster, global_batch_size=8, seq_len=4097)
    # a plan file edited to a longer sequence is refused on load, like a request
    plan = json.loads((ROOT / "bench/results/accuracy/auto-mis7b-1g-c78-s4096-b16.plan.json").read_text())
    plan["model"]["attention_window"], plan["seq_len"] = 4096, 8192
    with pytest.raises(ValueError, match="sliding attention window"):
        Plan.model_validate(plan, strict=False)


def test_a_model_without_a_window_keeps_its_json_and_hash() -> None:
    """attention_window is left out of the JSON at its default: plans written before it keep their hashes."""
    plan_path = ROOT / "bench/results/accuracy/auto-l7-1g-c78-s4096-b16.plan.json"
    plan = Plan.load(plan_path)
    assert plan.model.attention_window is None and "attention_window" not in plan.to_json()
    assert plan.to_json() == plan_path.read_text()


def test_qwen3_head_dim_defaults_to_transformers_128(tmp_path: Path) -> None:
    """Qwen3Config's head_dim default is 128, not hidden / heads (transformers configuration_qwen3.py)."""
    spec = model_spec_from_hf_config(_write(tmp_path, "qwen3-0.6b", head_dim=None))
    assert (spec.head_dim, spec.head_dim_override, spec.q_dim) == (128, 128, 2048)
    assert spec == model_spec_from_hf_config(HF / "qwen3-0.6b").model_copy(update={"name": spec.name})
    assert model_spec_from_hf_config(_write(tmp_path, "qwen3-8b", head_dim=None)).head_dim_override is None  # 4096/32


def test_rope_scaling_is_read_from_either_format(tmp_path: Path) -> None:
    """transformers before 5 write rope_theta beside rope_scaling, transformers 5 one rope_parameters object
    with rope_theta inside: both give the same spec (Llama 3.2 1B's llama3 scaling), and without a scaling
    the plain RoPE and its JSON (no rope_scaling key, so older plans keep their hash)."""
    old_style = model_spec_from_hf_config(HF / "llama-3.2-1b")
    cfg = json.loads((HF / "llama-3.2-1b" / "config.json").read_text())
    params = {**cfg.pop("rope_scaling"), "rope_theta": cfg.pop("rope_theta")}
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "rope_parameters": params}))
    new_style = model_spec_from_hf_config(tmp_path / "config.json")
    assert old_style.rope_scaling is not None and old_style.rope_scaling.kind == "llama3"
    assert (old_style.rope_scaling.factor, old_style.rope_theta) == (32.0, 500000.0)
    assert new_style.model_copy(update={"name": old_style.name}) == old_style
    # a rope_parameters without rope_theta keeps a top-level one
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "rope_theta": 500000.0, "rope_parameters": {
        k: v for k, v in params.items() if k != "rope_theta"}}))
    assert model_spec_from_hf_config(tmp_path / "config.json").rope_theta == 500000.0
    plain = model_spec_from_hf_config(HF / "meta-llama-3-8b")
    assert plain.rope_scaling is None and "rope_scaling" not in plain.to_json()


@pytest.mark.parametrize(("folder", "kv_heads", "window", "max_seq_len", "theta"), [
    ("phi-3-mini-4k", 32, 2047, 4096, 10000.0),      # hub microsoft/Phi-3-mini-4k-instruct
    ("phi-3-medium-4k", 10, 2047, 4096, 10000.0),    # hub microsoft/Phi-3-medium-4k-instruct: GQA 40 / 10
    ("phi-4", 10, None, 16384, 250000.0),            # hub microsoft/phi-4: no window
])
def test_phi3_reads_as_a_llama_block(folder, kv_heads, window, max_seq_len, theta) -> None:
    """Phi-3 / Phi-4 (model_type phi3): Llama's block (RMSNorm eps 1e-5, SwiGLU, RoPE, no biases), untied."""
    spec = model_spec_from_hf_config(HF / folder)
    assert (spec.family, spec.norm, spec.activation, spec.position_embedding) == ("llama", "rmsnorm", "swiglu", "rope")
    assert not (spec.linear_bias or spec.qkv_bias or spec.qk_norm or spec.tie_embeddings)
    assert (spec.num_kv_heads, spec.attention_window, spec.max_seq_len, spec.rope_theta) == (kv_heads, window,
                                                                                              max_seq_len, theta)
    assert (spec.norm_eps, spec.rotary_fraction, spec.rope_scaling, spec.head_dim_override) == (1e-5, 1.0, None, None)


def test_phi3_windows_and_defaults_as_transformers_applies_them(tmp_path: Path) -> None:
    """Phi3Model applies sliding_window whenever it is not null (no use_sliding_window key is read), and
    Phi3Config's defaults hold where config.json has no key: rms_norm_eps 1e-5, 4096 positions, untied."""
    unflagged = _write(tmp_path, "phi-3-mini-4k", use_sliding_window=False)
    assert model_spec_from_hf_config(unflagged).attention_window == 2047
    assert model_spec_from_hf_config(_write(tmp_path, "phi-3-mini-4k", sliding_window=None)).attention_window is None
    bare = model_spec_from_hf_config(_write(tmp_path, "phi-3-mini-4k", rms_norm_eps=None, max_position_embeddings=None,
                                            tie_word_embeddings=None, attention_bias=None))
    assert (bare.norm_eps, bare.max_seq_len, bare.tie_embeddings) == (1e-5, 4096, False)


def test_phi3_partial_rotary_factor_is_the_rotary_fraction(tmp_path: Path) -> None:
    """Phi-4-mini's partial_rotary_factor 0.75 (top level), or transformers 5's inside rope_parameters, which
    wins over a top-level one as Phi3Config.convert_rope_params_to_dict lets it."""
    top = model_spec_from_hf_config(_write(tmp_path, "phi-3-mini-4k", partial_rotary_factor=0.75))
    assert top.rotary_fraction == 0.75 and top.head_dim == 96
    inside = model_spec_from_hf_config(_write(tmp_path, "phi-3-mini-4k", partial_rotary_factor=0.5, rope_parameters={
        "rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.75}))
    assert inside == top


def test_phi3_sequences_past_the_window_are_refused(tmp_path: Path) -> None:
    """Phi-3-mini-4k's sliding_window 2047: transformers' mask keeps kv_idx > q_idx - 2047, so 2047 tokens are
    full causal attention (the runtime's) and 2048 are not; the model's 4096 positions do not matter."""
    phi3 = model_spec_from_hf_config(HF / "phi-3-mini-4k")
    cluster = ClusterSpec(num_nodes=1, gpus_per_node=1)
    TuneRequest(model=phi3, cluster=cluster, global_batch_size=8, seq_len=2047)
    phi3.check_seq_len(2047)
    for seq_len in (2048, 4096):
        with pytest.raises(ValueError, match="sliding attention window of 2047 tokens"):
            TuneRequest(model=phi3, cluster=cluster, global_batch_size=8, seq_len=seq_len)
        with pytest.raises(ValueError, match="use a seq_len of at most 2047$") as err:
            phi3.check_seq_len(seq_len)
        assert "\n" not in str(err.value)
    phi4 = model_spec_from_hf_config(HF / "phi-4")           # no window: its 16384 positions
    TuneRequest(model=phi4, cluster=cluster, global_batch_size=8, seq_len=16384)
    with pytest.raises(ValueError, match="exceeds microsoft/phi-4's max_seq_len 16384"):
        TuneRequest(model=phi4, cluster=cluster, global_batch_size=8, seq_len=16385)
