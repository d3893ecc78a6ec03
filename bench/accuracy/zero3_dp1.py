#!/usr/bin/env python3
"""Two profiled 1-GPU ZeRO-3 steps beside the cost model, per pass (CPU only; bench/accuracy/ZERO3_DP1.md).

    python bench/accuracy/zero3_dp1.py [--step]

Cases (committed): g27-1g-c78-s2048-z3-mb4-rc24 and g13-1g-c40-s2048-z3-mb2, each with its plan, the
suite's untraced run (<case>.run.json), the run with one profiled step (<case>.profiled-run.json: its
iteration_times_s are two untraced steps and the traced one, in that order) and the trace
(traces/<name>.rank0.trace.json.gz). Prints, per case:
  1. the runs: the suite run's steps and the runs it shared the host with (the batch bundle's
     concurrent_with), the profiled run's untraced steps, and the model's prediction against both;
  2. per micro-batch and pass, GPU busy / GPU idle / wall of the trace (block passes cut at the
     attention kernels as bench/accuracy/trace_compare.py does, scaled from L - 1 to L blocks; the
     backward's blocks split into those with a recomputed forward and those without) beside the
     model's GPU and host time per pass (cost/stage_time.py host_parts: forward = max(GPU, host), ...);
  3. the bias adds of ZeRO-3's linear in the forward blocks (cost/zero3_linear.py): measured per block
     against the model's price;
  4. the factor on the model's three fitted host terms that reproduces each measurement, and g27
     predicted at g13's factor with and without the two host costs the traces show (what_if);
  5. the optimizer step (--step: only this, for all committed ZeRO-3 traces): fused Adam, the
     DeepSpeed passes (every other non-NCCL kernel after the host gap that follows the backward's
     epilogue), the host gap, against the model (rates.py ZERO3_STEP_PASS_FRACTION, fitted on the
     first row).
The traced step ran with torch.profiler recording CPU ops, which slows the host thread: its host-bound
parts are longer than in an untraced step (section 1 shows by how much in total).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.trace_kernels import Kernel, load_kernels, micro_batches  # noqa: E402
from bench.accuracy.zero3_exposed import covered  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.mistpipe import cost_model_for  # noqa: E402
from mist_ds.cost.plan_predict import predict_plan  # noqa: E402
from mist_ds.cost.rates import ZERO3_STEP_PASS_FRACTION  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402
from mist_ds.cost.zero3_linear import bias_add_forward_s, biased_column_widths  # noqa: E402
from mist_ds.runtime.mistpipe.trace import union  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ACC = ROOT / "bench" / "results" / "accuracy"
CASES = (("g27-1g-c78-s2048-z3-mb4-rc24", "g27-z3-rc24"), ("g13-1g-c40-s2048-z3-mb2", "g13-z3"))
STEP_TRACES = (  # (trace, plan): the fit row first
    ("runtime/parity/traces/zero3-rc.mist.rank0", "runtime/parity/zero3-rc.plan.json"),
    ("accuracy/traces/l7-z3-rc0.rank0", "accuracy/l7-2g-c78-z3-mb1-rc0.plan.json"),
    ("accuracy/traces/g27-z3-rc24.rank0", "accuracy/g27-1g-c78-s2048-z3-mb4-rc24.plan.json"),
    ("accuracy/traces/g13-z3.rank0", "accuracy/g13-1g-c40-s2048-z3-mb2.plan.json"),
)
BIAS_ADD = "elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::CUDAFunctor_add"


HOST_TERMS = ("host_microbatch_overhead_s", "host_layer_overhead_s", "host_launch_overhead_s")
CHECKPOINT_TRACED_S, PROFILER_SLOWDOWN, STEP_GAP_S = 0.77e-3, 1.24, 10e-3
"""Section 7's what-if terms, measured in section 3 / 5 of ZERO3_DP1.md (traced), not model terms."""


def scaled_hw(scale: float):
    """The h200 profile with its three fitted host-thread terms times `scale`."""
    hw = load_hardware("h200")
    return hw.model_copy(update={k: getattr(hw, k) * scale for k in HOST_TERMS})


