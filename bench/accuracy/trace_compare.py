#!/usr/bin/env python3
"""A profiled step beside the cost model's components (CPU only).

    python bench/accuracy/trace_compare.py TRACE.trace.json.gz PLAN.json [--hardware h200] [--run RUN.json] [--json]

TRACE is the GPU side of one step's chrome trace (bench/runtime/trace_summary.py writes it: kernels, memcpy,
memset and the blocking runtime calls) or its digest (bench/engine/trace_digest.py). The step is cut by its
own structure: every block runs one attention kernel per pass (forward, and backward, named by the kernel:
cuDNN 'fprop' / 'bprop', flash 'fwd' / 'bwd'), so a micro-batch is the forward run of the stage's layers'
attention kernels followed by the backward run (recomputed forwards inside the backward are counted apart),
and the optimizer step is what follows the last micro-batch's backward (bench/accuracy/trace_kernels.py reads
the trace and cuts it).

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

import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import (Kernel, MicroBatch, TraceError, add_trace_plan_arguments,  # noqa: E402
                                          block_ops, load_kernels, micro_batches)
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config import HardwareProfile, Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.layer_time import block_parts, head_parts  # noqa: E402
from mist_ds.cost.kernel_set import KernelSet  # noqa: E402
from mist_ds.cost.mistpipe import cost_model_for  # noqa: E402
from mist_ds.cost.plan_predict import predict_plan  # noqa: E402
from mist_ds.runtime.mistpipe.trace import union  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402

@dataclass
class Phase:
    """What the trace measured in one phase (milliseconds)."""

    kernel_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    nccl_exposed_ms: float = 0.0
    idle_ms: float = 0.0
    wall_ms: float = 0.0


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
    compute_spans = union([(k.start, k.end) for k in kernels if k.category != "nccl"])
    busy_spans = union([(k.start, k.end) for k in kernels])
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
    spans = union([(k.start, k.end) for k in kernels if prev.bwd[-1] <= k.start <= first_fwd])
    gaps = [(b[0] - a[1], b[0]) for a, b in zip(spans, spans[1:])]
    return max(gaps)[1] if gaps else first_fwd


def model_components(plan: Plan, hw: HardwareProfile, stage: int = 0,
                     kernels: KernelSet | None = None) -> dict[str, float]:
    """The cost model's components of one iteration of `stage`, in milliseconds (module docstring),
    for the element-wise and loss `kernels` (None: the runtime's default set)."""
    conditions = RunConditions(kernels=kernels)
    model = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=plan.attention, conditions=conditions)
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
    out["iteration"] = 1e3 * predict_plan(plan, hw, conditions).iteration_time_s
    return out


BWD_WITH_PASSES = "blocks bwd: element-wise + DeepSpeed gradient passes"
"""The row to read for backward element-wise pricing: autograd's AccumulateGrad adds into .grad (ZeRO-0/1 with
accumulation, priced in the model's DeepSpeed passes, cost/work.py mb_copy_bytes) run as compute-stream kernels
among a block's backward kernels, so the trace counts them as block element-wise and its 'DeepSpeed gradient
passes' holds only copies and side-stream kernels (bench/results/elementwise_audit.md)."""


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
    passes = sum(k(p, "memcpy") + k(p, "side_stream") for p in (fwd, bwd, edges))
    out += [("DeepSpeed gradient passes (bucket copy, div_, partition)", m["deepspeed_copies"], passes),
            (BWD_WITH_PASSES, m["blocks_bwd_other"] + m["deepspeed_copies"], _other(bwd) + passes),
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
    if plan.executor != "deepspeed":
        raise TraceError(f"the model side prices stock DeepSpeed stages only, not a {plan.executor} plan "
                         "(bench/engine/mistpipe_compare.py compares a mistpipe step)")
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
    parser = OneLineParser(prog="bench/accuracy/trace_compare.py", description=__doc__.split("\n\n")[0])
    add_trace_plan_arguments(parser, "<name>.rank<r>.trace.json.gz of one profiled step",
                             "the traced run's RunReport: cost the kernels it recorded")
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
