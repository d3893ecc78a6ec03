"""Read a Hugging Face `config.json` into ModelSpec fields, offline (no hub access, no transformers).

This module knows the HF key names and nothing of ModelSpec itself (no import of
mist_ds.config.model_spec at module level): `ModelSpec.from_hf_config` calls read_hf_fields and
validates the fields (sizes against ModelSpec's caps). Every value is type- and range-checked here,
naming the HF key: integers must be JSON integers ("4096" and 4096.0 are errors), floats finite,
flags booleans, head counts positive, key/value heads 1..heads and dividing them.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mist_ds.fileio import read_text_bounded

if TYPE_CHECKING:
    from mist_ds.config.model_spec import ModelSpec

_MISSING = object()
Fields = dict[str, Any]
KeyOf = dict[str, str]
"""ModelSpec field -> the HF key it came from (to name it in errors)."""


class _Config:
    """A config.json object with typed, range-checked reads whose errors name the key."""

    def __init__(self, cfg: dict[str, Any], origin: str) -> None:
        self.cfg, self.origin = cfg, origin

    def fail(self, key: str, message: str) -> ValueError:
        return ValueError(f"{self.origin}: {key} {message}")

    def get(self, key: str, default: Any = _MISSING) -> Any:
        value = self.cfg.get(key, default)
        if value is _MISSING:
            raise ValueError(f"{self.origin}: missing field '{key}' for model_type '{self.cfg['model_type']}'")
        return value

    def int(self, key: str, default: Any = _MISSING) -> int:
        """A JSON integer >= 1 (bools are not integers)."""
        value = self.get(key, default)
        if type(value) is not int:
            raise self.fail(key, f"must be an integer, got {_show(value)}")
        if value < 1:
            raise self.fail(key, f"must be at least 1, got {value}")
        return value

    def optional_int(self, key: str) -> int | None:
        """int(), where a missing key or null means 'not given'."""
        return None if self.cfg.get(key) is None else self.int(key)

    def float(self, key: str, default: float) -> float:
        """A finite JSON number > 0."""
        return self.positive(key, self.get(key, default))

    def positive(self, key: str, value: Any) -> float:
        """`value` (read from `key`, at the top level or inside another object) as a finite JSON number > 0."""
        if type(value) not in (int, float) or not math.isfinite(value) or value <= 0:
            raise self.fail(key, f"must be a finite positive number, got {_show(value)}")
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if type(value) is not bool:
            raise self.fail(key, f"must be true or false, got {_show(value)}")
        return value


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:40] + "..."


def _llama_like(c: _Config) -> tuple[Fields, KeyOf]:
    hidden, heads = c.int("hidden_size"), c.int("num_attention_heads")
    head_dim = _head_dim(c, hidden, heads)
    kv = c.optional_int("num_key_value_heads") or heads
    if kv > heads or heads % kv:
        raise c.fail("num_key_value_heads", f"{kv} must be between 1 and num_attention_heads {heads} "
                     "and divide it")
    act = c.get("hidden_act", "silu")
    if act != "silu":
        raise c.fail("hidden_act", f"{_show(act)} is not supported for {c.cfg['model_type']} (only \"silu\")")
    fields = dict(
        family="llama", num_layers=c.int("num_hidden_layers"), hidden_size=hidden, num_heads=heads,
        num_kv_heads=kv, ffn_hidden_size=c.int("intermediate_size"), vocab_size=c.int("vocab_size"),
        max_seq_len=c.int("max_position_embeddings", 4096),
        tie_embeddings=c.bool("tie_word_embeddings", False), norm="rmsnorm", activation="swiglu",
        position_embedding="rope", rope_theta=_rope_theta(c), rope_scaling=_rope_scaling(c), linear_bias=False,
        qkv_bias=c.cfg["model_type"] == "qwen2", norm_eps=c.float("rms_norm_eps", 1e-6),
        attention_window=_sliding_window(c), head_dim_override=head_dim,
    )
    return fields, {"num_layers": "num_hidden_layers", "num_heads": "num_attention_heads",
                    "num_kv_heads": "num_key_value_heads", "ffn_hidden_size": "intermediate_size",
                    "max_seq_len": "max_position_embeddings", "norm_eps": "rms_norm_eps",
                    "attention_window": "sliding_window", "head_dim_override": "head_dim",
                    "rope_scaling": "rope_scaling"}


def _head_dim(c: _Config, hidden: int, heads: int) -> int | None:
    """config.json's head_dim where it differs from hidden_size / num_attention_heads (transformers'
    Llama / Mistral / Qwen2 / Qwen3 / Phi3 attention: `getattr(config, "head_dim", hidden_size // num_heads)`),
    else None (ModelSpec.head_dim_override: the same spec as a config without the key)."""
    head_dim = c.optional_int("head_dim")
    if head_dim is None and hidden % heads:
        raise c.fail("num_attention_heads", f"{heads} does not divide hidden_size {hidden} and no head_dim is given")
    return None if head_dim in (None, hidden // heads) and not hidden % heads else head_dim


def _rope_parameters(c: _Config) -> dict[str, Any]:
    """The RoPE parameters as transformers 5 writes them (rope_parameters: rope_theta, rope_type and the
    scaling's keys), else as earlier versions did (rope_theta beside rope_scaling, null for none)."""
    key = "rope_parameters" if c.cfg.get("rope_parameters") is not None else "rope_scaling"
    params = c.cfg.get(key) or {}
    if not isinstance(params, dict):
        raise c.fail(key, f"must be an object or null, got {_show(params)}")
    if "rope_theta" in c.cfg and "rope_theta" not in params:
        params = {**params, "rope_theta": c.cfg["rope_theta"]}
    return params


def _rope_theta(c: _Config) -> float:
    return c.positive("rope_theta", _rope_parameters(c).get("rope_theta", 10000.0))


def _rope_type(c: _Config) -> Any:
    """The RoPE's rope_type ('type' in older configs), 'default' where none is named."""
    params = _rope_parameters(c)
    return params.get("rope_type", params.get("type", "default"))


# transformers' rope_type names of the RoPE scalings the runtime computes (ModelSpec.rope_scaling); 'default' is none
ROPE_SCALINGS = ("llama3", "linear", "yarn", "longrope")
# the keys of each, required then optional (transformers' _validate_<rope_type>_rope_parameters); the yarn and
# longrope original_max_position_embeddings is required there too, but standardize_rope_params fills it in first
ROPE_KEYS = {"llama3": (("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"), ()),
             "linear": (("factor",), ()),
             "yarn": (("factor",), ("original_max_position_embeddings", "attention_factor", "beta_fast", "beta_slow",
                                    "mscale", "mscale_all_dim", "truncate")),
             "longrope": (("short_factor", "long_factor"), ("original_max_position_embeddings", "attention_factor",
                                                             "factor"))}


def _rope_scaling(c: _Config) -> dict[str, Any] | None:
    """ModelSpec.rope_scaling fields from the config's RoPE parameters (_rope_parameters): None for the plain
    RoPE, and for 'dynamic' (dynamic NTK), which is the plain RoPE for every sequence mist_ds trains: transformers
    computes its base as theta x ((factor x seq_len / max_position_embeddings) - (factor - 1))^(d / (d - 2)) with
    seq_len raised to max_position_embeddings when shorter (_compute_dynamic_ntk_parameters), i.e. theta itself,
    and only a sequence past max_position_embeddings changes it (dynamic_rope_update), which ModelSpec.check_seq_len
    refuses; its factor must still be a positive number, as transformers validates it. A one-line error for any
    other name, or for a missing or malformed key.

    yarn and longrope read transformers' keys (modeling_rope_utils RopeParameters), each checked here and named
    in errors; a key transformers requires is required (yarn: factor; longrope: short_factor, long_factor), and
    where transformers fills one in, so does this: original_max_position_embeddings is the rope's own, else
    max_position_embeddings (standardize_rope_params' setdefault); a null yarn factor, or a longrope without
    one, is max_position_embeddings / original_max_position_embeddings (_compute_yarn_parameters,
    _compute_longrope_parameters); a null beta_fast / beta_slow its default 32 / 1 (their `or`)."""
    params = _rope_parameters(c)
    kind = _rope_type(c)
    if kind == "default":
        return None
    if kind == "dynamic":
        if "factor" not in params:
            raise c.fail("rope_scaling", 'rope_type "dynamic" needs factor')
        c.positive("rope_scaling.factor", params["factor"])
        return None
    if kind not in ROPE_SCALINGS:
        raise c.fail("rope_scaling", f"rope_type {_show(kind)} is not supported (supported: "
                                     f"{', '.join(ROPE_SCALINGS)}, dynamic, or none)")
    required, optional = ROPE_KEYS[kind]
    missing = [key for key in required if key not in params]
    if missing:
        raise c.fail("rope_scaling", f"rope_type {_show(kind)} needs {', '.join(missing)}")
    if kind in ("llama3", "linear"):   # ModelSpec's validation names rope_scaling.<field>
        return {"kind": kind, **{key: params[key] for key in required}}
    max_positions = c.int("max_position_embeddings", 4096)
    original = params.get("original_max_position_embeddings", max_positions)
    if type(original) is not int or original < 1:
        raise c.fail("rope_scaling.original_max_position_embeddings",
                     f"must be an integer of at least 1, got {_show(original)}")
    fields: dict[str, Any] = {"kind": kind, "original_max_position_embeddings": original}
    for key in (k for k in required + optional if k != "original_max_position_embeddings"):
        value = _rope_key(c, key, params.get(key))
        if value is not None:
            fields[key] = value
    fields.setdefault("factor", max_positions / fields["original_max_position_embeddings"])
    return fields


def _rope_key(c: _Config, key: str, value: Any) -> Any:
    """A yarn / longrope key's value, checked (errors name rope_scaling.<key>); None where it is null or absent
    (ModelSpec's default then; short_factor / long_factor may not be null)."""
    where = f"rope_scaling.{key}"
    if key in ("short_factor", "long_factor"):
        if not isinstance(value, list) or not value:
            raise c.fail(where, f"must be a non-empty list of numbers, got {_show(value)}")
        return tuple(c.positive(f"{where}[{i}]", v) for i, v in enumerate(value))
    if value is None:
        return None
    if key == "truncate":
        if type(value) is not bool:
            raise c.fail(where, f"must be true or false, got {_show(value)}")
        return value
    if key in ("mscale", "mscale_all_dim"):
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            raise c.fail(where, f"must be a finite number of at least 0, got {_show(value)}")
        return float(value)
    return c.positive(where, value)


def _sliding_window(c: _Config) -> int | None:
    """The attention window transformers applies: Mistral's sliding_window (null: none); Qwen2's and
    Qwen3's only under use_sliding_window, which their configs leave false (transformers' Qwen2Attention,
    Qwen3Config.layer_types)."""
    if c.cfg.get("use_sliding_window", c.cfg["model_type"] not in ("qwen2", "qwen3")) is False:
        return None
    return c.optional_int("sliding_window")


# transformers' Qwen3Config default head_dim (configuration_qwen3.py), used where config.json has none
QWEN3_HEAD_DIM = 128


def _qwen3(c: _Config) -> tuple[Fields, KeyOf]:
    """Qwen3 (transformers' modeling_qwen3.py): Qwen2's block without q/k/v biases (attention_bias, default
    false, would bias o too: refused), with per-head RMSNorms of q and k before RoPE (qk_norm) and a head_dim
    of its own (default 128)."""
    if c.bool("attention_bias", False):
        raise c.fail("attention_bias", "true is not supported for qwen3 (biases on q, k, v and o)")
    head_dim = c.int("head_dim", QWEN3_HEAD_DIM)
    fields, key_of = _llama_like(_Config({**c.cfg, "head_dim": head_dim}, c.origin))
    return {**fields, "qkv_bias": False, "qk_norm": True}, key_of


# transformers' Phi3Config defaults where config.json has no such key (configuration_phi3.py)
PHI3_DEFAULTS = {"rms_norm_eps": 1e-5, "max_position_embeddings": 4096, "tie_word_embeddings": False,
                 "original_max_position_embeddings": 4096}
# older rope_type names that transformers' Phi3Config reads as 'longrope' (convert_rope_params_to_dict)
PHI3_LONGROPE_NAMES = ("su", "yarn")


def _phi3(c: _Config) -> tuple[Fields, KeyOf]:
    """Phi-3, Phi-3.5 and Phi-4 (transformers' modeling_phi3.py, model_type "phi3"): Llama's block with q|k|v one
    linear (qkv_proj, rows q | k | v) and gate|up one (gate_up_proj, chunked into gate then up): the runtime's own
    fused layout. Differences from _llama_like's reading:

    - no biases anywhere (Phi3Attention, Phi3MLP): a config saying attention_bias true is refused;
    - sliding_window applies whenever it is not null (Phi3Model picks the sliding-window mask on
      `config.sliding_window is None` alone; no use_sliding_window), as transformers' masks apply it: a query
      sees keys with kv_idx > q_idx - sliding_window (masking_utils.sliding_window_overlay), itself and
      sliding_window - 1 earlier tokens, so a sequence of s tokens is full causal attention exactly when
      s <= sliding_window: Phi-3-mini-4k's 2047 up to 2047 tokens, which ModelSpec.check_seq_len allows, and
      windowed from 2048 on, which it refuses;
    - partial RoPE: partial_rotary_factor (in rope_parameters, else at the top level; default 1) rotates the
      first int(head_dim x factor) dims of each head (Phi3RotaryEmbedding, apply_rotary_pos_emb), as
      ModelSpec.rotary_fraction does; an odd count n is refused (transformers' inv_freq, arange(0, n, 2) / n,
      then rotates n + 1 dims, the runtime's rotary_dims n - 1);
    - RoPE scaling: transformers' Phi3Config takes only longrope, reading the older names su and yarn as longrope
      too (convert_rope_params_to_dict), and its original_max_position_embeddings is the top-level key (default
      4096), which standardize_rope_params writes over the rope's own: the RoPE parameters are rewritten so
      before _llama_like reads them (_rope_scaling); any other
      rope_type is refused in one line (transformers' Phi3Config.validate_rope refuses those);
    - rms_norm_eps defaults to 1e-5.
    Dropout keys (resid_pdrop, embd_pdrop, attention_dropout) are not read, as no other reader reads its
    family's: the runtime trains without dropout."""
    if "attention_bias" in c.cfg and c.bool("attention_bias", False):
        raise c.fail("attention_bias", "true is not supported for phi3 (transformers' Phi3 has no biases)")
    kind = _rope_type(c)
    if kind not in ("default", "longrope") + PHI3_LONGROPE_NAMES:
        raise c.fail("rope_scaling", f"rope_type {_show(kind)} is not supported for phi3 (supported: longrope, "
                                     "also written su or yarn, or none)")
    phi3 = _Config({**PHI3_DEFAULTS, **c.cfg}, c.origin)
    params = _rope_parameters(phi3)
    if kind != "default":   # Phi3Config.convert_rope_params_to_dict, standardize_rope_params
        params = {**params, "rope_type": "longrope",
                  "original_max_position_embeddings": phi3.int("original_max_position_embeddings")}
    fields, key_of = _llama_like(_Config({**phi3.cfg, "rope_parameters": params, "rope_scaling": None}, c.origin))
    key = "partial_rotary_factor"
    factor = c.positive(key, params.get(key, c.cfg.get(key, 1.0)))
    head_dim = fields["head_dim_override"] or fields["hidden_size"] // fields["num_heads"]
    if factor <= 1 and int(head_dim * factor) % 2:
        raise c.fail(key, f"{factor} rotates int(head_dim {head_dim} x {factor}) = {int(head_dim * factor)} "
                          "dims of each head: an odd count is not supported")
    window = c.optional_int("sliding_window")
    return ({**fields, "rotary_fraction": factor, "attention_window": window},
            {**key_of, "rotary_fraction": key})


# transformers' ACT2FN names of the GELUs the runtime computes, as torch's `approximate` (ModelSpec.gelu_approximation):
# gelu_new, gelu_pytorch_tanh and gelu_fast are the tanh approximation, 'gelu' the exact erf form.
GELU_FORMS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh", "gelu": "none"}


def _gelu_form(c: _Config, key: str, default: str) -> str:
    act = c.get(key, default)
    if act not in GELU_FORMS:
        raise c.fail(key, f"{_show(act)} is not supported for {c.cfg['model_type']} "
                          f"(only {', '.join(json.dumps(k) for k in GELU_FORMS)})")
    return GELU_FORMS[act]


def _gpt2(c: _Config) -> tuple[Fields, KeyOf]:
    hidden = c.int("n_embd")
    heads = c.int("n_head")
    fields = dict(
        family="gpt", num_layers=c.int("n_layer"), hidden_size=hidden, num_heads=heads,
        num_kv_heads=heads, ffn_hidden_size=c.optional_int("n_inner") or 4 * hidden,
        vocab_size=c.int("vocab_size"), max_seq_len=c.int("n_positions", 1024),
        tie_embeddings=c.bool("tie_word_embeddings", True), norm="layernorm", activation="gelu",
        gelu_approximation=_gelu_form(c, "activation_function", "gelu_new"),
        position_embedding="learned", linear_bias=True, norm_eps=c.float("layer_norm_epsilon", 1e-5),
    )
    return fields, {"num_layers": "n_layer", "hidden_size": "n_embd", "num_heads": "n_head",
                    "num_kv_heads": "n_head", "ffn_hidden_size": "n_inner", "max_seq_len": "n_positions",
                    "norm_eps": "layer_norm_epsilon"}


def _neox_rope(c: _Config) -> tuple[float, float, dict[str, Any] | None, KeyOf]:
    """(rope_theta, rotary_fraction, rope_scaling fields, field -> HF key) of a GPT-NeoX config as transformers'
    GPTNeoXConfig.convert_rope_params_to_dict reads it: the RoPE parameters are rope_scaling, else rope_parameters
    (transformers 5 writes its own configs so, with rope_theta and partial_rotary_factor inside), each defaulting to
    the top-level rotary_emb_base (10000) and rotary_pct (0.25) of the older configs (its setdefault); a scaling
    among them reads as _rope_scaling reads any other family's."""
    key = "rope_scaling" if c.cfg.get("rope_scaling") else "rope_parameters"
    params = c.cfg.get(key) or {}
    if not isinstance(params, dict):
        raise c.fail(key, f"must be an object or null, got {_show(params)}")
    key_of = {"rope_theta": "rotary_emb_base" if "rope_theta" not in params else f"{key}.rope_theta",
              "rotary_fraction": "rotary_pct" if "partial_rotary_factor" not in params
              else f"{key}.partial_rotary_factor"}
    theta = c.positive(key_of["rope_theta"], params.get("rope_theta", c.cfg.get("rotary_emb_base", 10000.0)))
    fraction = c.positive(key_of["rotary_fraction"],
                          params.get("partial_rotary_factor", c.cfg.get("rotary_pct", 0.25)))
    scaled = _Config({**c.cfg, "rope_parameters": {**params, "rope_theta": theta}, "rope_scaling": None}, c.origin)
    return theta, fraction, _rope_scaling(scaled), key_of


def _gpt_neox(c: _Config) -> tuple[Fields, KeyOf]:
    heads = c.int("num_attention_heads")
    theta, fraction, scaling, rope_keys = _neox_rope(c)
    fields = dict(
        family="gpt", num_layers=c.int("num_hidden_layers"), hidden_size=c.int("hidden_size"),
        num_heads=heads, num_kv_heads=heads, ffn_hidden_size=c.int("intermediate_size"),
        vocab_size=c.int("vocab_size"), max_seq_len=c.int("max_position_embeddings", 2048),
        tie_embeddings=c.bool("tie_word_embeddings", False), norm="layernorm", activation="gelu",
        gelu_approximation=_gelu_form(c, "hidden_act", "gelu"),
        position_embedding="rope", rotary_fraction=fraction, rope_theta=theta, rope_scaling=scaling, linear_bias=True,
        parallel_residual=c.bool("use_parallel_residual", True), norm_eps=c.float("layer_norm_eps", 1e-5),
    )
    return fields, {"num_layers": "num_hidden_layers", "num_heads": "num_attention_heads",
                    "num_kv_heads": "num_attention_heads", "ffn_hidden_size": "intermediate_size",
                    "max_seq_len": "max_position_embeddings", "norm_eps": "layer_norm_eps",
                    "rope_scaling": "rope_scaling", **rope_keys}


_READERS: dict[str, Callable[[_Config], tuple[Fields, KeyOf]]] = {
    "llama": _llama_like, "mistral": _llama_like, "qwen2": _llama_like, "qwen3": _qwen3, "phi3": _phi3,
    "gpt2": _gpt2, "gpt_neox": _gpt_neox,
}
SUPPORTED_MODEL_TYPES = tuple(sorted(_READERS))


def _load_json(path: Path) -> dict[str, Any]:
    text = read_text_bounded(path, "model config")
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err.msg} (line {err.lineno})") from None
    except (ValueError, RecursionError) as err:  # 5,000-digit integers, deeply nested arrays
        raise ValueError(f"{path} is not a usable JSON config: {str(err)[:80]}") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} is not a JSON object")
    return cfg


