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
        ("pythia-160m", {"rope_scaling": [1]}, "rope_scaling must be an object or null, got list"),
        ("pythia-160m", {"rope_parameters": {"partial_rotary_factor": 0}},
         "rope_parameters.partial_rotary_factor must be a finite positive number, got 0"),
        ("pythia-160m", {"rotary_emb_base": "1e4"}, 'rotary_emb_base must be a finite positive number, got "1e4"'),
        ("pythia-160m", {"rope_scaling": {"rope_type": "ntk", "factor": 2.0}}, 'rope_type "ntk" is not supported'),
        ("pythia-160m", {"model_type": "bert"},
         "supported families: gpt2, gpt_neox, llama, mistral, phi3, qwen2, qwen3"),
        ("qwen3-4b", {"attention_bias": True}, "attention_bias true is not supported for qwen3"),
        ("qwen3-4b", {"attention_bias": 1}, "attention_bias must be true or false"),
        ("qwen3-4b", {"head_dim": 0}, "head_dim must be at least 1, got 0"),
        ("qwen3-4b", {"hidden_act": "gelu"}, 'hidden_act "gelu" is not supported for qwen3'),
        ("llama-3.2-1b", {"rope_scaling": {"rope_type": "dynamic"}}, 'rope_scaling rope_type "dynamic" needs factor'),
        ("llama-3.2-1b", {"rope_scaling": {"rope_type": "dynamic", "factor": -2}},
         "rope_scaling.factor must be a finite positive number, got -2"),
        ("llama-3.2-1b", {"rope_scaling": {"rope_type": "ntk", "factor": 4.0}},
         'rope_scaling rope_type "ntk" is not supported (supported: llama3, linear, yarn, longrope, dynamic, or none)'),
        # yarn (Qwen2.5 / Qwen3's documented long-context block) and longrope on the Llama-like families
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "original_max_position_embeddings": 32768}},
         'rope_scaling rope_type "yarn" needs factor'),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": "4"}},
         'rope_scaling.factor must be a finite positive number, got "4"'),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 0}},
         "rope_scaling.original_max_position_embeddings must be an integer of at least 1, got 0"),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4e3}},
         "rope_scaling.original_max_position_embeddings must be an integer of at least 1, got 4000.0"),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": -1}},
         "rope_scaling.beta_fast must be a finite positive number, got -1"),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": 1, "beta_slow": 2}},
         "rope_scaling: beta_fast 1.0 must be at least beta_slow 2.0"),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "truncate": "false"}},
         'rope_scaling.truncate must be true or false, got "false"'),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "mscale": -0.5}},
         "rope_scaling.mscale must be a finite number of at least 0, got -0.5"),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "attention_factor": 0}},
         "rope_scaling.attention_factor must be a finite positive number, got 0"),
        ("qwen3-4b", {"rope_parameters": {"rope_type": "longrope", "rope_theta": 1e6, "long_factor": [1.0] * 64}},
         'rope_scaling rope_type "longrope" needs short_factor'),
        ("qwen3-4b", {"rope_scaling": {"rope_type": "longrope", "short_factor": [1.0] * 64, "long_factor": [1.0] * 32}},
         "rope_scaling long_factor has 32 entries, longrope needs one per rotated pair of a head's dimensions: 64"),
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
        # as longrope for phi3 too), with one factor per rotated pair of a head's 96 dims; transformers' Phi3Config
        # refuses every other rope_type
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": [1.0] * 48}},
         'rope_scaling rope_type "longrope" needs short_factor'),
        ("phi-3-mini-4k", {"rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0}},
         'rope_type "longrope" needs short_factor, long_factor'),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "su", "long_factor": [1.0] * 48, "short_factor": [1.0] * 47}},
         "rope_scaling short_factor has 47 entries, longrope needs one per rotated pair of a head's dimensions: 48 "
         "(head_dim 96 x rotary_fraction 1.0 / 2)"),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "yarn", "long_factor": [1.0] * 48, "short_factor": None}},
         "rope_scaling.short_factor must be a non-empty list of numbers, got null"),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": "1.0", "short_factor": [1.0] * 48}},
         'rope_scaling.long_factor must be a non-empty list of numbers, got "1.0"'),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": [1.0] * 47 + ["2"],
                                            "short_factor": [1.0] * 48}},
         'rope_scaling.long_factor[47] must be a finite positive number, got "2"'),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": [1.0] * 48, "short_factor": [0] * 48}},
         "rope_scaling.short_factor[0] must be a finite positive number, got 0"),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": [1.0] * 48, "short_factor": [1.0] * 48},
                           "original_max_position_embeddings": "4096"},
         'original_max_position_embeddings must be an integer, got "4096"'),
        ("phi-3-mini-4k", {"rope_scaling": {"type": "longrope", "long_factor": [1.0] * 48, "short_factor": [1.0] * 48,
                                            "attention_factor": -1.0}},
         "rope_scaling.attention_factor must be a finite positive number, got -1.0"),
        ("phi-3-mini-4k", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
         'rope_type "linear" is not supported for phi3 (supported: longrope, also written su or yarn, or none)'),
        ("phi-3-mini-4k", {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}},
         'rope_type "dynamic" is not supported for phi3'),
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


