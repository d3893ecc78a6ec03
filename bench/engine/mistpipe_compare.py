#!/usr/bin/env python3
"""A profiled mistpipe step beside the cost model's per-micro-batch parts (CPU only).

    python bench/engine/mistpipe_compare.py DIGEST PLAN [--hardware NAME] [--stage I] [--run RUN.json] [--json]

DIGEST is one rank's trace digest (bench/engine/trace_digest.py) or chrome trace of a profiled mistpipe step
(bench/runtime/traced_train.py), PLAN the plan that ran. bench/accuracy/trace_compare.py does this for stock
DeepSpeed stages; mistpipe's model is structural (cost/mistpipe.py: per-block copy windows, the channels'
interference, the host's per-pass work overlapped per pass), so its parts are set beside the trace's passes:

* the step is cut at its attention kernels (bench/accuracy/trace_kernels.py micro_batches): a micro-batch's
  forward runs from its first forward attention kernel to its first backward one, its backward from there to
  the next micro-batch's first forward one; the last micro-batch's backward is left out (its end is the step's
  reduction), so the trace column is the median over the other micro-batches;
* per pass: wall, compute-stream busy, host-to-device and device-to-host copy busy, any-stream busy (their
  union) and idle (nothing on the GPU: the training thread holds it);
* the model: MistpipeStageCostModel.micro_batch_parts with the run's conditions (--run: RunConditions.of_run,
  else the engine's defaults). Its forward window is what the GPU needs for the forward's blocks and copies,
  its forward time what the step spends there once the host's per-pass work is overlapped.

The iteration row compares the model's G x stable + delta with the profiled step's span; a profiled step runs
host-paced phases slower than the unprofiled ones (bench/results/runtime/off1_trace_S24), so --run also prints
the run's unprofiled median. Exit 2 on bad input (unreadable files, a plan of another executor, a trace that
does not cut into the plan's micro-batches).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import (Kernel, TraceError, add_trace_plan_arguments, load_kernels,  # noqa: E402
                                          micro_batches)
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.mistpipe import MistpipeStageCostModel  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402
from mist_ds.runtime.mistpipe.trace import measure, union  # noqa: E402

CHANNELS = ("compute", "h2d", "d2h", "any")


def channel(kernel: Kernel) -> str | None:
    """'h2d' / 'd2h' for a copy by direction (by its name: load_kernels files copies on the copy streams as
    'side_stream'), 'compute' for a kernel on the compute stream, else None (memsets, device-to-device
    copies, NCCL, other streams' kernels)."""
    if kernel.name.startswith("Memcpy"):
        return "h2d" if "HtoD" in kernel.name else "d2h" if "DtoH" in kernel.name else None
    return None if kernel.category in ("memcpy", "memset", "side_stream", "nccl") else "compute"


def busy_ms(kernels: list[Kernel], lo: float, hi: float) -> dict[str, float]:
    """Milliseconds each channel (and any of them) is busy within [lo, hi) microseconds, and the wall."""
    spans: dict[str, list[tuple[float, float]]] = {name: [] for name in CHANNELS}
    for k in kernels:
        if k.end <= lo or k.start >= hi:
            continue
        clipped = (max(k.start, lo), min(k.end, hi))
        spans["any"].append(clipped)
        if (name := channel(k)) is not None:
            spans[name].append(clipped)
    out = {name: measure(union(s)) / 1e3 for name, s in spans.items()}
    out["wall"] = (hi - lo) / 1e3
    out["idle"] = out["wall"] - out["any"]
    return out


def trace_passes(kernels: list[Kernel], num_layers: int, grad_accum: int) -> dict:
    """Per-pass medians over the micro-batches but the last (module docstring), the step's span and the
    part after the last micro-batch's last backward attention kernel, in milliseconds."""
    mbs = micro_batches(kernels, num_layers)
    if len(mbs) != grad_accum:
        raise TraceError(f"trace holds {len(mbs)} micro-batches, the plan {grad_accum}")
    if len(mbs) < 2:
        raise TraceError("one micro-batch: no backward ends inside the step to compare (accumulate >= 2)")
    fwd = [busy_ms(kernels, mb.fwd[0], mb.bwd[0]) for mb in mbs[:-1]]
    bwd = [busy_ms(kernels, mb.bwd[0], nxt.fwd[0]) for mb, nxt in zip(mbs, mbs[1:])]
    med = lambda rows: {k: statistics.median(r[k] for r in rows) for k in rows[0]}  # noqa: E731
    end = max(k.end for k in kernels)
    return {"forward": med(fwd), "backward": med(bwd), "micro_batches": len(mbs),
            "span_ms": (end - kernels[0].start) / 1e3, "after_last_backward_ms": (end - mbs[-1].bwd[-1]) / 1e3}


def model_parts(plan: Plan, hw, stage: int, conditions: RunConditions) -> dict[str, float]:
    """MistpipeStageCostModel.micro_batch_parts of `stage`, in milliseconds."""
    model = MistpipeStageCostModel(plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                                   plan.cluster.gpus_per_node, attention=plan.attention, conditions=conditions)
    return {k: 1e3 * float(v) for k, v in model.micro_batch_parts(plan_stage_args(plan, stage)).items()}


def rows(m: dict[str, float], t: dict, grad_accum: int) -> list[tuple[str, float | None, float | None]]:
    """(part, model ms, trace ms); None where one side has no such number."""
    f, b = t["forward"], t["backward"]
    backward_time = m["stable_time_s"] - m["forward_time_s"]
    return [
        ("forward: GPU window (blocks + copies)", m["mb_forward_wall"], f["any"]),
        ("forward: host's per-pass and per-micro-batch work", m["host_forward"], None),
        ("forward: wall", m["forward_time_s"], f["wall"]),
        ("backward: GPU window", m["mb_backward_wall"], b["any"]),
        ("backward: host's per-pass work", m["host_backward"], None),
        ("backward: wall", backward_time, b["wall"]),
        ("micro-batch: compute", m["mb_compute"] + m["mb_recompute"], f["compute"] + b["compute"]),
        ("micro-batch: host-to-device copies", m["mb_h2d"], f["h2d"] + b["h2d"]),
        ("micro-batch: device-to-host copies", m["mb_d2h"], f["d2h"] + b["d2h"]),
        ("micro-batch: GPU idle", None, f["idle"] + b["idle"]),
        ("micro-batch: wall (stable)", m["stable_time_s"], f["wall"] + b["wall"]),
        ("step after the last backward (delta)", m["delta_time_s"], t["after_last_backward_ms"]),
        ("iteration (G x stable + delta)", grad_accum * m["stable_time_s"] + m["delta_time_s"], t["span_ms"]),
    ]


def compare(trace: Path, plan_path: Path, hardware: str | None, stage: int = 0, run_path: Path | None = None):
    """{'rows', 'model', 'trace', 'unprofiled_median_ms'} of one profiled mistpipe step (JSON-ready)."""
    plan = Plan.load(plan_path)
    if plan.executor != "mistpipe":
        raise TraceError(f"a {plan.executor} plan: bench/accuracy/trace_compare.py compares stock DeepSpeed steps")
    if not 0 <= stage < plan.num_stages:
        raise TraceError(f"plan has {plan.num_stages} stage(s), not stage {stage}")
    run = RunReport.load(run_path) if run_path else None
    conditions = RunConditions.of_run(plan, run) if run else RunConditions()
    hw = load_hardware(hardware or (plan.prediction.hardware_name if plan.prediction else "h200"))
    t = trace_passes(load_kernels(trace), plan.stages[stage].num_layers, plan.grad_accum_steps)
    m = model_parts(plan, hw, stage, conditions)
    unprofiled = 1e3 * run.median_iteration_time_s if run and run.median_iteration_time_s else None
    return {"rows": rows(m, t, plan.grad_accum_steps), "model": m, "trace": t, "unprofiled_median_ms": unprofiled}


def render(result: dict, title: str) -> str:
    """The rows as a markdown table (ms per iteration part; error = model / trace - 1)."""
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    lines = [f"## {title}", "", "| part | model ms | trace ms | model / trace - 1 |", "|---|---|---|---|"]
    for name, model, trace in result["rows"]:
        err = f"{model / trace - 1:+.1%}" if model is not None and trace else "-"
        lines.append(f"| {name} | {fmt(model)} | {fmt(trace)} | {err} |")
    if result["unprofiled_median_ms"] is not None:
        lines += ["", f"The run's unprofiled median iteration: {result['unprofiled_median_ms']:.1f} ms."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="bench/engine/mistpipe_compare.py", description=__doc__.split("\n\n")[0])
    add_trace_plan_arguments(parser, "a trace digest (or chrome trace) of one profiled mistpipe step",
                             "the traced run's RunReport: its conditions and unprofiled median")
    args = parser.parse_args(argv)
    try:
        result = compare(args.trace, args.plan, args.hardware, args.stage, args.run)
    except (TraceError, OSError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else
          render(result, f"{args.trace.name} vs the cost model ({args.plan.name})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
