"""ModelSpec: the architecture of a decoder-only transformer, with derived sizes and FLOPs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_serializer, model_validator

from mist_ds.config.base import StrictModel

Family = Literal["gpt", "llama"]
NormKind = Literal["layernorm", "rmsnorm"]
ActivationKind = Literal["gelu", "swiglu"]
GeluForm = Literal["tanh", "none"]
PositionKind = Literal["learned", "rope"]

# Size caps: each is far above every published dense transformer, and each keeps the work and the
# memory of a search bounded (the search evaluates every (stage, layer count, recompute count) of a
# layout, so its work grows with the square of the layer count and more; the sizes enter float64
# byte and FLOP counts, which stay exact below 2**53).
MAX_LAYERS = 256
"""Transformer blocks. Deepest published LLMs: PaLM-540B 118, Llama-3.1-405B 126, Megatron-1T 128;
2x headroom. The exact pipeline partition's work grows faster than the square of the layer count:
measured on 2 CPU cores, 64 8-GPU nodes, micro-batch 1: 128 layers 3 s, 256 layers 9 s, 512 layers
150 s (and 2,000 layers ran out of memory)."""
MAX_HIDDEN = 2**17
"""Model width. Widest published: PaLM-540B 18,432, MT-NLG-530B 20,480; 6x headroom."""
MAX_FFN = 2**19
"""MLP inner width. Widest published: PaLM-540B 73,728; 7x headroom."""
MAX_VOCAB = 2**22
"""Vocabulary. Largest published: Gemma 256,000 (PaLM 256K); 16x headroom."""
MAX_SEQ_LEN = 2**24
"""Context length (16,777,216 tokens). Longest published: Llama-4-Scout's 10M."""


RopeScalingKind = Literal["llama3", "linear", "yarn", "longrope"]
MAX_ROPE_FACTORS = MAX_HIDDEN // 2
"""Entries of longrope's short_factor / long_factor: one per rotated pair of a head's dimensions, so at most
head_dim / 2 (head_dim is capped at MAX_HIDDEN); ModelSpec checks the exact count, rotary dims / 2."""

# RopeScaling's fields that only some kinds read: each must hold its default under any other kind (so leaving it
# out of the JSON there loses nothing)
_ROPE_FIELDS_OF = {"low_freq_factor": ("llama3", "linear"), "high_freq_factor": ("llama3", "linear"),
                   "attention_factor": ("yarn", "longrope"), "beta_fast": ("yarn",), "beta_slow": ("yarn",),
                   "mscale": ("yarn",), "mscale_all_dim": ("yarn",), "truncate": ("yarn",),
                   "short_factor": ("longrope",), "long_factor": ("longrope",)}


