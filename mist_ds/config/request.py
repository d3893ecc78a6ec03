"""TuneRequest: what the user asks mist_ds to optimise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel
from mist_ds.config.executors import ExecutorName
from mist_ds.config.cluster import MAX_GPUS, MAX_GPUS_PER_NODE, ClusterSpec
from mist_ds.config.hardware import HardwareProfile
from mist_ds.config.model_spec import MAX_SEQ_LEN, ModelSpec
from mist_ds.config.units import GIB

DType = Literal["bf16", "fp16"]
ZeroStage = Literal[0, 1, 2, 3]

# Caps that keep every request's work bounded (the search enumerates the divisors of the batch as
# micro-batch sizes). Published global batches are at most ~16M tokens (e.g. 4,096 x 4,096;
# Llama-3-405B: 2,048 x 8,192), i.e. under 2**14 sequences of >= 1K tokens: 2**20 sequences leaves
# 64x headroom even for short-sequence batches (BERT's LAMB: 65,536 x 128).
MAX_GLOBAL_BATCH = 2**20
# 1 PiB: no accelerator has more than ~0.3 TB; keeps byte counts far inside float64's exact range.
MAX_MEMORY_CAP_BYTES = 2**50
# Host memory per node: the largest single-node servers hold a few tens of TiB; 1 PiB bounds the input.
MAX_HOST_MEMORY_BYTES = 2**50
# CPU cores per node: the largest servers have under 2,000 hardware threads.
MAX_CPU_CORES = 2**16
# Host memory kept free per GPU process of a plan that offloads (the --host-memory-margin default).
# Measured: in bench/results/accuracy.json (the committed GPU runs, re-predicted by the current cost
# model, whose host prediction includes the process base: cost/host_memory.py), a rank's peak RSS
# exceeds its predicted host bytes by at most 1.40 GiB (Qwen2-7B's 1-GPU stock winner at 78 GiB, ZeRO-3 with the
# optimizer offloaded, auto-qw7b-1g-c78-s4096-b16-ds). 1.63 GiB in session 41 (Qwen3-4B, weights offloaded and the
# optimizer on the GPU: the write-back's pageable fp32 temporary, priced since session 42, cost/host_memory.py), for
# which the default was 2 GiB in session 41; 1.8 GiB before session 27 priced the pinned blocks DeepSpeed leaves in
# torch's host cache (cost/shapes.py zero3_sub_groups). 1.5 GiB covers the largest.
# tests/search/test_host_limits.py recomputes it from that file.
DEFAULT_HOST_MEMORY_MARGIN_BYTES = 3 * GIB // 2
# Share of a node's host memory a plan that offloads must leave free (the --host-memory-free default).
# Measured: in bench/results/accuracy.json the four runs whose node's MemAvailable fell to 1.4-19.0 GiB
# (of 251.8; llama-13b on 2x H200, ZeRO-3 with offload, stock and mistpipe) ran 38-48% slower than
# predicted, while every run that kept 71.6 GiB or more free was within the usual error: the kernel's
# reclaim and the eviction of the processes' file-backed pages cost throughput long before memory runs
# out. In the model's own terms (offloaded state + margin per rank, over the profile's host memory) those
# slow runs needed 89.4-99.5%, the fullest good run 76.3% (llama3-8b on 2 GPUs at a 40 GiB cap, ZeRO-3 with
# weights and optimizer offloaded; 28% stayed free); 20% free keeps every good run and rejects every slow
# one. tests/search/test_host_limits.py recomputes both bounds.
DEFAULT_HOST_MEMORY_FREE_FRACTION = 0.2


class SearchSpace(StrictModel):
    """Switches that shrink the search space (all on by default)."""

    OMITTED_AT_DEFAULT = ("fused_head_loss",)

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
    executors: tuple[ExecutorName, ...] = ("deepspeed", "mistpipe")
    """Engines the search may propose (config/executors.py): stock DeepSpeed and mist_ds's own pipeline
    engine ('mistpipe': per-stage ZeRO/offload), whose search winners ran 1.10-1.69x stock DeepSpeed's in
    the same call on four H200 workloads (one earlier loss, 0.73x, came from a plan the model then
    mispredicted by 36%: bench/results/engine/README.md). A mistpipe plan wins only when predicted more
    than the model's time error (or its kind's, when larger: the shipped track record) faster than every
    stock plan ranked (mist_ds/api.py honest_order, time_tolerance).
    ("deepspeed",) is the stock-only search (autotune --executors deepspeed). mistpipe trains in bf16
    only: an fp16 request searches stock DeepSpeed alone."""
    fused_head_loss: bool = True
    """The search weighs, for every mistpipe layout, computing the LM head and its cross-entropy in one chunked
    pass without the logit matrix (Plan.head_loss 'fused'; priced by cost/mistpipe.py _fused_working and
    layer_time.fused_head_s) against the logits path, and keeps whichever is predicted faster where it fits
    (search/driver.py head_loss_passes; autotune --no-fused-head-loss: the logits path only). On by default since
    session 60: two GPU A/Bs on one H100 (bench/results/engine/fused_head_loss_S59/) trained the same losses
    (within 0.0015 over 5 steps), 0.4-0.55% slower per step where memory did not bind, and the Llama 3.2 3B plan
    whose peak was the head's backward allocated 0.81 GiB less (22.82 -> 22.01 GiB; predicted 0.53 less). Left out
    of the JSON at its default (requests written before session 60, where it was off by default and omitted,
    now read as on)."""

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
    host_memory_bytes: int | None = Field(default=None, gt=0, le=MAX_HOST_MEMORY_BYTES)
    """CPU memory of one node; None uses the hardware profile's (the node it was measured on)."""
    host_cpu_cores: int | None = Field(default=None, ge=1, le=MAX_CPU_CORES)
    """CPU cores of one node (shared by its ranks' CPU Adam threads); None uses the profile's."""
    host_memory_margin_bytes: int = Field(default=DEFAULT_HOST_MEMORY_MARGIN_BYTES, ge=0,
                                          le=MAX_HOST_MEMORY_BYTES)
    """Host memory kept free per GPU process of a plan that offloads, beyond its predicted offloaded
    state (DEFAULT_HOST_MEMORY_MARGIN_BYTES: measured)."""
    host_memory_free_fraction: float = Field(default=DEFAULT_HOST_MEMORY_FREE_FRACTION, ge=0.0, le=0.9)
    """Share of a node's host memory a plan that offloads leaves free, for the OS and the processes'
    file-backed pages (DEFAULT_HOST_MEMORY_FREE_FRACTION: measured)."""

    @model_validator(mode="after")
    def _seq_fits_model(self) -> TuneRequest:
        self.model.check_seq_len(self.seq_len)
        return self

    @property
    def tokens_per_step(self) -> int:
        """Tokens consumed by one optimizer step."""
        return self.global_batch_size * self.seq_len

    def host_limits(self, hardware: HardwareProfile) -> HostLimits:
        """The host memory / cores per node the plans must respect: the request's, else the profile's."""
        return HostLimits.of(hardware, self.cluster.gpus_per_node, self.host_memory_bytes, self.host_cpu_cores,
                             self.host_memory_margin_bytes, self.host_memory_free_fraction)

    def host_profile(self, hardware: HardwareProfile) -> HardwareProfile:
        """`hardware` with this request's host memory and cores: what the cost model should read
        (CPU Adam threads per rank = cores / GPUs per node, cost/rates.py Rates)."""
        limits = self.host_limits(hardware)
        if (limits.memory_bytes, limits.cpu_cores) == (hardware.host_memory_bytes, hardware.host_cpu_cores):
            return hardware
        return hardware.model_copy(update={"host_memory_bytes": limits.memory_bytes,
                                           "host_cpu_cores": limits.cpu_cores})


