"""HardwareProfile: what one kind of GPU node can do, measured (or, for now, from datasheets)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel

CollectiveKind = Literal["all_reduce", "all_gather", "reduce_scatter", "p2p"]
Scope = Literal["intra_node", "inter_node"]
Channel = Literal["compute", "nccl", "h2d", "d2h"]


class CollectiveFit(StrictModel):
    """alpha-beta fit of one NCCL collective at one group size.

    time(bytes) = latency_s + bytes * bus_factor / (bus_bandwidth_gbps * 1e9), where bus_factor is
    nccl-tests' convention (PERFORMANCE.md in NVIDIA/nccl-tests): 2(n-1)/n for all_reduce,
    (n-1)/n for all_gather and reduce_scatter (bytes = the full, unsharded buffer), 1 for p2p.
    """

    kind: CollectiveKind
    """Which collective."""
    scope: Scope
    """Whether the group lies inside one node or spans nodes."""
    group_size: int = Field(ge=2)
    """Number of ranks in the group."""
    latency_s: float = Field(ge=0.0)
    """Fitted fixed cost alpha, seconds."""
    bus_bandwidth_gbps: float = Field(gt=0.0)
    """Fitted bus bandwidth, GB/s (1e9 bytes/s)."""
    fit_rel_error: float | None = None
    """Median relative error of the fit over the measured sizes; None for datasheet values."""


class MatmulSample(StrictModel):
    """Measured bf16 GEMM throughput for one (m, n, k) shape."""

    m: int = Field(ge=1)
    """Rows of the output (tokens)."""
    n: int = Field(ge=1)
    """Columns of the output."""
    k: int = Field(ge=1)
    """Reduction dimension."""
    tflops: float = Field(gt=0.0)
    """Achieved TFLOP/s (2mnk / time)."""


class CpuAdamSample(StrictModel):
    """DeepSpeed CPU Adam throughput at one thread count."""

    num_threads: int = Field(ge=1)
    """OpenMP threads the optimizer step used."""
    params_per_s: float = Field(gt=0.0)
    """fp32 parameters updated per second."""


class InterferenceFactor(StrictModel):
    """Slowdown of each channel when `channels` run concurrently (Mist's interference model)."""

    channels: tuple[Channel, ...] = Field(min_length=2)
    """The channels that overlap."""
    slowdowns: tuple[float, ...]
    """Per-channel time multiplier (>= 1), in the order of `channels`."""

    @model_validator(mode="after")
    def _one_slowdown_per_channel(self) -> InterferenceFactor:
        if len(self.slowdowns) != len(self.channels):
            raise ValueError("interference: need one slowdown per channel")
        if any(s < 1.0 for s in self.slowdowns):
            raise ValueError("interference: slowdowns must be >= 1")
        return self


class AttentionSample(StrictModel):
    """Measured fused attention (SDPA flash path, or flash-attn) time for one shape, bf16."""

    batch: int = Field(ge=1)
    """Micro-batch size."""
    num_heads: int = Field(ge=1)
    """Query heads (per tensor-parallel rank)."""
    num_kv_heads: int = Field(ge=1)
    """Key/value heads (< num_heads for grouped-query attention)."""
    seq_len: int = Field(ge=1)
    """Sequence length (queries = keys)."""
    head_dim: int = Field(ge=1)
    """Dimension of one head."""
    causal: bool
    """Whether a causal mask was applied."""
    fwd_time_s: float = Field(gt=0.0)
    """Median forward time, seconds."""
    bwd_time_s: float = Field(gt=0.0)
    """Median backward time (dq, dk, dv), seconds."""
    backend: str = ""
    """Kernel that ran, e.g. 'sdpa-flash', 'sdpa-default', 'flash-attn'."""


class MemoryKernelSample(StrictModel):
    """Effective bandwidth of one memory-bound kernel (bytes read + written / time)."""

    kernel: str
    """Kernel name, e.g. 'layernorm_fwd', 'gelu_fwd', 'add', 'adam_step'."""
    num_bytes: int = Field(ge=1)
    """Bytes the kernel must read plus write at the measured size."""
    time_s: float = Field(gt=0.0)
    """Median time, seconds."""
    bandwidth_gbps: float = Field(gt=0.0)
    """num_bytes / time_s, GB/s."""


class Provenance(StrictModel):
    """Where the numbers came from."""

    source: Literal["datasheet", "measured"]
    """'datasheet' for vendor figures and assumptions, 'measured' for profiler output."""
    date: str
    """ISO date of the measurement or of writing the file."""
    command: str = ""
    """Command that produced the file."""
    card: str = ""
    """GPU model string as the driver reports it."""
    driver: str = ""
    """NVIDIA driver / CUDA versions."""
    software: str = ""
    """torch, NCCL and DeepSpeed versions."""
    group_sizes_covered: tuple[int, ...] = ()
    """Collective group sizes actually measured; larger ones are extrapolated."""
    notes: str = ""
    """Free text: assumptions, caveats."""


RUN_DERIVED_FIELDS = ("allocator_overhead_fraction", "zero3_fetch_overhead_s", "zero3_param_overhead_s",
                      "host_microbatch_overhead_s", "host_layer_overhead_s", "host_launch_overhead_s",
                      "host_step_overhead_s", "host_step_tensor_overhead_s", "zero3_microbatch_overhead_s",
                      "mistpipe_microbatch_overhead_s", "mistpipe_layer_overhead_s",
                      "mistpipe_streamed_layer_overhead_s", "pageable_h2d_bandwidth_gbps",
                      "pageable_d2h_bandwidth_gbps", "host_process_base_bytes")
"""HardwareProfile fields fitted from training runs (python -m mist_ds.calibrate), not measured by the
profiler: a profile rebuilt from raw measurements (profile --from-raw) keeps them from the profile it
rebuilds (profile/assemble.py)."""
HOST_THREAD_FIELDS = ("host_microbatch_overhead_s", "host_layer_overhead_s", "host_launch_overhead_s",
                      "host_step_overhead_s", "host_step_tensor_overhead_s")
"""The stock engine's host-thread seconds per micro-batch, block pass, kernel launch, step and step tensor
(run-derived): a profile with all of them at 0 prices no host-thread time at all
(HardwareProfile.prices_host_thread)."""


RETIRED_FIELDS = {
    "allocator_cache_fraction": "session 56: mistpipe's reserved holes are counted in the stage's vocabulary "
                                "matrices, the same on every card (cost/reserved.py VOCAB_HOLE)",
}
"""Fields profiles once carried and no longer do, with why: dropped when a profile loads, so one calibrated
before they were retired still loads."""


class HardwareProfile(StrictModel):
    """Capabilities of one node type; the cost model reads nothing else about hardware."""

    name: str
    """Profile name (file stem), e.g. 'h100-sxm-80gb'."""
    gpu_name: str
    """Human-readable GPU model."""
    gpu_memory_bytes: int = Field(gt=0)
    """Device memory the framework can allocate (torch.cuda.mem_get_info total)."""
    num_gpus_per_node: int = Field(ge=1)
    """GPUs in the profiled node."""
    host_memory_bytes: int = Field(gt=0)
    """CPU memory of one node (bounds what offload may use)."""
    host_cpu_cores: int = Field(ge=1)
    """Physical CPU cores of one node (shared by the node's ranks for CPU Adam)."""
    peak_bf16_tflops: float = Field(gt=0.0)
    """Vendor dense bf16 peak, TFLOP/s (used for MFU)."""
    matmul_tflops: float = Field(gt=0.0)
    """Sustained bf16 GEMM throughput on large transformer shapes, TFLOP/s."""
    matmul_samples: tuple[MatmulSample, ...] = ()
    """Measured GEMM grid; empty when only the scalar above is known."""
    attention_tflops: float = Field(gt=0.0)
    """Sustained causal attention forward throughput, TFLOP/s, of the kernel the runtime runs (torch SDPA's
    default dispatch: cuDNN attention on H100/H200 here; flash-attn when importable)."""
    memory_bandwidth_gbps: float = Field(gt=0.0)
    """Effective HBM bandwidth of memory-bound kernels (norms, activations), GB/s."""
    collectives: tuple[CollectiveFit, ...]
    """alpha-beta fits per collective kind, scope and group size."""
    h2d_bandwidth_gbps: float = Field(gt=0.0)
    """Pinned host-to-device bandwidth per GPU with all GPUs of the node copying, GB/s."""
    d2h_bandwidth_gbps: float = Field(gt=0.0)
    """Pinned device-to-host bandwidth per GPU with all GPUs of the node copying, GB/s."""
    pcie_latency_s: float = Field(ge=0.0)
    """Fixed cost of one host<->device copy, seconds."""
    cpu_adam: tuple[CpuAdamSample, ...] = Field(min_length=1)
    """CPU Adam throughput by thread count."""
    interference: tuple[InterferenceFactor, ...] = ()
    """Slowdowns of overlapped channels; empty means 'no interference'."""
    allocator_overhead_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    """Live-tensor bytes the cost model's terms miss at the peak, as a fraction of its modelled peak
    (alignment, small tensors, workspaces); the cost model adds it to every predicted peak, which
    thereby targets torch.cuda.max_memory_allocated. That, not max_memory_reserved, decides whether a
    plan fits: under expandable segments (PYTORCH_CUDA_ALLOC_CONF, which mist_ds/train.py sets) the
    caching allocator unmaps its cached pages and retries before it raises OutOfMemoryError (torch
    c10/cuda/CUDACachingAllocator.cpp, Note [Expandable Segments]); the committed OOM runs held 66-275
    MiB reserved but unallocated when they failed (bench/accuracy/MEMORY_GAP.md), which the search's
    memory margin covers (search/driver.py DEFAULT_MEMORY_MARGIN_RATIO). Calibrated from GPU runs as
    the median max_memory_allocated / modelled peak - 1 (calibration/fit.py); 0.0 = not measured."""
    attention_bwd_tflops: float | None = Field(default=None, gt=0.0)
    """Sustained causal attention backward throughput, TFLOP/s (counting 2.5x the forward FLOPs,
    FlashAttention-2's convention); None when not measured (use attention_tflops)."""
    attention_samples: tuple[AttentionSample, ...] = ()
    """Measured attention grid (fwd/bwd by batch, heads, sequence, head dim, causal, GQA)."""
    memory_kernels: tuple[MemoryKernelSample, ...] = ()
    """Measured memory-bound kernels; memory_bandwidth_gbps is their median."""
    gpu_adam_params_per_s: float | None = Field(default=None, gt=0.0)
    """fp32 parameters one GPU updates per second with torch's fused Adam; None if not measured."""
    zero3_param_overhead_s: float = Field(default=0.0, ge=0.0)
    """Host-thread seconds DeepSpeed ZeRO-3 spends per parameter tensor and block pass (forward,
    backward, recomputed forward) beyond its per-module hooks: the fetch's per-parameter status
    checks and partition bookkeeping, and in the backward AccumulateGrad and the reduce hook
    (cost/work.py z3_param_passes counts the tensors). It tells a GPT block (12 tensors: biases,
    LayerNorm) from a Llama block (6) where the launches alone could not: one per-launch cost fitted
    on today's runtime priced the Llama 1-GPU ZeRO-3 runs and missed the GPT ones by -19% to -43%
    (bench/accuracy/HOST_JITTER.md, session 20); the profiled ZeRO-3 steps show AccumulateGrad and the
    module hooks among the largest host items (bench/results/runtime/z3_1g_S18/,
    bench/results/runtime/l27w1_trace_S20/). Run-derived: 0.0 = not calibrated;
    `python -m mist_ds.calibrate` fits it from ZeRO-3 runs."""
    zero3_fetch_overhead_s: float = Field(default=0.0, ge=0.0)
    """Seconds DeepSpeed ZeRO-3 spends on the compute thread per submodule fetch (its pre-forward /
    pre-backward hooks: bookkeeping, all-gather launch, stream waits), beyond the all-gather's
    alpha-beta time; the cost model counts one fetch per module of the runtime's model per pass
    (cost/work.py z3_fetches). Run-derived: 0.0 = not calibrated; `python -m mist_ds.calibrate`
    fits it from ZeRO-3 runs."""
    host_microbatch_overhead_s: float = Field(default=0.0, ge=0.0)
    """Seconds per micro-batch and pipeline stage that the training loop spends outside the modelled
    kernels and transfers while the GPU waits (DeepSpeed engine forward / backward / step calls,
    gradient hooks, the batch's host-to-device copy, synchronisations). Run-derived: 0.0 = not
    calibrated; `python -m mist_ds.calibrate` fits it."""
    host_layer_overhead_s: float = Field(default=0.0, ge=0.0)
    """Seconds per transformer-block pass (forward, backward, recomputed forward) and micro-batch that
    the GPU idles beyond the block's summed kernel times: launch gaps of eager kernels and autograd
    bookkeeping (profiling/results/layer_validation.md shows such gaps inside single blocks).
    Run-derived: 0.0 = not calibrated; `python -m mist_ds.calibrate` fits it."""
    host_launch_overhead_s: float = Field(default=0.0, ge=0.0)
    """Host-thread seconds per kernel launch of a transformer-block pass (forward, backward,
    recomputed forward), micro-batch and stage of a ZeRO-3 stage: the op dispatch, autograd and
    launch work behind each kernel, memset and copy the block issues (cost/layer_time.py
    block_launches counts them per model and kernel set: 27 / 50 for an eager Llama block, 17 / 33
    for a GPT block). It overlaps the GPU's queued work like the fetch hooks (cost/stage.py
    host_overlap). Charged under ZeRO-3 only: there the host thread waits on the GPU inside every
    pass (the zero3-rc trace's 142 cudaEventSynchronize per step, none in the ZeRO-2 trace;
    bench/results/runtime/parity/traces/*.summary.json host_syncs), so it cannot run ahead and hide
    its launches; without ZeRO-3 the per-pass host work is host_layer_overhead_s. Run-derived:
    0.0 = not calibrated; `python -m mist_ds.calibrate` fits it (on the h200 runs it takes the
    ZeRO-3 host time that zero3_fetch_overhead_s held before: Llama's ZeRO-3 runs measured up to
    23% over and GPT's 17% under one shared per-fetch cost). With dp > 1 the all-gathers a pass
    waits for lie on the same host path (cost/stage_time.py host_parts, measured rates, not fitted);
    the fitted host terms also carry the mean pacing of a pass by the slower rank at the dp of
    their runs (ZeRO-3 runs with dp 1 and 2 only: not modelled by dp)."""
    host_step_overhead_s: float = Field(default=0.0, ge=0.0)
    """Seconds per optimizer step outside the modelled optimizer kernels, copies and collectives
    (DeepSpeed's step bookkeeping, per-tensor gradient norms with host synchronisations, zero_grad,
    the training loop's loss all-reduce). Run-derived: 0.0 = not calibrated; fitted by
    `python -m mist_ds.calibrate`."""
    host_step_tensor_overhead_s: float = Field(default=0.0, ge=0.0)
    """Host-thread seconds per parameter tensor in stock DeepSpeed's ZeRO-0 optimizer step, and in its ZeRO-1/2
    step with the optimizer on the GPU (cost/stage_time.py step_walks_tensors), added to the step beside its
    modelled kernels: the ZeRO-0 wrapper (FP16_Optimizer for bf16 without a pipeline,
    runtime/fp16/fused_optimizer.py step; BF16_Optimizer with one, bf16_optimizer.py step) walks the
    parameters one by one - each gradient cast to fp32 and flattened, the 16-bit weight copied back from
    its fp32 master, the gradient dropped (per-tensor norms and clipping in BF16_Optimizer) - and the
    launches pace the step. cost/stage.py counts the stage's tensors. Session 70's phased ZeRO-0 runs on
    the H100 node (bench/results/runtime/step_phases_S70/): the step ran 118-172 us per tensor longer
    than its kernels and copies priced, for 98 to 292 tensors (GPT's biases and LayerNorms double a
    Llama block's), where the parameter count did not follow (gpt-1.3b: 50 ms, llama-1.3b: 21).
    ZeRO-1/2's step walks them too (stage_1_and_2.py step: get_grad_norm_direct's norm per gradient, the
    flatten, free_grad_in_param_list): session 72's phased ZeRO-1/2 steps of GPT-2 XL, Pythia-1.4B and
    Qwen2-0.5B on the same node ran 112-196 us per tensor (mean 142) over their kernels, held out of the
    ZeRO-0 measurement (step_phases_S72/call1; bench/accuracy/ZERO3_OFFLOAD.md). Run-derived: 0.0 = not
    calibrated; `python -m mist_ds.calibrate` fits it from ZeRO-0/1/2 runs."""
    zero3_microbatch_overhead_s: float | None = Field(default=None, ge=0.0)
    """host_microbatch_overhead_s of a stock ZeRO-3 stage; None: the same as the others'. ZeRO-3's engine does
    per-micro-batch work ZeRO-0/1/2 does not (the backward epilogue's gradient partitioning with its stream
    synchronisation, the fetch coordinator's trace and release; zero/stage3.py,
    partitioned_param_coordinator.py), and one term for both missed them in opposite directions: on the H100
    node a term fitted on ZeRO-0 runs alone (2.97 ms, with host_step_tensor_overhead_s) priced the held-out
    ZeRO-1 offload winners to 0.7% median where the shared one (14.5 ms) had 8.6%, and the ZeRO-3 weight-offload
    runs 6.1% short where it had 3.3% (session 70, bench/accuracy/ZERO3_OFFLOAD.md). Run-derived;
    `python -m mist_ds.calibrate` fits it from ZeRO-3 runs."""
    mistpipe_microbatch_overhead_s: float | None = Field(default=None, ge=0.0)
    """host_microbatch_overhead_s of the mistpipe engine (runtime/mistpipe: its own micro-batch loop, no
    DeepSpeed engine forward / backward / step calls or gradient hooks): host-thread seconds per
    micro-batch. On a single stage it overlaps the GPU's queued work, since the loop never waits on the GPU;
    with pipeline stages blocking p2p exposes it in full (cost/mistpipe.py _microbatch_host). Run-derived:
    None = not calibrated (the stock term is charged); `python -m mist_ds.calibrate` fits it from mistpipe
    runs."""
    mistpipe_layer_overhead_s: float | None = Field(default=None, ge=0.0)
    """host_layer_overhead_s of the mistpipe engine: host-thread seconds per block pass (forward,
    backward, recomputed forward) and micro-batch (launches, autograd, the engine's unit hooks),
    overlapping the GPU's queued work per pass (cost/host_overlap.py). Run-derived: None = not
    calibrated (the stock term is charged); `python -m mist_ds.calibrate` fits it from mistpipe runs."""
    mistpipe_streamed_layer_overhead_s: float = Field(default=0.0, ge=0.0)
    """Host-thread seconds a mistpipe block pass adds where the block's weights stream from host memory
    (offload_weights_ratio > 0: the engine issues the section's copies and re-binds the block's parameters
    to the slot they land in, runtime/mistpipe/unit.py fill, bind), on top of mistpipe_layer_overhead_s; the
    profiled llama-1.3b step of bench/results/runtime/l13b_c24_trace_S30/ has its forward paced by the thread
    that way. Run-derived: 0.0 = not calibrated; `python -m mist_ds.calibrate` fits it from mistpipe runs
    that offload weights."""
    pageable_h2d_bandwidth_gbps: float | None = Field(default=None, gt=0.0)
    """Host-to-device bandwidth from pageable (not pinned) host memory, GB/s per rank: DeepSpeed ZeRO-3
    optimizer offload writes each updated parameter partition back from its unpinned fp32 master copy
    (cost/work.py), converting it on the CPU. Per rank, not shared by the node's ranks: fitted that
    way on 1-GPU runs alone and on 2-GPU runs alone it agrees (2.42 / 2.51 GB/s), where a per-node
    rate came out 2.3x apart (bench/results/crossval.md: the conversion, not the node's memory
    bandwidth, bounds it; a plain pageable memcpy does halve with two GPUs, bench/engine/pcie_share.py,
    at 13.4 GB/s, 5x this rate). Run-derived: None = not calibrated (charged at
    the pinned h2d_bandwidth_gbps); fitted by `python -m mist_ds.calibrate`."""
    pageable_d2h_bandwidth_gbps: float | None = Field(default=None, gt=0.0)
    """Rate of DeepSpeed ZeRO-3's write-back under offload_param, GB/s of fp32 per rank: each sub-group whose
    fp32 master sits on the GPU copies it into the 16-bit CPU partition with a blocking cross-dtype copy_,
    which torch runs as a device-to-host copy into a fresh pageable fp32 temporary plus a conversion on the
    CPU (cost/work.py pageable_d2h_bytes). Per rank, like pageable_h2d_bandwidth_gbps: host-thread work of
    each process (the pageable copy's staging memcpy, the temporary's page faults, the conversion), which
    the runs of one and of two ranks per node price alike per element (bench/accuracy/WEIGHT_OFFLOAD.md).
    Run-derived: None = not calibrated (charged at pageable_h2d_bandwidth_gbps); fitted by
    `python -m mist_ds.calibrate` from ZeRO-3 runs that offload weights but not the whole optimizer."""
    staged_h2d_bandwidth_gbps: float | None = Field(default=None, gt=0.0)
    """Rate of the runtime's 'device' write-back of CPU fp32 masters into 16-bit GPU partitions (ZeRO-3 optimizer
    offload without offload_param; runtime/writeback_cast.py upload_into: converted on the host into pinned
    staging chunks, each copied by DMA while the next converts), GB/s of 16-bit bytes per rank. Measured by
    `python -m mist_ds.profile` (section writeback, profile/writeback.py: that function on sub-groups of the
    emitted sub_group_size, every local rank at once, the slowest rank; torch's intra-op threads). The shipped
    profiles' value is bench/runtime/upload_cast_probe.py's (one process, 1e9 elements in one call, 2026-12-07
    on the 1x H100 node; carried to the others): a raw file without the section keeps the fallback's. None: not
    measured (charged at the pinned h2d_bandwidth_gbps)."""
    cpu_step_per_adam: float | None = Field(default=None, ge=1.0)
    """The host's DeepSpeedCPUAdam step followed by the fp32 -> bf16 cast of the same parameters, back to back
    in one process at host_cpu_cores threads, as a multiple of that Adam step's time alone: the pair mistpipe's
    cpu_adam path runs per unit (runtime/mistpipe/optimizer.py finish_unit). Measured by `python -m
    mist_ds.profile` (section cpu_adam, profile/cpu_adam.py step_beside_d2h's alone_s over the Adam rate at
    the core count). None: not measured; the cost model takes 1 + HOST_BF16_PER_ADAM (cost/rates.py, the
    cast measured apart on the 32-core H200 host)."""
    cpu_step_d2h_slowdown: float | None = Field(default=None, gt=0.0)
    """How many times longer that pair (cpu_step_per_adam) takes while every GPU of the node copies into
    pinned host memory: the DMA's writes share the host's memory bandwidth, and the cpu_adam path runs its
    first units' Adam while the late gradients still land (optimizer.py _send_late). Measured with it
    (step_beside_d2h: beside_s / alone_s; one process at the core count, where ranks sharing the node's
    cores run the pair at once). None: not measured (1.0)."""
    host_process_base_bytes: int = Field(default=0, ge=0)
    """Peak resident memory of one training process apart from the offloaded states the cost model
    counts (Python, torch, CUDA context and libraries, DeepSpeed, NCCL buffers), bytes. Run-derived:
    0 = not calibrated; fitted by `python -m mist_ds.calibrate` from runs' peak RSS."""
    provenance: Provenance
    """How and when this profile was made."""

    @classmethod
    def from_json_text(cls, text: str) -> HardwareProfile:
        """StrictModel.from_json_text, less the RETIRED_FIELDS a profile written before they retired carries.
        (Here, not in a model validator: a 'before' validator would make strict JSON validation take
        JSON arrays as lists, not tuples.)"""
        data = json.loads(text)
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key not in RETIRED_FIELDS}
        return cls.model_validate(data, strict=False)

    @property
    def zero3_microbatch_s(self) -> float:
        """Host seconds per stock ZeRO-3 micro-batch: zero3_microbatch_overhead_s, else the stock term."""
        value = self.zero3_microbatch_overhead_s
        return self.host_microbatch_overhead_s if value is None else value

    @property
    def mistpipe_microbatch_s(self) -> float:
        """Host seconds per mistpipe micro-batch: mistpipe_microbatch_overhead_s, else the stock term."""
        value = self.mistpipe_microbatch_overhead_s
        return self.host_microbatch_overhead_s if value is None else value

    @property
    def mistpipe_layer_s(self) -> float:
        """Host seconds per mistpipe block pass: mistpipe_layer_overhead_s, else the stock term."""
        value = self.mistpipe_layer_overhead_s
        return self.host_layer_overhead_s if value is None else value

    @property
    def prices_host_thread(self) -> bool:
        """Whether any HOST_THREAD_FIELDS term is set: False for a profile no training run has calibrated
        (python -m mist_ds.calibrate), whose predictions leave DeepSpeed's host-thread time out."""
        return any(getattr(self, name) > 0 for name in HOST_THREAD_FIELDS)