class RopeScaling(StrictModel):
    """RoPE frequency scaling of a Hugging Face config (rope_scaling, or transformers 5's rope_parameters): the
    inverse frequencies the runtime rotates by and the factor its cos / sin tables are multiplied by
    (runtime/kernels.py rope_inv_freq, rope_attention_factor; transformers' modeling_rope_utils). It moves no FLOP
    or byte, so the cost model ignores it. The fields of yarn and longrope are left out of the JSON at their
    defaults, and llama3's low/high_freq_factor under yarn and longrope: a llama3 or linear scaling writes the
    JSON it wrote before they existed."""

    kind: RopeScalingKind
    """rope_type: 'llama3' (Llama 3.1 / 3.2: long wavelengths divided by factor, a smooth ramp between),
    'linear' (every inverse frequency divided by factor, i.e. positions / factor), 'yarn' (YaRN: NTK-by-parts
    between divided and kept frequencies, cos / sin times attention_factor) or 'longrope' (LongRoPE, Phi-3 /
    Phi-3.5 / Phi-4-mini: each inverse frequency divided by its own short_factor or long_factor entry, by the
    sequence length, cos / sin times attention_factor)."""
    factor: float = Field(gt=0.0, allow_inf_nan=False)
    """Scale of the inverse frequencies it divides (llama3, linear, yarn); longrope: the context extension
    max_position_embeddings / original_max_position_embeddings where config.json gives none (transformers'
    _compute_longrope_parameters), used only for the default attention_factor."""
    low_freq_factor: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    """llama3: wavelengths above original_max_position_embeddings / this are divided by factor."""
    high_freq_factor: float = Field(default=4.0, gt=0.0, allow_inf_nan=False)
    """llama3: wavelengths below original_max_position_embeddings / this are kept."""
    original_max_position_embeddings: int = Field(default=8192, ge=1)
    """llama3, yarn, longrope: the context the model was pretrained at, which the wavelengths (llama3), the
    correction range (yarn) or the sequence length (longrope) are compared with."""
    attention_factor: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    """yarn, longrope: the factor cos and sin are multiplied by; None (the default): transformers' own, from
    factor (yarn: 0.1 ln(factor) + 1, or the mscale / mscale_all_dim ratio; longrope:
    sqrt(1 + ln(factor) / ln(original_max_position_embeddings)), 1 for a factor of at most 1)."""
    beta_fast: float = Field(default=32.0, gt=0.0, allow_inf_nan=False)
    """yarn: rotations over the original context below which a dimension is fully interpolated (divided by
    factor): the low end of the correction range."""
    beta_slow: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    """yarn: rotations over the original context above which a dimension is kept (extrapolated): the high end of
    the correction range."""
    mscale: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    """yarn: with mscale_all_dim (both non-zero) and no attention_factor, the attention factor is
    (0.1 mscale ln(factor) + 1) / (0.1 mscale_all_dim ln(factor) + 1) (DeepSeek's); else ignored."""
    mscale_all_dim: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    """yarn: see mscale."""
    truncate: bool = True
    """yarn: the correction range's bounds rounded outwards to whole dimensions (floor / ceil), transformers'
    default; false (gpt-oss) keeps them fractional."""
    short_factor: tuple[float, ...] | None = Field(default=None, min_length=1, max_length=MAX_ROPE_FACTORS)
    """longrope: the divisor of each inverse frequency (rotary dims / 2 entries) for sequences of at most
    original_max_position_embeddings tokens."""
    long_factor: tuple[float, ...] | None = Field(default=None, min_length=1, max_length=MAX_ROPE_FACTORS)
    """longrope: the divisor of each inverse frequency for sequences longer than original_max_position_embeddings
    (transformers' dynamic_rope_update: seq_len > original_max_position_embeddings)."""

    OMITTED_AT_DEFAULT = ("attention_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "truncate",
                          "short_factor", "long_factor")

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler):
        """StrictModel's omission, and llama3's low/high_freq_factor under yarn and longrope (held at their
        defaults there: _fields_of_its_kind)."""
        data = handler(self)
        for name in self.OMITTED_AT_DEFAULT + ("low_freq_factor", "high_freq_factor"):
            if (name in self.OMITTED_AT_DEFAULT or self.kind not in _ROPE_FIELDS_OF[name]) and \
                    getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name, None)
        return data

    @model_validator(mode="after")
    def _ramp_has_width(self) -> RopeScaling:
        if self.kind == "llama3" and self.high_freq_factor <= self.low_freq_factor:
            raise ValueError(f"high_freq_factor {self.high_freq_factor} must exceed low_freq_factor "
                             f"{self.low_freq_factor}")
        return self

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> RopeScaling:
        for name, kinds in _ROPE_FIELDS_OF.items():
            if self.kind not in kinds and getattr(self, name) != type(self).model_fields[name].default:
                raise ValueError(f"{name} is not a field of rope scaling '{self.kind}' (only {', '.join(kinds)})")
        if self.kind == "longrope":
            for name in ("short_factor", "long_factor"):
                values = getattr(self, name)
                if values is None:
                    raise ValueError(f"rope scaling 'longrope' needs {name}")
                if not all(math.isfinite(v) and v > 0 for v in values):
                    raise ValueError(f"{name} entries must be finite positive numbers")
        if self.kind == "yarn" and self.beta_fast < self.beta_slow:
            raise ValueError(f"beta_fast {self.beta_fast} must be at least beta_slow {self.beta_slow}")
        return self