def host_need_bytes(cpu_bytes_per_gpu, margin_bytes: float, gpus_per_node: int):
    """Host memory a node needs when each of its `gpus_per_node` processes offloads `cpu_bytes_per_gpu`
    (a number or a numpy array): the offloaded state plus the margin per process; nothing for a
    strategy that offloads nothing (its processes' base memory is the margin's job only with offload:
    the committed runs without offload peaked at 1.8-7.6 GiB RSS per rank)."""
    return (cpu_bytes_per_gpu + margin_bytes) * gpus_per_node * (cpu_bytes_per_gpu > 0)


@dataclass(frozen=True)
class HostLimits:
    """Host memory and cores of one node as a search uses them, and where each value came from."""

    memory_bytes: int
    """CPU memory of one node."""
    cpu_cores: int
    """CPU cores of one node."""
    margin_bytes: int
    """Host memory kept free per GPU process of a plan that offloads."""
    free_fraction: float
    """Share of memory_bytes a plan that offloads leaves free (usable_bytes is the rest)."""
    gpus_per_node: int
    """GPU processes per node."""
    memory_from_profile: bool
    """True when memory_bytes is the hardware profile's (no --host-memory-gb)."""
    cores_from_profile: bool
    """True when cpu_cores is the hardware profile's (no --cpu-cores)."""
    profile_name: str
    """The hardware profile the defaults came from."""

    @classmethod
    def of(cls, hardware: HardwareProfile, gpus_per_node: int, memory_bytes: int | None = None,
           cpu_cores: int | None = None, margin_bytes: int = DEFAULT_HOST_MEMORY_MARGIN_BYTES,
           free_fraction: float = DEFAULT_HOST_MEMORY_FREE_FRACTION) -> HostLimits:
        """The given values, each None replaced by the hardware profile's."""
        return cls(memory_bytes=memory_bytes or hardware.host_memory_bytes,
                   cpu_cores=cpu_cores or hardware.host_cpu_cores, margin_bytes=margin_bytes,
                   free_fraction=free_fraction,
                   gpus_per_node=gpus_per_node, memory_from_profile=memory_bytes is None,
                   cores_from_profile=cpu_cores is None, profile_name=hardware.name)

    @property
    def usable_bytes(self) -> float:
        """Host memory of one node that a plan's offloaded state (with its margins) may take."""
        return self.memory_bytes * (1.0 - self.free_fraction)

    def node_need_bytes(self, cpu_bytes_per_gpu: float) -> float:
        """host_need_bytes of a node of this request."""
        return float(host_need_bytes(cpu_bytes_per_gpu, self.margin_bytes, self.gpus_per_node))

    def headroom_bytes(self, cpu_bytes_per_gpu: float) -> float:
        """Usable host memory left on a node (negative: over) after node_need_bytes."""
        return self.usable_bytes - self.node_need_bytes(cpu_bytes_per_gpu)