def model_parts(plan: Plan, hw=None) -> dict[str, float]:
    """The model's per-micro-batch GPU and host time per pass and its per-step terms, seconds."""
    hw = hw or load_hardware("h200")
    m = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                       plan.cluster.gpus_per_node, attention=plan.attention)
    args = plan_stage_args(plan, 0)
    p = {k: float(v) for k, v in m.time_parts(args).items()}
    host = p["host_side_mb"] - hw.host_microbatch_overhead_s
    gpu_f = p["gpu_side_mb"] * p["forward_share"]
    return {"gpu_f": gpu_f, "gpu_b": p["gpu_side_mb"] - gpu_f, "host_f": host * p["host_forward_fraction"],
            "host_b": host * (1 - p["host_forward_fraction"]), "mb_host": hw.host_microbatch_overhead_s,
            "stable": p["stable_mb"], "adam": p["gpu_adam"], "passes": p["step_copies"],
            "host_step": p["host_step"], "iteration": predict_plan(plan, hw).iteration_time_s,
            "partition": float(m.terms(args)["gpu_adam_params"])}


def bundle_of(case: str) -> tuple[str, list[str]]:
    """(bundle file, the runs the suite run shared the host with) from bench/results/accuracy/bundles."""
    for path in sorted((ACC / "bundles").glob("*.json")):
        for run in json.loads(path.read_text())["runs"]:
            if run["case"] == case:
                return path.name, run.get("concurrent_with", [])
    return "-", []


def runs_section(case: str, plan: Plan, m: dict) -> None:
    suite, prof = RunReport.load(ACC / f"{case}.run.json"), RunReport.load(ACC / f"{case}.profiled-run.json")
    bundle, with_ = bundle_of(case)
    alone = statistics.median(prof.iteration_times_s[:-1])
    print(f"### {case}: {plan.model.name}, mb {plan.micro_batch_size}, ga {plan.grad_accum_steps}, "
          f"recompute {plan.stages[0].num_recompute_layers}/{plan.stages[0].num_layers}\n")
    print("| run | host | steps s | median s | model s | model error |\n|---|---|---|---|---|---|")
    for name, rep, med, where in (
            ("suite (.run.json)", suite, suite.median_iteration_time_s,
             f"{bundle}, beside {', '.join(with_) or 'nothing'}"),
            ("profiled run, untraced steps", prof, alone, "alone on a 1-GPU host")):
        steps = rep.iteration_times_s if rep is suite else rep.iteration_times_s[:-1]
        print(f"| {name} | {where}; {rep.date_utc} | {', '.join(f'{s:.3f}' for s in steps)} | {med:.3f} | "
              f"{m['iteration']:.3f} | {(m['iteration'] / med - 1) * 100:+.1f}% |")
    print(f"| profiled run, traced step | as above | {prof.iteration_times_s[-1]:.3f} | - | - | - |\n")


def _window(ks: list[Kernel], lo: float, hi: float, busy) -> tuple[float, float, int]:
    """(GPU busy ms, wall ms, kernels starting) of [lo, hi)."""
    return covered(lo, hi, busy), (hi - lo) / 1e3, sum(1 for k in ks if lo <= k.start < hi)


