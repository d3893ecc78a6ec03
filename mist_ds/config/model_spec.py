"""ModelSpec: the architecture of a decoder-only transformer, with derived sizes and FLOPs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel

Family = Literal["gpt", "llama"]
NormKind = Literal["layernorm", "rmsnorm"]
ActivationKind = Literal["gelu", "swiglu"]
PositionKind = Literal["learned", "rope"]


class ModelSpec(StrictModel):
    """A GPT- or Llama-style decoder; every size the cost model and runtime need derives from it."""

    name: str = Field(min_length=1)
    """Preset name or a label for an imported config (used in reports and file names)."""
    family: Family
    """Block family: 'gpt' (pre-LN, GELU MLP) or 'llama' (RMSNorm, SwiGLU, RoPE, GQA)."""
    num_layers: int = Field(ge=1)
    """Number of transformer blocks."""
    hidden_size: int = Field(ge=1)
    """Model width h."""
    num_heads: int = Field(ge=1)
    """Number of query attention heads."""
    num_kv_heads: int = Field(ge=1)
    """Number of key/value heads (== num_heads without grouped-query attention)."""
    ffn_hidden_size: int = Field(ge=1)
    """Inner width of the MLP (per gate/up projection for SwiGLU)."""
    vocab_size: int = Field(ge=1)
    """Vocabulary size of the embedding and LM head."""
    max_seq_len: int = Field(ge=1)
    """Longest sequence the model supports (size of learned position table, RoPE range)."""
    tie_embeddings: bool
    """True when the LM head reuses the input embedding matrix."""
    norm: NormKind
    """Normalisation layer kind."""
    activation: ActivationKind
    """MLP activation: 'gelu' (two matrices) or 'swiglu' (three matrices)."""
    position_embedding: PositionKind
    """Learned absolute positions or rotary embeddings."""
    rotary_fraction: float = Field(default=1.0, gt=0.0, le=1.0)
    """Fraction of each head's dimensions that RoPE rotates (GPT-NeoX: 0.25); ignored for learned positions."""
    rope_theta: float = Field(default=10000.0, gt=0.0)
    """RoPE base frequency."""
    linear_bias: bool
    """True when every linear layer has a bias (GPT-2, GPT-NeoX)."""
    qkv_bias: bool = False
    """True when only the q/k/v projections have biases (Qwen2); implied by linear_bias."""
    parallel_residual: bool = False
    """True when attention and MLP read the same input and are summed (GPT-NeoX), else sequential."""
    norm_eps: float = Field(default=1e-5, gt=0.0)
    """Epsilon of the normalisation layers."""

    @model_validator(mode="after")
    def _heads_divide_width(self) -> ModelSpec:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}"
            )
        return self

    @model_validator(mode="after")
    def _kv_heads_divide_heads(self) -> ModelSpec:
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads {self.num_heads} is not divisible by num_kv_heads {self.num_kv_heads}"
            )
        return self

    @classmethod
    def from_hf_config(cls, path: str | Path) -> ModelSpec:
        """Read a Hugging Face config.json (file or folder) offline; see mist_ds.config.hf_import."""
        from mist_ds.config.hf_import import model_spec_from_hf_config

        return model_spec_from_hf_config(path)

    # ----- derived sizes -------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        """Dimension of one attention head."""
        return self.hidden_size // self.num_heads

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
        """q, k, v, o projections (+ biases)."""
        h, kv = self.hidden_size, self.kv_dim
        weights = 2 * h * h + 2 * h * kv
        if self.linear_bias:
            return weights + 2 * h + 2 * kv
        return weights + (h + 2 * kv if self.qkv_bias else 0)

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

        Source: PaLM (Chowdhery et al. 2022), appendix B: 6N + 12*L*h*s, where N counts the
        parameters that take part in matmuls (blocks + LM head, not the embedding lookup);
        the same formula as nanoGPT's estimate_mfu.
        """
        matmul_params = self.num_layers * self.layer_params + self.vocab_size * self.hidden_size
        return 6.0 * matmul_params + 12.0 * self.num_layers * self.hidden_size * seq_len

    def padded_vocab_size(self, tp: int, multiple: int = 128) -> int:
        """Vocabulary padded so each of `tp` vocab-parallel shards is a multiple of `multiple`
        (Megatron-LM's --make-vocab-size-divisible-by rule)."""
        step = multiple * tp
        return -(-self.vocab_size // step) * step
