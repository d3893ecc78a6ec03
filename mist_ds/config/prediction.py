"""What the cost model predicts for a plan (stored inside Plan, printed by predict)."""

from __future__ import annotations

from pydantic import Field

from mist_ds.config.base import StrictModel


class MemoryBreakdown(StrictModel):
    """Per-GPU bytes of one stage at its peak, by kind."""

    weights_bytes: int = Field(ge=0)
    """16-bit parameters resident on the GPU (after sharding and offload)."""
    gradients_bytes: int = Field(ge=0)
    """Gradient buffers resident on the GPU (16-bit and DeepSpeed's fp32 partition)."""
    optimizer_states_bytes: int = Field(ge=0)
    """fp32 master weights and Adam moments resident on the GPU."""
    activations_bytes: int = Field(ge=0)
    """Saved activations of in-flight micro-batches plus the live layer's working set."""
    buffers_bytes: int = Field(ge=0)
    """Communication buckets, gathered ZeRO-3 parameters, logits, allocator allowance."""

    @property
    def total_bytes(self) -> int:
        """Sum of all kinds."""
        return (self.weights_bytes + self.gradients_bytes + self.optimizer_states_bytes
                + self.activations_bytes + self.buffers_bytes)


class TimeBreakdown(StrictModel):
    """Seconds one stage spends per iteration, by activity (overlapped parts counted as exposed)."""

    OMITTED_AT_DEFAULT = ("host_wait_s",)

    compute_s: float = Field(ge=0.0)
    """Forward + backward compute of all micro-batches."""
    recompute_s: float = Field(ge=0.0)
    """Extra forward compute spent recomputing activations."""
    tp_comm_s: float = Field(ge=0.0)
    """Tensor-parallel all-reduces (not overlapped)."""
    dp_comm_s: float = Field(ge=0.0)
    """Exposed data-parallel gradient reduction and ZeRO parameter gathers."""
    offload_s: float = Field(ge=0.0)
    """Exposed host<->device transfer time."""
    optimizer_s: float = Field(ge=0.0)
    """Optimizer step (GPU Adam and/or CPU Adam) left exposed."""
    pipeline_s: float = Field(ge=0.0)
    """Pipeline p2p and bubble time attributed to this stage."""
    host_wait_s: float | None = Field(default=None, ge=0.0)
    """Of the fields above (inside them, not added to them): seconds per iteration the GPU waits for the
    training thread's own work past what queued kernels hide: DeepSpeed's hooks, kernel launches,
    per-micro-batch and per-step bookkeeping (cost/host_overlap.py). Such a step follows the speed of the
    core that thread runs on. None: predicted before the field existed (left out of the JSON, so such a
    plan file is rewritten as it was)."""


class StagePrediction(StrictModel):
    """Predicted memory and time of one pipeline stage (per GPU of that stage)."""

    peak_memory_bytes: int = Field(ge=0)
    """Predicted peak GPU memory of this stage: live tensors at the peak plus the profile's allocator
    allowance (HardwareProfile.allocator_overhead_fraction, counted in buffers_bytes), so it targets
    torch.cuda.max_memory_allocated, which decides OOM under expandable segments (the allocator
    releases its cache before failing). Compared against the memory cap less the search's margin.
    Not max_memory_reserved: the allocator's holes above it (cost/reserved.py) are only reported
    (bench/accuracy/scoring.py)."""
    memory_breakdown: MemoryBreakdown
    """The peak split by kind."""
    time_breakdown: TimeBreakdown
    """Where this stage's iteration time goes."""
    cpu_memory_bytes: int = Field(ge=0)
    """Host memory this stage's offloaded state needs, per GPU."""
    microbatch_forward_s: float = Field(ge=0.0)
    """Steady-state forward of one micro-batch (the pipeline clock's forward box)."""
    microbatch_backward_s: float = Field(ge=0.0)
    """Steady-state backward of one micro-batch, recompute included (the clock's backward box)."""
    step_s: float = Field(ge=0.0)
    """Per-iteration work after the last backward: gradient reduction and optimizer step."""


class PlanPrediction(StrictModel):
    """Predicted iteration of the whole plan."""

    iteration_time_s: float = Field(gt=0.0)
    """Seconds per optimizer step."""
    throughput_tokens_per_s: float = Field(gt=0.0)
    """Tokens per second over the whole cluster."""
    mfu: float = Field(ge=0.0)
    """Model FLOPs utilisation against the profile's peak bf16 rate (no recompute credit)."""
    stages: tuple[StagePrediction, ...]
    """Per-stage predictions, in pipeline order."""
    hardware_name: str
    """Hardware profile the prediction used."""
    p2p_s: float = Field(default=0.0, ge=0.0)
    """One stage-boundary activation (or gradient) transfer of one micro-batch, seconds (the slowest)."""
    tied_sync_s: float | None = Field(default=None, ge=0.0)
    """All-reduce of tied embedding gradients between the first and last stage; None: no such sync."""