def passes_section(ks: list[Kernel], plan: Plan, m: dict) -> None:
    layers = plan.stages[0].num_layers
    mbs = micro_batches(ks, layers)
    busy = union([(k.start, k.end) for k in ks])
    fprops = [k.start for k in ks if "fprop" in k.name or "flash_fwd" in k.name]
    scale = layers / (layers - 1)
    rows: dict[str, list[float]] = {}
    for mb in mbs:
        bwd = list(zip(mb.bwd, mb.bwd[1:]))
        rec = [w for w in bwd if any(w[0] <= f < w[1] for f in fprops)]
        parts = {"forward blocks (L)": (list(zip(mb.fwd, mb.fwd[1:])), scale),
                 "backward blocks (L)": (bwd, scale),
                 "... of which windows with a recomputed forward": (rec, 1.0),
                 "... of which windows without": ([w for w in bwd if w not in rec], 1.0)}
        for name, (wins, k) in parts.items():
            got = [_window(ks, a, b, busy) for a, b in wins]
            row = rows.setdefault(name, [0.0, 0.0, 0.0])
            row[0] += k * sum(g[0] for g in got) / len(mbs)
            row[1] += k * sum(g[1] for g in got) / len(mbs)
            row[2] += k * len(wins) / len(mbs)
    print("Trace, per micro-batch (mean of the step's micro-batches; (L): the L - 1 attention-to-attention "
          "windows scaled to L blocks):\n")
    print("| part | blocks | GPU busy ms | GPU idle ms | wall ms | wall per block ms |\n|---|---|---|---|---|---|")
    for name, (gpu, wall, n) in rows.items():
        if n:
            print(f"| {name} | {n:.0f} | {gpu:.1f} | {wall - gpu:.1f} | {wall:.1f} | {wall / n:.2f} |")
    total = sum(mb.bwd[-1] - mb.fwd[0] for mb in mbs) / 1e3
    print(f"\nModel, per micro-batch: forward GPU {m['gpu_f'] * 1e3:.1f} / host {m['host_f'] * 1e3:.1f} ms, "
          f"backward GPU {m['gpu_b'] * 1e3:.1f} / host {m['host_b'] * 1e3:.1f} ms, + {m['mb_host'] * 1e3:.1f} ms "
          f"per micro-batch = {m['stable'] * 1e3:.1f} ms (trace, first forward to last backward attention "
          f"kernel: {total / len(mbs):.1f} ms).\n")


def bias_section(ks: list[Kernel], plan: Plan) -> None:
    """The column-parallel bias adds: the non-vectorized adds after the 2nd and 4th GEMM of each
    attention-to-attention forward window (fc1 / up and the next block's q|k|v)."""
    mbs = micro_batches(ks, plan.stages[0].num_layers)
    per_block, windows = [], 0
    for mb in mbs:
        for lo, hi in zip(mb.fwd, mb.fwd[1:]):
            inside = [k for k in ks if lo <= k.start < hi and k.category != "memset"]
            adds = [b for a, b in zip(inside, inside[1:]) if a.category == "gemm" and BIAS_ADD in b.name]
            if len(adds) == 4:
                per_block.append(sum(k.end - k.start for k in (adds[1], adds[3])) / 1e3)
            windows += 1
    count, width = biased_column_widths(plan.model)
    model = float(bias_add_forward_s(load_hardware("h200"), plan.model, plan.seq_len, plan.micro_batch_size,
                                     plan.tp)) * 1e3
    print(f"ZeRO-3 linear bias adds ({count} biased column-parallel linears, {width} wide): "
          f"{len(per_block)} of {windows} forward windows hold the 4 GEMM-following adds; the two column-parallel "
          f"ones take {statistics.median(per_block):.3f} ms per block (median), the model "
          f"{model:.3f} ms.\n" if per_block else "no bias adds found\n")


def step_parts(ks: list[Kernel], layers: int) -> tuple[float, float, float, float]:
    """(host gap ms, fused Adam ms, other non-NCCL kernels ms, NCCL ms) of the step: what starts after
    the longest GPU idle gap in the 30 ms after the last backward attention kernel."""
    last = micro_batches(ks, layers)[-1].bwd[-1]
    spans = union([(k.start, k.end) for k in ks if k.start > last])
    gap, start = max((b[0] - a[1], b[0]) for a, b in zip(spans, spans[1:]) if b[0] - last < 30e3)
    step = [k for k in ks if k.start >= start]
    adam = sum(k.end - k.start for k in step if "AdamFunctor" in k.name) / 1e3
    nccl = sum(k.end - k.start for k in step if k.category == "nccl") / 1e3
    return gap / 1e3, adam, sum(k.end - k.start for k in step) / 1e3 - adam - nccl, nccl