# A Hugging Face Hub model id: 'org/name' (what a user may paste instead of a downloaded folder).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def config_path(given: str | Path) -> Path:
    """The config.json that `given` names (the file, or a folder holding one), or a one-line
    ValueError saying what to pass instead (mist_ds reads configs offline, never from the Hub)."""
    path = Path(given)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ValueError(f"folder {path} holds no config.json (a downloaded Hugging Face model folder has one)")
        return path / "config.json"
    if not path.exists() and _HUB_ID.fullmatch(str(given)) and not str(given).endswith(".json"):
        raise ValueError(f"model '{given}' is neither a preset nor a local path: mist_ds reads config.json "
                         f"offline; download it first (`hf download {given} config.json --local-dir DIR`) "
                         "and pass DIR")
    return path


def _model_name(cfg: dict[str, Any], path: Path, kind: str) -> str:
    """config's _name_or_path, else 'org/name' of a Hub cache snapshot
    (.../models--org--name/snapshots/HASH/config.json), else the folder's name."""
    name = cfg.get("_name_or_path")
    if isinstance(name, str) and name.strip():
        return name.strip()[:256]
    parents = path.parent.parts
    if len(parents) >= 3 and parents[-2] == "snapshots" and parents[-3].startswith("models--"):
        return parents[-3].removeprefix("models--").replace("--", "/")[:256]
    return (path.parent.name or kind)[:256]


def read_hf_fields(path: str | Path) -> tuple[Fields, str, KeyOf]:
    """(ModelSpec fields, the file read, field -> HF key) from a Hugging Face config.json (a file,
    or a folder holding one). Raises one-line ValueErrors."""
    path = config_path(path)
    cfg = _load_json(path)
    kind = cfg.get("model_type")
    if not isinstance(kind, str) or kind not in _READERS:
        shown = f"'{kind}'" if isinstance(kind, str) else _show(kind)
        raise ValueError(f"{path}: model_type {shown} is not supported (supported families: "
                         f"{', '.join(SUPPORTED_MODEL_TYPES)})")
    fields, key_of = _READERS[kind](_Config(cfg, str(path)))
    fields["name"] = _model_name(cfg, path, kind)
    return fields, str(path), key_of


def model_spec_from_hf_config(path: str | Path) -> ModelSpec:
    """ModelSpec.from_hf_config(path), under the name mist_ds.config exports."""
    from mist_ds.config.model_spec import ModelSpec

    return ModelSpec.from_hf_config(path)
