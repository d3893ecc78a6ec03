"""The GPU kernels of one profiled step: loaded from its chrome trace, classified, cut (CPU only).

The trace is the GPU side of one step's chrome trace (bench/runtime/trace_summary.py writes it:
kernels, memcpy, memset and the blocking runtime calls) or its digest (bench/engine/trace_digest.py,
what a GPU call brings back); load_kernels reads its GPU events as Kernels, each with its
trace_summary.kernel_category ('side_stream' for a non-NCCL event off the compute stream).
The step is cut by its own structure (micro_batches): every block runs one attention kernel per pass
(forward, and backward, named by the kernel: cuDNN 'fprop' / 'bprop', flash 'fwd' / 'bwd'), so a
micro-batch is the forward run of the stage's layers' attention kernels followed by the backward run
(recomputed forwards inside the backward are counted apart), and the optimizer step is what follows
the last micro-batch's backward. block_ops sums the kernels between consecutive attention kernels
of a pass per block op. Users: trace_compare.py (against the cost model), zero3_dp1.py,
zero3_exposed.py.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.runtime.trace_summary import GPU_CATS, kernel_category


def add_trace_plan_arguments(parser, trace_help: str, run_help: str) -> None:
    """The arguments of a profiled step beside the cost model (trace_compare.py, bench/engine/mistpipe_compare.py):
    the step's trace, the plan that ran, its profile, the traced rank's stage, the run's RunReport and --json."""
    parser.add_argument("trace", type=Path, help=trace_help)
    parser.add_argument("plan", type=Path, help="the plan that ran")
    parser.add_argument("--hardware", help="profile name or path (default: the plan's prediction's)")
    parser.add_argument("--stage", type=int, default=0, help="the traced rank's pipeline stage")
    parser.add_argument("--run", type=Path, help=run_help)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


class TraceError(ValueError):
    """The trace cannot be read or cut as the plan says."""


@dataclass(frozen=True)
class Kernel:
    """One GPU event: times in microseconds."""

    name: str
    start: float
    end: float
    stream: int
    # trace_summary.kernel_category's ('gemm', 'attention', 'triton', 'nccl', 'other'), 'memcpy', 'memset'
    # or 'side_stream'
    category: str


def gpu_events(raw: dict) -> list[tuple[str, float, float, int, str]]:
    """(name, start, duration, stream, trace category) of every GPU event of a chrome trace, or of a
    trace digest (bench/engine/trace_digest.py: 'columns' and 'events' rows, names cut to 60
    characters, host ops on stream 'cpu'), which is what a GPU call brings back of its traces."""
    if "events" in raw and "columns" in raw:
        return [(name, float(start), float(dur), int(stream), cat)
                for stream, start, dur, cat, _bytes, name in raw["events"] if stream != "cpu" and cat in GPU_CATS]
    return [(e.get("name", ""), float(e["ts"]), float(e.get("dur", 0.0)),
             int((e.get("args") or {}).get("stream", e.get("tid", 0))), e["cat"])
            for e in raw.get("traceEvents", []) if e.get("ph") == "X" and e.get("cat") in GPU_CATS]