def step_section() -> None:
    print("### The ZeRO-3 optimizer step, all committed ZeRO-3 traces (ms; first row: the fit of "
          "rates.py ZERO3_STEP_PASS_FRACTION)\n")
    print("| trace | partition elements | host gap | fused Adam / model | passes / model | passes at the copy "
          "rate |\n|---|---|---|---|---|---|")
    for trace, plan_path in STEP_TRACES:
        plan = Plan.load(ROOT / "bench" / "results" / plan_path)
        gap, adam, passes, _ = step_parts(load_kernels(ROOT / "bench" / "results" / f"{trace}.trace.json.gz"),
                                          plan.stages[0].num_layers)
        m = model_parts(plan)
        print(f"| {Path(trace).name} | {m['partition'] / 1e9:.3f}e9 | {gap:.1f} | {adam:.1f} / {m['adam'] * 1e3:.1f} | "
              f"{passes:.1f} / {m['passes'] * 1e3:.1f} | {m['passes'] * 1e3 * ZERO3_STEP_PASS_FRACTION:.1f} |")
    print()


def host_scale(plan: Plan, measured: float) -> float:
    """The factor on the host terms that makes the model's iteration time `measured` (bisection)."""
    lo, hi = 0.05, 5.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if predict_plan(plan, scaled_hw(mid)).iteration_time_s < measured else (lo, mid)
    return (lo + hi) / 2


def what_if(plan: Plan, scale: float, checkpoint_s: float, gap_s: float) -> float:
    """Iteration seconds with the host terms x `scale`, `checkpoint_s` more host per checkpointed
    forward block (forward pass) and `gap_s` of host before the step's kernels; per pass max(GPU, host)."""
    m = model_parts(plan, scaled_hw(scale))
    forward = max(m["gpu_f"], m["host_f"] + plan.stages[0].num_recompute_layers * checkpoint_s)
    micro = forward + max(m["gpu_b"], m["host_b"]) + m["mb_host"]
    return plan.grad_accum_steps * micro + m["adam"] + m["passes"] + gap_s


def scale_section() -> None:
    print("### Host-term factors that match each measurement, and g27 at g13's factor\n")
    print("| case | suite (paired) | alone |\n|---|---|---|")
    factors = {}
    for case, _ in CASES:
        plan = Plan.load(ACC / f"{case}.plan.json")
        alone = statistics.median(RunReport.load(ACC / f"{case}.profiled-run.json").iteration_times_s[:-1])
        suite = RunReport.load(ACC / f"{case}.run.json").median_iteration_time_s
        factors[case] = (host_scale(plan, suite), host_scale(plan, alone), suite, alone)
        print(f"| {case} | {factors[case][0]:.3f} | {factors[case][1]:.3f} |")
    g27, g13 = (Plan.load(ACC / f"{c}.plan.json") for c, _ in CASES)
    ckpt = CHECKPOINT_TRACED_S / PROFILER_SLOWDOWN
    print("\n| g27 at | checkpoint, step gap | predicted s | measured s | error |\n|---|---|---|---|---|")
    for i, cond in ((1, "alone"), (0, "suite")):
        s, measured = factors[CASES[1][0]][i], factors[CASES[0][0]][2 + i]
        for c, g in ((0.0, 0.0), (ckpt, 0.0), (ckpt, STEP_GAP_S)):
            t = what_if(g27, s, c, g)
            print(f"| g13's {cond} factor {s:.3f} | {c * 1e3:.2f} ms x {g27.stages[0].num_recompute_layers}, "
                  f"{g * 1e3:.0f} ms | {t:.3f} | {measured:.3f} | {(t / measured - 1) * 100:+.1f}% |")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", action="store_true", help="only the optimizer-step table")
    args = parser.parse_args(argv)
    if not args.step:
        for case, trace in CASES:
            plan = Plan.load(ACC / f"{case}.plan.json")
            ks = load_kernels(ACC / "traces" / f"{trace}.rank0.trace.json.gz")
            m = model_parts(plan)
            runs_section(case, plan, m)
            passes_section(ks, plan, m)
            bias_section(ks, plan)
        scale_section()
    step_section()
    return 0


if __name__ == "__main__":
    sys.exit(main())
