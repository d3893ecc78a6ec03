"""TuneRequest: what the user asks mist_ds to optimise."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel
from mist_ds.config.cluster import MAX_GPUS, MAX_GPUS_PER_NODE, ClusterSpec
from mist_ds.config.model_spec import MAX_SEQ_LEN, ModelSpec

DType = Literal["bf16", "fp16"]
ZeroStage = Literal[0, 1, 2, 3]

# Caps that keep every request's work bounded (the search enumerates the divisors of the batch as
# micro-batch sizes). Published global batches are at most ~16M tokens (e.g. 4,096 x 4,096;
# Llama-3-405B: 2,048 x 8,192), i.e. under 2**14 sequences of >= 1K tokens: 2**20 sequences leaves
# 64x headroom even for short-sequence batches (BERT's LAMB: 65,536 x 128).
MAX_GLOBAL_BATCH = 2**20
# 1 PiB: no accelerator has more than ~0.3 TB; keeps byte counts far inside float64's exact range.
MAX_MEMORY_CAP_BYTES = 2**50


class SearchSpace(StrictModel):
    """Switches that shrink the search space (all on by default)."""

    pipeline: bool = True
    """Allow pipeline parallelism (more than one stage)."""
    max_pp: int | None = Field(default=None, ge=1, le=MAX_GPUS)
    """Upper bound on pipeline stages; None = no bound beyond the GPU count."""
    tensor_parallel: bool = True
    """Allow tensor parallelism."""
    max_tp: int = Field(default=8, ge=1, le=MAX_GPUS_PER_NODE)
    """Upper bound on the tensor-parallel degree (always kept inside one node)."""
    zero_stages: tuple[ZeroStage, ...] = (0, 1, 2, 3)
    """ZeRO stages the search may use."""
    offload_weights: bool = True
    """Allow offloading a fraction of the 16-bit weights to CPU memory."""
    offload_gradients: bool = True
    """Allow offloading a fraction of the gradients to CPU memory."""
    offload_optimizer: bool = True
    """Allow offloading a fraction of the optimizer states (CPU Adam) to CPU memory."""
    offload_activations: bool = True
    """Allow offloading a fraction of the saved activations to CPU memory."""
    recompute: bool = True
    """Allow activation recomputation (per-stage layer count)."""
    max_micro_batch: int = Field(default=64, ge=1, le=MAX_GLOBAL_BATCH)
    """Largest micro-batch size considered."""

    @model_validator(mode="after")
    def _some_zero_stage(self) -> SearchSpace:
        if not self.zero_stages:
            raise ValueError("zero_stages must name at least one ZeRO stage")
        return self

    @property
    def any_offload(self) -> bool:
        """True when any offload kind is allowed."""
        return any((self.offload_weights, self.offload_gradients,
                    self.offload_optimizer, self.offload_activations))


class TuneRequest(StrictModel):
    """A model, a cluster and a batch: the question mist_ds answers with a Plan."""

    model: ModelSpec
    """The model to train."""
    cluster: ClusterSpec
    """The GPUs to train it on."""
    global_batch_size: int = Field(ge=1, le=MAX_GLOBAL_BATCH)
    """Sequences per optimizer step (all data-parallel ranks, all accumulation steps)."""
    seq_len: int = Field(ge=1, le=MAX_SEQ_LEN)
    """Tokens per sequence."""
    dtype: DType = "bf16"
    """Compute / 16-bit weight dtype (master weights and Adam states are fp32)."""
    space: SearchSpace = SearchSpace()
    """Which optimisations the search may use."""
    gpu_memory_cap_bytes: int | None = Field(default=None, gt=0, le=MAX_MEMORY_CAP_BYTES)
    """Per-GPU memory budget; None uses the hardware profile's capacity."""

    @model_validator(mode="after")
    def _seq_fits_model(self) -> TuneRequest:
        if self.seq_len > self.model.max_seq_len:
            raise ValueError(
                f"seq_len {self.seq_len} exceeds {self.model.name}'s max_seq_len {self.model.max_seq_len}"
            )
        return self

    @property
    def tokens_per_step(self) -> int:
        """Tokens consumed by one optimizer step."""
        return self.global_batch_size * self.seq_len