def load_kernels(path: Path) -> list[Kernel]:
    """The GPU events of a chrome trace or a trace digest (.json or .json.gz), sorted by start."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        events = gpu_events(json.loads(raw))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    out = [Kernel(name, start, start + dur, stream, kernel_category(name) if cat == "kernel"
                  else "memcpy" if cat == "gpu_memcpy" else "memset")
           for name, start, dur, stream, cat in events]
    if not out:
        raise TraceError(f"trace {path} holds no GPU events")
    # non-NCCL kernels off the compute stream (the one with the most kernels; copy streams can hold
    # more events, e.g. ZeRO-3 offload's per-parameter copies): DeepSpeed's passes on its reduction
    # stream (average_tensor's div_, the copies into the partition)
    counts: dict[int, int] = defaultdict(int)
    for k in out:
        counts[k.stream] += k.category not in ("memcpy", "memset")
    main = max(counts, key=counts.get)
    out = [k if k.stream == main or k.category == "nccl" else
           Kernel(k.name, k.start, k.end, k.stream, "side_stream") for k in out]
    return sorted(out, key=lambda k: k.start)


def attention_pass(name: str) -> str | None:
    """'fwd' / 'bwd' for an attention kernel (cuDNN SDPA fprop/bprop, flash fwd/bwd, memory-efficient
    forward/backward), else None. Helper kernels of the backward (dot(dO, O), dq conversion) are None."""
    low = name.lower()
    if kernel_category(name) != "attention":
        return None
    if "fprop" in low or "flash_fwd" in low or "fmha_cutlassf" in low or "attention_forward" in low:
        return "fwd"
    if "bprop" in low or "flash_bwd" in low or "fmha_cutlassb" in low or "attention_backward" in low:
        return "bwd"
    return None


@dataclass(frozen=True)
class MicroBatch:
    """Attention-kernel starts of one micro-batch (microseconds)."""

    fwd: tuple[float, ...]
    bwd: tuple[float, ...]
    recompute: int
    """Forward attention kernels inside the backward (recomputed blocks)."""


def micro_batches(kernels: list[Kernel], num_layers: int) -> list[MicroBatch]:
    """Cut the step at its attention kernels (module docstring)."""
    out, fwd, bwd, rec = [], [], [], 0
    for k in kernels:
        kind = attention_pass(k.name)
        if kind == "fwd" and len(fwd) < num_layers:
            fwd.append(k.start)
        elif kind == "fwd":
            rec += 1
        elif kind == "bwd":
            if len(fwd) < num_layers:
                raise TraceError(f"a backward attention kernel after {len(fwd)} forward ones "
                                 f"(expected {num_layers} per micro-batch)")
            bwd.append(k.start)
            if len(bwd) == num_layers:
                out.append(MicroBatch(tuple(fwd), tuple(bwd), rec))
                fwd, bwd, rec = [], [], 0
    if fwd or bwd:
        raise TraceError(f"the trace ends inside a micro-batch ({len(fwd)} forward, {len(bwd)} backward "
                         f"attention kernels of {num_layers})")
    if not out:
        raise TraceError("no attention kernels: cannot find the micro-batches")
    return out


def block_op(kernel: Kernel, previous: Kernel | None, backward: bool) -> str:
    """The block op a kernel belongs to (block_ops): 'gemm', 'attention', 'swiglu' / 'rope' (the
    compiled Triton kernels: Inductor names them by the ops they fuse, 'silu' for SwiGLU), 'norm',
    'residual add' (forward: every vectorized add; backward: the add right after a norm's gamma
    backward), 'gradient accumulation add' (the other backward adds: autograd's AccumulateGrad into
    .grad between micro-batches), 'eager' (any other element-wise kernel), else the category."""
    name = kernel.name
    if kernel.category == "triton":
        return "swiglu" if "silu" in name else "rope"
    if kernel.category != "other":
        return kernel.category
    if "layer_norm" in name or "GammaBeta" in name:
        return "norm"
    if "vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add" in name:
        residual = not backward or (previous is not None and "GammaBeta" in previous.name)
        return "residual add" if residual else "gradient accumulation add"
    return "eager"


def block_ops(kernels: list[Kernel], num_layers: int) -> dict[str, dict[str, float]]:
    """Mean microseconds per block pass of each block op ('fwd' / 'bwd' -> block_op -> us), over the
    windows from one attention kernel of a pass to the next: each holds one of every op of a block
    (forward: o-proj and MLP of block i, norm, q|k|v and RoPE of block i + 1; backward the reverse).
    Runs with recomputed blocks are refused (their forwards fall inside the backward windows)."""
    mbs = micro_batches(kernels, num_layers)
    if any(mb.recompute for mb in mbs) or num_layers < 2:
        raise TraceError("block_ops needs a step without recomputed blocks and at least 2 layers")
    out: dict[str, dict[str, float]] = {"fwd": defaultdict(float), "bwd": defaultdict(float)}
    count, i = 0, 0
    for mb in mbs:
        count += num_layers - 1
        for direction, starts in (("fwd", mb.fwd), ("bwd", mb.bwd)):
            for lo, hi in zip(starts, starts[1:]):
                while i < len(kernels) and kernels[i].start < lo:
                    i += 1
                previous, j = None, i
                while j < len(kernels) and kernels[j].start < hi:
                    k = kernels[j]
                    out[direction][block_op(k, previous, direction == "bwd")] += k.end - k.start
                    previous = k if k.category not in ("nccl", "side_stream") else previous
                    j += 1
    return {d: {op: us / count for op, us in ops.items()} for d, ops in out.items()}
