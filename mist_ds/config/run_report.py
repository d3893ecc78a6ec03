"""RunReport: what a real training run of a plan measured."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel

RunStatus = Literal["ok", "oom", "error", "killed", "timeout"]
SwapGradients = Literal["device", "host"]
HostBuffers = Literal["registered", "torch_pinned"]
ActOffloadCopy = Literal["blocking", "non_blocking"]
"""How the stock executor's activation offload copies a saved tensor out in forward (RunReport.
activation_offload_copy, cost/act_offload.py): 'blocking' holds the host until the copy is done
(torch < 2.13 save_on_cpu), 'non_blocking' queues it and lets the host run on (runtime/host_saves.py)."""
KERNEL_KEYS = ("norm", "activation", "rope", "attention", "loss")
"""Keys of RunReport.kernels, in the order reports print them."""


class RunReport(StrictModel):
    """Measurements of `launch/train.py` for one plan on one machine."""

    status: RunStatus
    """'ok', 'oom' (a rank ran out of GPU memory), 'error', 'killed' (a rank died by a signal, e.g. the
    kernel's OOM killer: see `signal`) or 'timeout' (stopped by the runner's time limit)."""
    error_message: str = ""
    """First line of the failure, empty when status is ok."""
    plan_hash: str
    """content_hash() of the plan without its prediction."""
    gpu_name: str
    """Device name as torch reports it ('cpu' for CPU runs)."""
    num_gpus: int = Field(ge=1)
    """Ranks in the run."""
    torch_version: str
    """torch.__version__."""
    deepspeed_version: str
    """deepspeed.__version__."""
    num_steps: int = Field(ge=0)
    """Optimizer steps run in total (warm-up included)."""
    num_warmup_steps: int = Field(ge=0)
    """Steps excluded from the timing statistics."""
    peak_allocated_bytes: tuple[int, ...] = ()
    """torch.cuda.max_memory_allocated per rank (rank order)."""
    peak_reserved_bytes: tuple[int, ...] = ()
    """torch.cuda.max_memory_reserved per rank (rank order)."""
    alloc_retries: tuple[int, ...] = ()
    """torch.cuda.memory_stats()['num_alloc_retries'] per rank (rank order) at the end of the run: how
    often the caching allocator found no cached block that fit, released its cache (synchronising the
    device) and retried cudaMalloc. Each retry stalls the rank, so a count that grows with the steps
    means memory pressure at the cap slowed the run, which the cost model does not price. Empty on
    CPU runs and in reports written before the field existed."""
    iteration_times_s: tuple[float, ...] = ()
    """Wall time of every step after warm-up, seconds."""
    median_iteration_time_s: float | None = None
    """Median of iteration_times_s."""
    iteration_time_iqr_s: float | None = None
    """Interquartile range of iteration_times_s (spread)."""
    tokens_per_s: float | None = None
    """Global tokens per second at the median iteration time."""
    achieved_tflops_per_gpu: float | None = None
    """Model FLOPs (no recompute credit) per second per GPU, TFLOP/s."""
    mfu: float | None = None
    """achieved_tflops_per_gpu / the hardware profile's peak."""
    losses: tuple[float, ...] = ()
    """Training loss after every step."""
    precision: str = ""
    """Compute precision the run used ('bf16', 'fp16', or 'fp32' for CPU runs); empty if unknown."""
    hardware_name: str = ""
    """Hardware profile whose peak_bf16_tflops the MFU divides by; empty when no MFU is given."""
    adam_impl: str = ""
    """Optimizer implementation: 'fused_adam' (DeepSpeed FusedAdam), 'torch_adamw' or 'cpu_adam'."""
    failed_rank: int | None = None
    """Global rank that wrote a failure report (oom/error); None when status is ok."""
    signal: int | None = Field(default=None, ge=1)
    """Number of the signal that killed a rank (status 'killed'), as the launcher reported it."""
    host_peak_rss_bytes: tuple[int, ...] = ()
    """Peak resident host memory per rank (getrusage ru_maxrss), rank order; empty if unmeasured."""
    host_pinned_peak_bytes: tuple[int, ...] = ()
    """Peak bytes held by torch's pinned host allocator per rank (torch.cuda.host_memory_stats,
    blocks rounded up to powers of two); empty on CPU runs or where torch has no such statistic. Since
    session 13 mistpipe's buffers are not in it (host_registered_bytes)."""
    node_mem_available_start_bytes: tuple[int, ...] = ()
    """MemAvailable (/proc/meminfo) per node when the measurement started, node order of first rank."""
    node_mem_available_min_bytes: tuple[int, ...] = ()
    """Lowest MemAvailable seen per node while the run was measured (sampled twice a second)."""
    node_mem_total_bytes: tuple[int, ...] = ()
    """MemTotal (/proc/meminfo) per node."""
    date_utc: str = ""
    """When the report was written, ISO 8601 UTC; empty in reports older than the field."""
    driver_version: str = ""
    """GPU driver version (nvidia-smi, mist_ds/gpuinfo.py), recorded by CUDA runs; empty on CPU runs, where
    nvidia-smi fails, and in reports written before 2026-11-30 09:30 UTC (the runtime left it empty)."""
    kernels: dict[str, str] = Field(default_factory=dict)
    """What the runtime ran for the block's element-wise ops, attention and the loss, every 'auto' and
    CPU fallback resolved (mist_ds/runtime/build.py resolve_kernels; the modules are built with exactly
    these names). Keys (KERNEL_KEYS):
      norm       - RMSNorm / LayerNorm: 'torch', 'compile' or 'liger' (runtime/kernels.py ELEMENTWISE_IMPLS);
      activation - SwiGLU: 'torch', 'compile' or 'liger'; 'torch' for GELU models (torch's fused gelu);
      rope       - rotary embedding of q and k: 'torch', 'compile' or 'liger'; 'none' without RoPE;
      attention  - 'sdpa' (SDPA's own backend dispatch), 'sdpa_flash', 'sdpa_cudnn', 'sdpa_efficient',
                   'math' (one SDPA backend forced) or 'flash_attn';
      loss       - 'chunked', 'chunked_compile', 'liger' or 'fp32' (runtime/loss.py LOSS_IMPLS).
    Every rank reports its own; where ranks differ (a machine without liger-kernel or flash-attn next
    to one with it), the value lists each with its ranks, e.g. 'liger on ranks 0,1; chunked_compile on
    ranks 2,3'. A failure report holds the failing rank's own view, or nothing when it failed before
    the model was built. Empty: not recorded (every report written before the field existed)."""
    zero_init: bool | None = None
    """Whether the runtime built the model under deepspeed.zero.Init (mist_ds/runtime/build.py
    uses_zero_init: ZeRO-3 plans on stock DeepSpeed), which partitions each parameter as it is created,
    so no rank ever holds the whole 16-bit model at start-up; False: the model (or pipeline stage) was
    built whole on the device and partitioned, if at all, by deepspeed.initialize. None: not recorded
    (every report written before the field existed), which is the whole-model build; the cost model
    predicts such runs with the whole-model start-up term (cost/memory.py 'build_weights')."""
    writeback_cast: str | None = None
    """Stock ZeRO-3: how each optimizer sub-group whose fp32 master and 16-bit partition sit on different devices
    (a GPU master under offload_param, a CPU master under optimizer offload without it) wrote its update across
    the bus (mist_ds/config/writeback.py WRITEBACK_CASTS): 'host', DeepSpeed's blocking copy converted on the CPU
    through a pageable temporary, or 'device', chunked copies by DMA from pinned memory (runtime/writeback_cast.py;
    `mist_ds.train --writeback-cast`; session 66's first runs, the S66-1 repeats, had only the offload_param side).
    None: no sub-group crosses (other plans), or not recorded (every report written before session 66, which all
    ran 'host': cost/conditions.py writeback_cast_of)."""
    cuda_alloc_conf: str | None = None
    """PYTORCH_CUDA_ALLOC_CONF as the run's processes saw it ('' when unset), e.g.
    'expandable_segments:True', which mist_ds/train.py sets unless the user set it: whether the caching
    allocator could release its cache before an OOM (bench/accuracy/MEMORY_GAP.md). None: not recorded
    (reports written before the field existed; bench/accuracy/scoring.py lists those that ran
    without expandable segments)."""

    activation_offload_copy: ActOffloadCopy | None = None
    """How the stock executor's offloaded blocks copied their saved tensors to the host in forward:
    'non_blocking' (mist_ds/runtime/host_saves.py: pinned buffer, copy_(non_blocking=True) on the
    compute stream, the host not held) or 'blocking' (the pack waits for the copy, as torch < 2.13's
    save_on_cpu did). None: no block was offloaded that way (no activation offload, or mistpipe) or
    not recorded (every report written before the field existed); those runs used torch's
    save_on_cpu, whose mode follows torch_version (cost/conditions.py act_offload_copy_of)."""

    host_cpu_cores: int | None = Field(default=None, ge=1)
    """Physical CPU cores of the node rank 0 ran on (mist_ds/gpuinfo.py host_cpu_cores, as a profile records
    them): which node kind's profile re-predicts the run (config/profiles.py profile_for_gpu). None in reports
    written before 2026-12-01 04:31 UTC; bench/accuracy/scoring.py then reads the machine files beside the run."""

    host_cpu_model: str = ""
    """The CPU model name of the node rank 0 ran on (mist_ds/gpuinfo.py host_cpu_model): host-bound steps
    (CPU Adam, pageable copies) of one plan ran ~8% apart on two machines of the H100 node kind (session 67).
    "": not recorded (reports before 2026-12-07 12:33 UTC)."""

    host_l3_bytes: int | None = Field(default=None, ge=1)
    """Bytes of the L3 cache CPU 0 of rank 0's node shares (gpuinfo.py host_l3_bytes): whether the profiler's
    CPU Adam probe (32M parameters, ~0.5 GB of states) fits in cache while a step's billions of parameters
    stream from DRAM. None: not recorded, or sysfs does not tell."""

    d2h_queue_blocks: int | None = Field(default=None, ge=0)
    """mistpipe runs that offload activations: how many offloaded blocks' copies to the host the engine let
    be in flight (runtime/mistpipe/actoffload.py; MistpipeConstants.d2h_queue_blocks; 0: unbounded, the
    caching allocator holding their sources). None: no such offload, or not recorded (every report
    written before the bound became the default, which ran unbounded: cost/conditions.py
    d2h_queue_blocks_of)."""

    swap_gradients: SwapGradients | None = None
    """mistpipe runs that offload optimizer states: where the gpu_swap path read the gradients of the
    offloaded share's device gradient sections: 'device' (the accumulation buffer, since session 12's call S12-4,
    2026-12-01 10:55 UTC: runtime/mistpipe/optimizer.py take_chunk) or 'host' (sent there by the reduction and
    swapped back in). None: no such offload, or not recorded (every report written before, which ran
    'host': cost/conditions.py swap_gradients_of). Runs on the cpu_adam path record it too; it does
    not apply to them."""

    host_buffers: HostBuffers | None = None
    """mistpipe runs: how the engine allocated its page-locked host buffers (cost/mistpipe_state.py
    HOST_BUFFERS): 'registered' (runtime/mistpipe/hostmem.py: exact sizes, page-locked with
    cudaHostRegister, outside torch.cuda.host_memory_stats; the gpu_swap path's host gradient only over
    host gradient sections; tail gradients sent through a two-buffer device ring; since session 13,
    2026-12-01). None: not a mistpipe run, or not
    recorded (every report written before, whose engine pinned through torch's allocator, every buffer
    rounded up to a power of two: cost/conditions.py host_buffers_of)."""

    host_registered_bytes: tuple[int, ...] = ()
    """Per rank (rank order): the most host memory the engine had page-locked through
    runtime/mistpipe/hostmem.py at once. Empty: none registered, or not recorded."""

    fused_wgrad: bool | None = None
    """mistpipe runs: whether block linears added their weight gradients into the accumulation buffer
    in their GEMM (True: runtime/wgrad.py, the engine's default since session 14, 2026-12-01) or the
    engine added each fresh gradient separately (False). None: not a mistpipe run, or not recorded
    (every report written before, which added separately: cost/conditions.py fused_wgrad_of)."""

    norm_in_pieces: bool | None = None
    """mistpipe runs: whether the gradient norm made no whole-unit temporaries (True: the device head's squares
    summed in place, a kept host tail upcast to fp32 one swap chunk at a time; runtime/mistpipe/optimizer.py
    _add_kept_square, since session 57, 2026-12-06). None: not a mistpipe run, or not recorded (every report
    written before, whose engine squared the head into a temporary and upcast each kept tail chunk whole:
    cost/conditions.py norm_in_pieces_of)."""

    releases_logits: bool | None = None
    """mistpipe runs: whether the last stage dropped each micro-batch's logits after its backward (True:
    runtime/mistpipe/engine.py MistPipeEngine._exec_backward_pass, since session 57, 2026-12-06). None: not a
    mistpipe run, or not recorded (every report written before, whose engine left them in DeepSpeed's output
    buffers until a later forward: cost/conditions.py releases_logits_of)."""

    fused_head_wgrad: bool | None = None
    """mistpipe runs: whether an untied LM head's backward added its weight gradient into the resident unit's
    buffer in its GEMM (True: runtime/mistpipe/stage.py StageRuntime._fuse_head, since session 58, 2026-12-06;
    the engine's fused_wgrad option covers it). None: not a mistpipe run, or not recorded (every report
    written before, whose head made a fresh vocabulary x hidden gradient: cost/conditions.py
    fused_head_wgrad_of)."""

    fused_tied_head_wgrad: bool | None = None
    """mistpipe runs: whether a tied LM head's backward (the embedding matrix as head) added its weight gradient
    into the resident unit's buffer in its GEMM (True: runtime/mistpipe/stage.py StageRuntime._fuse_head, since
    session 58's S58-2, 2026-12-06). None: not a mistpipe run, or not recorded (every report written before,
    S58-1's included, whose tied head made a fresh gradient: cost/conditions.py fused_head_wgrad_of)."""

    fused_head_loss: bool | None = None
    """mistpipe runs: whether the last stage computed the LM head and its cross-entropy in one chunked pass that
    never held the logits (True: the engine's fused_head_loss option, runtime/fused_head_loss.py, off by default:
    a plan's Plan.head_loss 'fused' or bench/engine/fused_head_loss_train.py turns it on; cost/conditions.py
    fused_head_loss_of). None: not a mistpipe run, or not recorded (every report written before session 58, all
    with the logits)."""

    gc_mode: str = ""
    """Python garbage-collection policy of the timed steps (mist_ds/runtime/host_clock.py GC_MODES):
    'auto' (CPython's thresholds) or 'manual:<N>' (model objects frozen, automatic collection off, a full
    collection inside every N-th step). Empty: not recorded (reports written before the field existed,
    which all ran 'auto')."""

    gc_pause_s: tuple[float, ...] = ()
    """Per step after warm-up (as iteration_times_s): seconds the garbage collector paused the training
    thread, the most over ranks. Empty: not recorded."""

    host_steal_s: tuple[float, ...] = ()
    """Per step after warm-up: the node's hypervisor steal time over the step per CPU, seconds (the most
    over nodes; runtime/host_clock.py steal_per_cpu_s): time other guests of a virtual machine's host
    took from this node's cores. Empty: not recorded, or no /proc/stat."""

    host_probe_s: tuple[float, ...] = ()
    """Per rank (rank order): seconds of a fixed pure-Python workload before the first step
    (runtime/host_clock.py host_probe_s), the host's single-thread speed; comparable between runs of one
    Python version. Empty: not recorded."""

    startup_s: float | None = Field(default=None, ge=0.0)
    """Seconds from a rank's process start to just before its first step (interpreter and imports,
    process-group set-up, host-memory check, copy probe, model and engine build; runtime/host_clock.py
    process_age_s), the most over ranks; the launcher's own start before it spawns the ranks is not in it.
    None: not recorded (runs before 2026-12-06, or no psutil)."""

    step_alloc_retries: tuple[int, ...] = ()
    """Per timed step (as iteration_times_s): how often the caching allocator freed its cache and retried a
    cudaMalloc during the step (torch.cuda.memory_stats num_alloc_retries), the most over ranks; which steps
    alloc_retries' total fell in. Empty: not recorded (CPU runs, runs before 2026-12-06)."""

    copy_slowdowns: tuple[float, ...] = ()
    """(h2d, d2h): how much slower each direction of pinned host copies ran beside the other, measured on
    every GPU before the model was built and the largest over the ranks taken (runtime/copy_probe.py,
    profile/interference.py copy_pair_slowdowns); the run's mistpipe optimizer paths were priced on it
    (emit/ds_config.py with_machine_paths) and the accuracy report prices the run with it. Empty: not
    measured (no optimizer path to choose, --no-copy-probe, a CPU run, or a run before 2026-12-06)."""

    runtime_digest: str = Field(default="", pattern=r"^([0-9a-f]{16})?$")
    """Which version of mist_ds's training code ran: the first 16 hex digits of the SHA-256 over the
    sources that train (mist_ds/source_version.py RUNTIME_SOURCES: mist_ds/runtime/, mist_ds/train.py),
    as the run imported them. Two runs with the same digest ran the same engine; the committed runs of
    one plan kind can span engine versions (the track record, config/track_record.py). Empty: not
    recorded (reports written before session 40, 2026-12-05)."""

    @model_validator(mode="after")
    def _error_has_message(self) -> RunReport:
        if self.status != "ok" and not self.error_message:
            raise ValueError(f"status '{self.status}' needs an error_message")
        return self

    @model_validator(mode="after")
    def _killed_has_signal(self) -> RunReport:
        if (self.status == "killed") != (self.signal is not None):
            raise ValueError("a signal number goes with status 'killed', and only with it")
        return self

    @model_validator(mode="after")
    def _kernels_complete(self) -> RunReport:
        if self.kernels and (set(self.kernels) != set(KERNEL_KEYS) or not all(self.kernels.values())):
            raise ValueError(f"kernels must name every one of {', '.join(KERNEL_KEYS)} (or none)")
        return self

    @model_validator(mode="after")
    def _nodes_agree(self) -> RunReport:
        lengths = {len(t) for t in (self.node_mem_available_start_bytes,
                                    self.node_mem_available_min_bytes, self.node_mem_total_bytes) if t}
        if len(lengths) > 1:
            raise ValueError("per-node host memory fields must list the same number of nodes")
        return self

    @model_validator(mode="after")
    def _copy_pair(self) -> RunReport:
        if self.copy_slowdowns and (len(self.copy_slowdowns) != 2 or min(self.copy_slowdowns) <= 0):
            raise ValueError("copy_slowdowns is an (h2d, d2h) pair of positive slowdowns (or empty)")
        return self