def test_phi35_mini_reads_its_longrope(tmp_path: Path) -> None:
    """Phi-3.5-mini-instruct's config.json (rope_scaling type longrope, 48 short and 48 long factors, no factor,
    original_max_position_embeddings 4096 at the top level, 131072 positions): a longrope scaling with
    transformers' derived factor 131072 / 4096 = 32, the factors as published, left out of nothing in its JSON,
    and the older names su and yarn (Phi3Config reads both as longrope) give the same spec."""
    cfg = json.loads((HF / "phi-3.5-mini" / "config.json").read_text())
    spec = model_spec_from_hf_config(HF / "phi-3.5-mini")
    scaling = spec.rope_scaling
    assert (scaling.kind, scaling.factor, scaling.original_max_position_embeddings) == ("longrope", 32.0, 4096)
    assert scaling.short_factor == tuple(cfg["rope_scaling"]["short_factor"]) and len(scaling.short_factor) == 48
    assert scaling.long_factor == tuple(cfg["rope_scaling"]["long_factor"]) and len(scaling.long_factor) == 48
    assert scaling.attention_factor is None and spec.max_seq_len == 131072 and spec.attention_window == 262144
    assert ModelSpec.from_json_text(spec.to_json()) == spec
    assert json.loads(spec.to_json())["rope_scaling"] == {
        "kind": "longrope", "factor": 32.0, "original_max_position_embeddings": 4096,
        "short_factor": cfg["rope_scaling"]["short_factor"], "long_factor": cfg["rope_scaling"]["long_factor"]}
    for name in ("su", "yarn"):
        old = _write(tmp_path, "phi-3.5-mini", rope_scaling={**cfg["rope_scaling"], "type": name})
        assert model_spec_from_hf_config(old) == spec
    # transformers 5's rope_parameters, rope_theta inside
    params = {**cfg["rope_scaling"], "rope_type": "longrope", "rope_theta": 10000.0}
    new = _write(tmp_path, "phi-3.5-mini", rope_scaling=None, rope_theta=None, rope_parameters=params)
    assert model_spec_from_hf_config(new) == spec


def test_phi3_longrope_context_is_the_top_level_key(tmp_path: Path) -> None:
    """Phi3Config's original_max_position_embeddings (top level, default 4096) is the one transformers uses: its
    standardize_rope_params writes it over one inside the rope parameters; an explicit factor is kept."""
    cfg = json.loads((HF / "phi-3.5-mini" / "config.json").read_text())
    inside = {**cfg["rope_scaling"], "original_max_position_embeddings": 8192}
    spec = model_spec_from_hf_config(_write(tmp_path, "phi-3.5-mini", rope_scaling=inside))
    assert spec.rope_scaling.original_max_position_embeddings == 4096
    bare = model_spec_from_hf_config(_write(tmp_path, "phi-3.5-mini", rope_scaling=inside,
                                            original_max_position_embeddings=None))
    assert bare.rope_scaling.original_max_position_embeddings == 4096       # Phi3Config's default
    other = model_spec_from_hf_config(_write(tmp_path, "phi-3.5-mini", original_max_position_embeddings=2048))
    assert (other.rope_scaling.original_max_position_embeddings, other.rope_scaling.factor) == (2048, 64.0)
    given = model_spec_from_hf_config(_write(tmp_path, "phi-3.5-mini", rope_scaling={
        **cfg["rope_scaling"], "factor": 8.0, "attention_factor": 1.25}))
    assert (given.rope_scaling.factor, given.rope_scaling.attention_factor) == (8.0, 1.25)


