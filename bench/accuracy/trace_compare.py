#!/usr/bin/env python3
"""A profiled step beside the cost model's components (CPU only).

    python bench/accuracy/trace_compare.py TRACE.trace.json.gz PLAN.json [--hardware h200] [--run RUN.json] [--json]

TRACE is the GPU side of one step's chrome trace (bench/runtime/trace_summary.py writes it: kernels,
memcpy, memset and the blocking runtime calls). The step is cut by its own structure: every block
runs one attention kernel per pass (forward, and backward, named by the kernel: cuDNN 'fprop' /
'bprop', flash 'fwd' / 'bwd'), so a micro-batch is the forward run of the stage's layers' attention
kernels followed by the backward run (recomputed forwards inside the backward are counted apart),
and the optimizer step is what follows the last micro-batch's backward.

Per micro-batch the kernels between the first and the last attention kernel of a pass cover
L - 1 whole blocks (L = the stage's layers), so L / (L - 1) times their sum is the L blocks of that
pass, per kernel category (trace_summary.kernel_category); the rest of the micro-batch is the
embedding, the final norm, the LM head and the loss (forward and backward). NCCL kernels are split
into the time another stream's kernel overlaps them and the exposed rest; GPU idle gaps (no kernel
on any stream) are summed per phase.

The model side is the cost model itself: cost/layer_time.py block_parts and head_parts per block
and for the head, cost/stage.py StageCostModel.time_parts for DP communication, DeepSpeed's copies,
the optimizer step and the host terms, cost/plan_predict.py predict_plan for the iteration; all for
the kernels the traced run recorded (--run: its RunReport.kernels), else the runtime's default set.
Exit 2 on bad input (unreadable files, a trace whose attention kernels do not match the plan).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.runtime.trace_summary import kernel_category  # noqa: E402
from mist_ds.config import HardwareProfile, Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.layer_time import block_parts, head_parts  # noqa: E402
from mist_ds.cost.kernel_set import KernelSet  # noqa: E402
from mist_ds.cost.mistpipe import cost_model_for  # noqa: E402
from mist_ds.cost.plan_predict import predict_plan  # noqa: E402
from mist_ds.runtime.mistpipe.trace import union  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402

GPU_CATS = ("kernel", "gpu_memcpy", "gpu_memset")
CATEGORIES = ("gemm", "attention", "other", "triton", "memcpy", "memset", "side_stream", "nccl")


class TraceError(ValueError):
    """The trace cannot be read or cut as the plan says."""


@dataclass(frozen=True)
class Kernel:
    """One GPU event: times in microseconds."""

    name: str
    start: float
    end: float
    stream: int
    category: str


def load_kernels(path: Path) -> list[Kernel]:
    """The GPU events of a chrome trace (.json or .json.gz), sorted by start."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        events = json.loads(raw).get("traceEvents", [])
    except (OSError, ValueError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    out = []
    for e in events:
        if e.get("ph") != "X" or e.get("cat") not in GPU_CATS:
            continue
        cat = (kernel_category(e.get("name", "")) if e["cat"] == "kernel"
               else "memcpy" if e["cat"] == "gpu_memcpy" else "memset")
        stream = (e.get("args") or {}).get("stream", e.get("tid", 0))
        out.append(Kernel(e.get("name", ""), float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0.0)),
                          int(stream), cat))
    if not out:
        raise TraceError(f"trace {path} holds no GPU events")
    # non-NCCL kernels off the compute stream (the one with the most events): DeepSpeed's passes on
    # its reduction stream (average_tensor's div_, the copies into the partition)
    counts: dict[int, int] = defaultdict(int)
    for k in out:
        counts[k.stream] += 1
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


@dataclass
class Phase:
    """What the trace measured in one phase (milliseconds)."""

    kernel_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    nccl_exposed_ms: float = 0.0
    idle_ms: float = 0.0
    wall_ms: float = 0.0


_union = union  # the one interval union (mist_ds/runtime/mistpipe/trace.py); zero3_exposed.py imports it


def _covered(start: float, end: float, spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)