class ModelSpec(StrictModel):
    """A GPT- or Llama-style decoder; every size the cost model and runtime need derives from it."""

    name: str = Field(min_length=1, max_length=256)
    """Preset name or a label for an imported config (used in reports and file names)."""
    family: Family
    """Block family: 'gpt' (pre-LN, GELU MLP) or 'llama' (RMSNorm, SwiGLU, RoPE, GQA)."""
    num_layers: int = Field(ge=1, le=MAX_LAYERS)
    """Number of transformer blocks (at most MAX_LAYERS)."""
    hidden_size: int = Field(ge=1, le=MAX_HIDDEN)
    """Model width h (at most MAX_HIDDEN)."""
    num_heads: int = Field(ge=1, le=MAX_HIDDEN)
    """Number of query attention heads (divides hidden_size unless head_dim_override is given)."""
    num_kv_heads: int = Field(ge=1, le=MAX_HIDDEN)
    """Number of key/value heads, 1..num_heads and dividing it (== num_heads without grouped-query
    attention)."""
    ffn_hidden_size: int = Field(ge=1, le=MAX_FFN)
    """Inner width of the MLP (per gate/up projection for SwiGLU)."""
    vocab_size: int = Field(ge=1, le=MAX_VOCAB)
    """Vocabulary size of the embedding and LM head."""
    max_seq_len: int = Field(ge=1, le=MAX_SEQ_LEN)
    """Longest sequence the model supports (size of learned position table, RoPE range)."""
    tie_embeddings: bool
    """True when the LM head reuses the input embedding matrix."""
    norm: NormKind
    """Normalisation layer kind."""
    activation: ActivationKind
    """MLP activation: 'gelu' (two matrices) or 'swiglu' (three matrices)."""
    gelu_approximation: GeluForm = "tanh"
    """GELU's form (activation 'gelu'), torch's `approximate`: 'tanh' (GPT-2's gelu_new) or 'none', the
    exact erf GELU (GPT-NeoX / Pythia's 'gelu'). The same kernel passes either way (cost/layer_time.py)."""
    position_embedding: PositionKind
    """Learned absolute positions or rotary embeddings."""
    rotary_fraction: float = Field(default=1.0, gt=0.0, le=1.0, allow_inf_nan=False)
    """Fraction of each head's dimensions that RoPE rotates (GPT-NeoX's rotary_pct 0.25, Phi-3's
    partial_rotary_factor): the first 2 * int(head_dim * fraction // 2) dims of each head, the rest passed
    through (runtime/blocks.py rotary_dims); ignored for learned positions."""
    rope_theta: float = Field(default=10000.0, gt=0.0, allow_inf_nan=False)
    """RoPE base frequency."""
    rope_scaling: RopeScaling | None = None
    """RoPE frequency scaling (RopeScaling); None (the default, left out of the JSON): the plain frequencies."""
    linear_bias: bool
    """True when every linear layer has a bias (GPT-2, GPT-NeoX)."""
    qkv_bias: bool = False
    """True when only the q/k/v projections have biases (Qwen2); implied by linear_bias."""
    parallel_residual: bool = False
    """True when attention and MLP read the same input and are summed (GPT-NeoX), else sequential."""
    norm_eps: float = Field(default=1e-5, gt=0.0, allow_inf_nan=False)
    """Epsilon of the normalisation layers."""
    attention_window: int | None = Field(default=None, ge=1, le=MAX_SEQ_LEN)
    """Sliding-window attention span in tokens (Mistral's and Phi-3's config.json sliding_window), None for full
    causal attention. transformers lets a query see the keys with kv_idx > q_idx - window (masking_utils
    sliding_window_overlay; flash-attn's window_size (window - 1, window - 1)): itself and window - 1 earlier
    tokens, so a sequence of at most `window` tokens is full causal attention (Phi-3-mini-4k's 2047: up to 2047).
    The runtime computes full causal attention, the same function while a sequence fits in the window: longer
    sequences are refused (check_seq_len)."""

    head_dim_override: int | None = Field(default=None, ge=1, le=MAX_HIDDEN)
    """Dimension of one attention head where it is not hidden_size / num_heads (Hugging Face config.json
    `head_dim`: Qwen3-0.6B has hidden 1024, 16 heads of 128; Mistral-Nemo hidden 5120, 32 heads of 128): q and
    the attention output are then num_heads x head_dim wide (ModelSpec.q_dim), k and v num_kv_heads x
    head_dim. None (the default, left out of the JSON): hidden_size // num_heads."""

    qk_norm: bool = False
    """True when q and k are RMS-normalised per head over head_dim after their projections and before RoPE,
    each with its own weight of head_dim elements and epsilon norm_eps (Qwen3's q_norm / k_norm; transformers'
    Qwen3Attention). The weights are replicated on every TP rank, their gradient summed over the TP group."""

    OMITTED_AT_DEFAULT = ("attention_window", "gelu_approximation", "head_dim_override", "qk_norm", "rope_scaling")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> ModelSpec:
        if self.head_dim_override is None and self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}"
            )
        return self

    @model_validator(mode="after")
    def _attention_width_capped(self) -> ModelSpec:
        if self.q_dim > MAX_HIDDEN:
            raise ValueError(f"attention width num_heads {self.num_heads} x head_dim {self.head_dim} = "
                             f"{self.q_dim} exceeds {MAX_HIDDEN}")
        return self

    @model_validator(mode="after")
    def _longrope_factors_fit(self) -> ModelSpec:
        scaling = self.rope_scaling
        if scaling is not None and scaling.kind == "longrope":
            pairs = int(self.head_dim * self.rotary_fraction // 2)   # runtime/blocks.py rotary_dims / 2
            for name in ("short_factor", "long_factor"):
                count = len(getattr(scaling, name))
                if count != pairs:
                    raise ValueError(f"rope_scaling {name} has {count} entries, longrope needs one per rotated pair "
                                     f"of a head's dimensions: {pairs} (head_dim {self.head_dim} x rotary_fraction "
                                     f"{self.rotary_fraction} / 2)")
        return self

    @model_validator(mode="after")
    def _kv_heads_divide_heads(self) -> ModelSpec:
        if self.num_kv_heads > self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads {self.num_kv_heads} must divide num_heads {self.num_heads} "
                             "(grouped-query attention shares each key/value head among whole groups)")
        return self

    def check_seq_len(self, seq_len: int) -> None:
        """One-line ValueError when this model cannot train sequences of `seq_len` tokens."""
        if seq_len > self.max_seq_len:
            raise ValueError(f"seq_len {seq_len} exceeds {self.name}'s max_seq_len {self.max_seq_len}")
        if self.attention_window is not None and seq_len > self.attention_window:
            raise ValueError(
                f"seq_len {seq_len} exceeds {self.name}'s sliding attention window of {self.attention_window} "
                "tokens: mist_ds trains full causal attention, which is that model only for sequences up to "
                f"the window; use a seq_len of at most {self.attention_window}")

    @classmethod
    def from_hf_config(cls, path: str | Path) -> ModelSpec:
        """Read a Hugging Face config.json (file or folder) offline; one-line ValueError on bad input.

        mist_ds.config.hf_import reads the JSON into ModelSpec fields and knows nothing of this class
        (imported here, not at module level, so neither module imports the other at import time)."""
        from mist_ds.config.hf_import import read_hf_fields

        fields, origin, key_of = read_hf_fields(path)
        try:
            return cls.model_validate(fields)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            msg = first["msg"].removeprefix("Value error, ")
            where = f"{key_of.get(field, field)}: " if field else ""
            raise ValueError(f"{origin}: {where}{msg}") from None

    # ----- derived sizes -------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        """Dimension of one attention head: head_dim_override, else hidden_size // num_heads."""
        if self.head_dim_override is not None:
            return self.head_dim_override
        return self.hidden_size // self.num_heads

    @property
    def q_dim(self) -> int:
        """Width of the Q projection output and of the attention output (the o-projection's input):
        num_heads * head_dim (hidden_size unless head_dim_override decouples them)."""
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of the K (or V) projection output: num_kv_heads * head_dim."""
        return self.num_kv_heads * self.head_dim

    @property
    def norm_params(self) -> int:
        """Parameters of one norm layer: weight+bias for LayerNorm, weight for RMSNorm."""
        return 2 * self.hidden_size if self.norm == "layernorm" else self.hidden_size

    @property
    def attention_params(self) -> int:
        """q, k, v projections (h -> q_dim, kv_dim, kv_dim) and o (q_dim -> h), + biases, + the q/k norms'
        weights (qk_norm: head_dim each)."""
        h, q, kv = self.hidden_size, self.q_dim, self.kv_dim
        weights = 2 * h * q + 2 * h * kv + self.qk_norm_params
        if self.linear_bias:
            return weights + q + h + 2 * kv
        return weights + (q + 2 * kv if self.qkv_bias else 0)

    @property
    def qk_norm_params(self) -> int:
        """Weights of the per-head q and k RMSNorms (qk_norm): head_dim each, 0 without them."""
        return 2 * self.head_dim if self.qk_norm else 0

    @property
    def mlp_params(self) -> int:
        """MLP matrices (2 for GELU, 3 for SwiGLU) and their biases."""
        h, f = self.hidden_size, self.ffn_hidden_size
        if self.activation == "swiglu":
            return 3 * h * f + ((2 * f + h) if self.linear_bias else 0)
        return 2 * h * f + ((f + h) if self.linear_bias else 0)

    @property
    def layer_params(self) -> int:
        """Parameters of one transformer block (attention, MLP, two norms)."""
        return self.attention_params + self.mlp_params + 2 * self.norm_params

    @property
    def embedding_params(self) -> int:
        """Token embedding plus learned position table (first pipeline stage)."""
        positions = self.max_seq_len * self.hidden_size if self.position_embedding == "learned" else 0
        return self.vocab_size * self.hidden_size + positions

    @property
    def head_params(self) -> int:
        """Final norm plus untied LM head (last pipeline stage)."""
        lm_head = 0 if self.tie_embeddings else self.vocab_size * self.hidden_size
        return self.norm_params + lm_head

    @property
    def num_params(self) -> int:
        """Total parameter count (tied embeddings counted once)."""
        return self.num_layers * self.layer_params + self.embedding_params + self.head_params

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token (forward + backward, no recompute).

        Source: PaLM (Chowdhery et al. 2022), appendix B: 6N + 12*L*H*Q*T, where N counts the
        parameters that take part in matmuls (blocks + LM head, not the embedding lookup) and H*Q
        is heads x head dimension, the attention width (q_dim; hidden_size unless head_dim_override
        decouples them), T the sequence length; nanoGPT's estimate_mfu writes the same with H*Q = h.
        """
        matmul_params = self.num_layers * self.layer_params + self.vocab_size * self.hidden_size
        return 6.0 * matmul_params + 12.0 * self.num_layers * self.q_dim * seq_len

    def padded_vocab_size(self, tp: int, multiple: int = 128) -> int:
        """Vocabulary padded so each of `tp` vocab-parallel shards is a multiple of `multiple`
        (Megatron-LM's --make-vocab-size-divisible-by rule)."""
        step = multiple * tp
        return -(-self.vocab_size // step) * step