def test_qwen3_documented_yarn_block(tmp_path: Path) -> None:
    """Qwen3's model cards add {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768} for
    131,072 tokens: read as yarn with transformers' defaults (beta_fast 32, beta_slow 1, truncated, attention
    factor from factor), all left out of the JSON; the same from rope_parameters and from the older "type" key."""
    block = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    spec = model_spec_from_hf_config(_write(tmp_path, "qwen3-4b", rope_scaling=block))
    scaling = spec.rope_scaling
    assert (scaling.kind, scaling.factor, scaling.original_max_position_embeddings) == ("yarn", 4.0, 32768)
    assert (scaling.beta_fast, scaling.beta_slow, scaling.truncate, scaling.attention_factor) == (32, 1, True, None)
    assert json.loads(spec.to_json())["rope_scaling"] == {"kind": "yarn", "factor": 4.0,
                                                          "original_max_position_embeddings": 32768}
    plain = model_spec_from_hf_config(HF / "qwen3-4b")
    assert spec.model_copy(update={"rope_scaling": None}) == plain.model_copy(update={"name": spec.name})
    old = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    assert model_spec_from_hf_config(_write(tmp_path, "qwen3-4b", rope_scaling=old)) == spec
    cfg = json.loads((HF / "qwen3-4b" / "config.json").read_text())
    params = {**block, "rope_theta": cfg["rope_theta"]}
    new = _write(tmp_path, "qwen3-4b", rope_scaling=None, rope_theta=None, rope_parameters=params)
    assert model_spec_from_hf_config(new) == spec
    # without original_max_position_embeddings transformers' standardize_rope_params uses max_position_embeddings;
    # a null beta is its default (transformers' `or 32`)
    short = model_spec_from_hf_config(_write(tmp_path, "qwen3-4b", rope_scaling={
        "rope_type": "yarn", "factor": 2.0, "beta_fast": None, "truncate": False, "mscale": 1, "mscale_all_dim": 1}))
    assert short.rope_scaling.original_max_position_embeddings == cfg["max_position_embeddings"]
    assert (short.rope_scaling.beta_fast, short.rope_scaling.truncate, short.rope_scaling.mscale) == (32, False, 1.0)
    assert json.loads(short.to_json())["rope_scaling"] == {
        "kind": "yarn", "factor": 2.0, "original_max_position_embeddings": cfg["max_position_embeddings"],
        "mscale": 1.0, "mscale_all_dim": 1.0, "truncate": False}


def test_rope_scaling_fields_of_another_kind_are_refused() -> None:
    """A spec file (ModelSpec JSON) is validated as strictly: a field its kind does not read is refused, and a
    longrope needs both factor lists, one entry per rotated pair."""
    spec = json.loads(model_spec_from_hf_config(HF / "llama-3.2-1b").to_json())
    for change, message in (({"beta_fast": 16.0}, "beta_fast is not a field of rope scaling 'llama3'"),
                            ({"kind": "yarn", "low_freq_factor": 2.0},
                             "low_freq_factor is not a field of rope scaling 'yarn'"),
                            ({"kind": "longrope", "low_freq_factor": 1.0, "high_freq_factor": 4.0},
                             "rope scaling 'longrope' needs short_factor"),
                            ({"short_factor": [1.0] * 32}, "short_factor is not a field of rope scaling 'llama3'")):
        bad = {**spec, "rope_scaling": {**spec["rope_scaling"], **change}}
        with pytest.raises(ValueError, match=message):
            ModelSpec.from_json_text(json.dumps(bad))