def _fill(phase: Phase, kernels: list[Kernel], lo: float, hi: float, scale: float,
          compute_spans: list[tuple[float, float]], busy_spans: list[tuple[float, float]]) -> None:
    """Add the kernels starting in [lo, hi) to `phase`, times `scale`; idle time of [lo, hi)."""
    for k in kernels:
        if lo <= k.start < hi:
            phase.kernel_ms[k.category] += scale * (k.end - k.start) / 1e3
            if k.category == "nccl":
                hidden = _covered(k.start, k.end, compute_spans)
                phase.nccl_exposed_ms += scale * (k.end - k.start - hidden) / 1e3
    phase.idle_ms += scale * (hi - lo - _covered(lo, hi, busy_spans)) / 1e3
    phase.wall_ms += scale * (hi - lo) / 1e3


def measure(kernels: list[Kernel], num_layers: int) -> dict[str, Phase]:
    """Phases of the step: 'blocks_fwd', 'blocks_bwd' (L blocks per micro-batch, summed over the
    micro-batches), 'edges' (the rest of the micro-batches: embedding, head, loss, the boundary),
    'step' (after the last backward), 'before' (before the first forward) and 'all'."""
    mbs = micro_batches(kernels, num_layers)
    ratio = num_layers / (num_layers - 1) if num_layers > 1 else 1.0
    compute_spans = _union([(k.start, k.end) for k in kernels if k.category != "nccl"])
    busy_spans = _union([(k.start, k.end) for k in kernels])
    end = max(k.end for k in kernels)
    # a micro-batch runs from its first kernel after the previous one's end to the next one's
    # start; the last one ends after its last backward attention by the median tail of the others
    starts = [_first_start(kernels, mb.fwd[0], prev) for mb, prev in zip(mbs, [None] + mbs[:-1])]
    tails = sorted(s - prev.bwd[-1] for s, prev in zip(starts[1:], mbs[:-1]))
    last_end = mbs[-1].bwd[-1] + (tails[len(tails) // 2] if tails else 0.0)
    bounds = list(zip(starts, starts[1:] + [min(last_end, end)]))
    phases = {name: Phase() for name in ("before", "blocks_fwd", "blocks_bwd", "edges", "step", "all")}
    fill = lambda name, lo, hi, scale=1.0: _fill(phases[name], kernels, lo, hi, scale,  # noqa: E731
                                                 compute_spans, busy_spans)
    fill("before", kernels[0].start, starts[0])
    for mb, (lo, hi) in zip(mbs, bounds):
        ends = (mb.fwd[-1] if num_layers > 1 else hi, mb.bwd[-1] if num_layers > 1 else hi)
        fill("blocks_fwd", mb.fwd[0], ends[0], ratio)
        fill("blocks_bwd", mb.bwd[0], ends[1], ratio)
        fill("edges", lo, hi)
    fill("step", bounds[-1][1], end + 1e-9)
    fill("all", kernels[0].start, end + 1e-9)
    edges = phases["edges"]   # the micro-batch spans minus the scaled blocks
    for blocks in (phases["blocks_fwd"], phases["blocks_bwd"]):
        for cat, ms in blocks.kernel_ms.items():
            edges.kernel_ms[cat] -= ms
        edges.nccl_exposed_ms -= blocks.nccl_exposed_ms
        edges.idle_ms -= blocks.idle_ms
        edges.wall_ms -= blocks.wall_ms
    phases["micro_batches"] = Phase(wall_ms=sum(hi - lo for lo, hi in bounds) / 1e3)
    phases["micro_batches"].kernel_ms["count"] = len(mbs)
    phases["micro_batches"].kernel_ms["recompute"] = sum(mb.recompute for mb in mbs)
    return phases


def _first_start(kernels: list[Kernel], first_fwd: float, prev: MicroBatch | None) -> float:
    """Start of a micro-batch: the end of the longest GPU idle gap between the previous micro-batch's
    last backward attention kernel and this one's first forward one (the host's turn between
    them), or the first kernel of the trace."""
    if prev is None:
        return kernels[0].start
    spans = _union([(k.start, k.end) for k in kernels if prev.bwd[-1] <= k.start <= first_fwd])
    gaps = [(b[0] - a[1], b[0]) for a, b in zip(spans, spans[1:])]
    return max(gaps)[1] if gaps else first_fwd


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


def model_components(plan: Plan, hw: HardwareProfile, stage: int = 0,
                     kernels: KernelSet | None = None) -> dict[str, float]:
    """The cost model's components of one iteration of `stage`, in milliseconds (module docstring),
    for the element-wise and loss `kernels` (None: the runtime's default set)."""
    model = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=plan.attention, kernels=kernels)
    parts = {k: float(v) for k, v in model.time_parts(plan_stage_args(plan, stage)).items()}
    layers, g = plan.stages[stage].num_layers, plan.grad_accum_steps
    blocks = block_parts(hw, plan.model, plan.micro_batch_size, plan.seq_len, plan.tp, kernels=kernels)
    edge = head_parts(hw, plan.model, plan.micro_batch_size * plan.seq_len, plan.tp, kernels=kernels)
    last, first = stage == plan.num_stages - 1, stage == 0
    out = {f"blocks_{d}_{cat}": 1e3 * g * layers * blocks[cat][i]
           for i, d in enumerate(("fwd", "bwd")) for cat in ("gemm", "attention", "other")}
    out.update({
        "edges_gemm": 1e3 * g * edge["head_gemm"] * last,
        "edges_other": 1e3 * g * (edge["loss"] * last + edge["final_norm"] * last + edge["embedding"] * first),
        "deepspeed_copies": 1e3 * g * parts["deepspeed_copies_mb"],
        "recompute": 1e3 * g * parts["recompute_mb"],
        "dp_comm": 1e3 * g * parts["dp_comm_mb"],
        "busy": 1e3 * g * (parts["busy_compute_mb"] + parts["recompute_mb"]),
        "overlapped": 1e3 * g * parts["overlapped_mb"],
        "host_side": 1e3 * g * parts["host_side_mb"],
        "host_mb": 1e3 * g * parts["host_exposed_mb"],
        "tp_and_transfers": 1e3 * g * (parts["tp_comm_mb"] + parts["sync_transfer_mb"]),
        "step_comm": 1e3 * parts["step_comm"],
        "step_optimizer": 1e3 * max(parts["gpu_adam"] + parts["step_copies"],
                                    parts["cpu_adam"] + parts["step_transfers"]),
        "host_step": 1e3 * parts["host_step"],
    })
    out["micro_batches"] = 1e3 * g * float(model.evaluate(plan_stage_args(plan, stage)).stable_time_s)
    out["iteration"] = 1e3 * predict_plan(plan, hw, kernels=kernels).iteration_time_s
    return out


def _other(phase: Phase) -> float:
    return sum(phase.kernel_ms.get(c, 0.0) for c in ("other", "triton", "memset"))


def rows(m: dict[str, float], t: dict[str, Phase]) -> list[tuple[str, float | None, float | None]]:
    """(component, model ms, trace ms) per iteration; None where one side has no such number."""
    fwd, bwd, edges, step, everything = (t[k] for k in ("blocks_fwd", "blocks_bwd", "edges", "step", "all"))
    k = lambda phase, cat: phase.kernel_ms.get(cat, 0.0)  # noqa: E731
    nccl_mb = k(bwd, "nccl") + k(fwd, "nccl") + k(edges, "nccl")
    exposed_mb = bwd.nccl_exposed_ms + fwd.nccl_exposed_ms + edges.nccl_exposed_ms
    out = []
    for d, phase in (("fwd", fwd), ("bwd", bwd)):
        out += [(f"blocks {d}: gemm", m[f"blocks_{d}_gemm"], k(phase, "gemm")),
                (f"blocks {d}: attention", m[f"blocks_{d}_attention"], k(phase, "attention")),
                (f"blocks {d}: element-wise", m[f"blocks_{d}_other"], _other(phase))]
    out += [("DeepSpeed gradient passes (bucket copy, div_, partition)", m["deepspeed_copies"],
             sum(k(p, "memcpy") + k(p, "side_stream") for p in (fwd, bwd, edges))),
            ("recompute (inside blocks bwd)", m["recompute"], None),
            ("head + loss + embedding: gemm", m["edges_gemm"], k(edges, "gemm")),
            ("head + loss + embedding: element-wise", m["edges_other"], _other(edges)),
            ("micro-batches: compute kernels (no NCCL)", m["busy"],
             sum(sum(v for c, v in p.kernel_ms.items() if c != "nccl") for p in (fwd, bwd, edges))),
            ("micro-batches: DP communication (kernel time)", m["dp_comm"], nccl_mb),
            ("micro-batches: NCCL exposed", None, exposed_mb),
            ("micro-batches: overlapped wall (model: interference)", m["overlapped"],
             fwd.wall_ms + bwd.wall_ms + edges.wall_ms - fwd.idle_ms - bwd.idle_ms - edges.idle_ms),
            ("micro-batches: host thread (overlaps the GPU)", m["host_side"], None),
            ("micro-batches: host (GPU idle)", m["host_mb"], fwd.idle_ms + bwd.idle_ms + edges.idle_ms),
            ("micro-batches: TP comm + synchronous transfers", m["tp_and_transfers"], None),
            ("micro-batches: wall", m["micro_batches"], fwd.wall_ms + bwd.wall_ms + edges.wall_ms),
            ("step: DP communication", m["step_comm"], k(step, "nccl")),
            ("step: optimizer + DeepSpeed passes", m["step_optimizer"],
             sum(v for c, v in step.kernel_ms.items() if c != "nccl")),
            ("step: host (GPU idle)", m["host_step"], step.idle_ms),
            ("step: wall", m["step_comm"] + m["step_optimizer"] + m["host_step"], step.wall_ms),
            ("before the first forward (idle)", None, t["before"].wall_ms),
            ("iteration (trace: GPU span)", m["iteration"], everything.wall_ms)]
    return out


def render(table: list[tuple[str, float | None, float | None]], title: str) -> str:
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    lines = [f"# {title}", "", "| component (ms per iteration) | model | trace | trace - model |",
             "|---|---|---|---|"]
    for name, model, trace in table:
        diff = None if model is None or trace is None else trace - model
        lines.append(f"| {name} | {fmt(model)} | {fmt(trace)} | {fmt(diff)} |")
    return "\n".join(lines) + "\n"


def compare(trace: Path, plan_path: Path, hardware: str | None, stage: int = 0,
            run_path: Path | None = None) -> dict:
    """Both sides of one profiled step: {'rows', 'model', 'trace'} (JSON-ready). `run_path`: the traced
    run's RunReport, whose recorded kernels the model then costs (without it: the runtime's default)."""
    plan = Plan.load(plan_path)
    run = RunReport.load(run_path) if run_path else None
    kernels = KernelSet.from_record(run.kernels, run.date_utc) if run else None
    if not 0 <= stage < plan.num_stages:
        raise TraceError(f"plan has {plan.num_stages} stage(s), not stage {stage}")
    hw = load_hardware(hardware or (plan.prediction.hardware_name if plan.prediction else "h200"))
    phases = measure(load_kernels(trace), plan.stages[stage].num_layers)
    count = int(phases["micro_batches"].kernel_ms["count"])
    if count != plan.grad_accum_steps:
        raise TraceError(f"trace holds {count} micro-batches, the plan {plan.grad_accum_steps}")
    model = model_components(plan, hw, stage, kernels)
    return {"rows": rows(model, phases), "model": model,
            "trace": {name: {"kernel_ms": dict(p.kernel_ms), "nccl_exposed_ms": p.nccl_exposed_ms,
                             "idle_ms": p.idle_ms, "wall_ms": p.wall_ms} for name, p in phases.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace", type=Path, help="<name>.rank<r>.trace.json.gz of one profiled step")
    parser.add_argument("plan", type=Path, help="the plan that ran")
    parser.add_argument("--hardware", help="profile name or path (default: the plan's prediction's)")
    parser.add_argument("--stage", type=int, default=0, help="the traced rank's pipeline stage")
    parser.add_argument("--run", type=Path, help="the traced run's RunReport: cost the kernels it recorded")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--ops", action="store_true",
                        help="print the mean us per block pass of each block op (block_ops) instead")
    args = parser.parse_args(argv)
    try:
        if args.ops:
            plan = Plan.load(args.plan)
            ops = block_ops(load_kernels(args.trace), plan.stages[args.stage].num_layers)
            print(json.dumps({d: dict(sorted(v.items())) for d, v in ops.items()}, indent=1))
            return 0
        result = compare(args.trace, args.plan, args.hardware, args.stage, args.run)
    except (TraceError, OSError, ValueError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(render(result["rows"], f"{args.trace.name} vs the cost model ({args.plan.name})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
