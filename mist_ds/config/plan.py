"""Plan / StagePlan: how to train; the output of the search and the input of the runtime."""

from __future__ import annotations

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel
from mist_ds.config.cluster import ClusterSpec
from mist_ds.config.model_spec import ModelSpec
from mist_ds.config.prediction import PlanPrediction
from mist_ds.config.request import DType, ZeroStage

Ratio = Field(default=0.0, ge=0.0, le=1.0)


class StagePlan(StrictModel):
    """One pipeline stage: its layers, GPUs and memory/parallelism strategy."""

    layer_start: int = Field(ge=0)
    """First transformer block of the stage (inclusive)."""
    layer_end: int = Field(ge=1)
    """One past the last transformer block of the stage (exclusive)."""
    micro_batch_size: int = Field(ge=1)
    """Sequences per micro-batch per data-parallel rank."""
    dp: int = Field(ge=1)
    """Data-parallel degree inside the stage."""
    tp: int = Field(ge=1)
    """Tensor-parallel degree inside the stage."""
    zero_stage: ZeroStage
    """ZeRO stage of the stage's data-parallel group."""
    offload_weights_ratio: float = Ratio
    """Fraction of the 16-bit weights kept in CPU memory."""
    offload_gradients_ratio: float = Ratio
    """Fraction of the gradients kept in CPU memory."""
    offload_optimizer_ratio: float = Ratio
    """Fraction of the optimizer states (and their Adam step, on the CPU) kept in CPU memory."""
    offload_activations_ratio: float = Ratio
    """Fraction of saved activations kept in CPU memory."""
    num_recompute_layers: int = Field(default=0, ge=0)
    """How many of the stage's first layers recompute their activations in backward."""

    @model_validator(mode="after")
    def _layer_range_ordered(self) -> StagePlan:
        if self.layer_end <= self.layer_start:
            raise ValueError(f"empty layer range [{self.layer_start}, {self.layer_end})")
        if self.num_recompute_layers > self.num_layers:
            raise ValueError(
                f"num_recompute_layers {self.num_recompute_layers} exceeds the stage's "
                f"{self.num_layers} layers"
            )
        return self

    @property
    def num_layers(self) -> int:
        """Transformer blocks in the stage."""
        return self.layer_end - self.layer_start

    @property
    def num_gpus(self) -> int:
        """GPUs the stage occupies (dp x tp)."""
        return self.dp * self.tp


class Plan(StrictModel):
    """A complete training configuration with (optionally) its predicted cost."""

    model: ModelSpec
    """The model trained."""
    cluster: ClusterSpec
    """The cluster it runs on."""
    global_batch_size: int = Field(ge=1)
    """Sequences per optimizer step."""
    seq_len: int = Field(ge=1)
    """Tokens per sequence."""
    dtype: DType = "bf16"
    """Compute dtype."""
    grad_accum_steps: int = Field(ge=1)
    """Micro-batches per optimizer step (per pipeline, per data-parallel rank)."""
    stages: tuple[StagePlan, ...] = Field(min_length=1)
    """Pipeline stages in order (one stage = no pipelining)."""
    gpu_memory_cap_bytes: int | None = Field(default=None, gt=0)
    """Per-GPU memory cap the runtime enforces (emulates a smaller card); None = whole card."""
    prediction: PlanPrediction | None = None
    """Cost-model prediction, filled in by the search or by predict."""

    @model_validator(mode="after")
    def _stages_cover_model(self) -> Plan:
        expected = 0
        for index, stage in enumerate(self.stages):
            if stage.layer_start != expected:
                raise ValueError(
                    f"stage {index} starts at layer {stage.layer_start}, expected {expected}: "
                    "layer ranges must cover the model contiguously"
                )
            expected = stage.layer_end
        if expected != self.model.num_layers:
            raise ValueError(
                f"stages cover layers [0, {expected}) but {self.model.name} has "
                f"{self.model.num_layers} layers"
            )
        return self

    @model_validator(mode="after")
    def _batch_divides(self) -> Plan:
        for index, stage in enumerate(self.stages):
            per_step = stage.micro_batch_size * stage.dp * self.grad_accum_steps
            if per_step != self.global_batch_size:
                raise ValueError(
                    f"stage {index}: micro_batch {stage.micro_batch_size} x dp {stage.dp} x "
                    f"grad_accum {self.grad_accum_steps} = {per_step} != global batch "
                    f"{self.global_batch_size}"
                )
        return self

    @model_validator(mode="after")
    def _tp_divides_heads(self) -> Plan:
        for index, stage in enumerate(self.stages):
            if self.model.num_heads % stage.tp or self.model.num_kv_heads % stage.tp:
                raise ValueError(
                    f"stage {index}: tp {stage.tp} does not divide {self.model.num_heads} heads "
                    f"/ {self.model.num_kv_heads} kv heads"
                )
        return self

    @model_validator(mode="after")
    def _gpus_match_cluster(self) -> Plan:
        used = sum(stage.num_gpus for stage in self.stages)
        if used != self.cluster.num_gpus:
            raise ValueError(f"stages use {used} GPUs but the cluster has {self.cluster.num_gpus}")
        return self

    @property
    def num_stages(self) -> int:
        """Pipeline depth."""
        return len(self.stages)

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step."""
        return self.global_batch_size * self.seq_len

    def without_prediction(self) -> Plan:
        """The same plan with its prediction removed (what the runtime hashes)."""
        return self.model_copy(update={"prediction": None})
