"""`python -m mist_ds.predict PLAN.json [--hardware NAME|FILE] [--json] [--out DIR]`: the cost model's time
and memory breakdown of any plan (tuned or hand-written); --out writes the same files autotune writes
(plan.json with this prediction, ds_config.json, hostfile, launch.sh, report.md, plan.png).
Exit codes: 0 ok, 2 bad input, 3 the plan is predicted not to fit its GPU memory (nothing written)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pathlib import Path

from mist_ds.cli import EXIT_INFEASIBLE, OneLineParser, UserError
from mist_ds.config import HardwareProfile, Plan, PlanPrediction
from mist_ds.config.profiles import DEFAULT_PROFILE, hardware_for_plan
from mist_ds.config.units import GIB
from mist_ds.cost import predict_plan
from mist_ds.emit.report import layer_range


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.predict", description=__doc__)
    parser.add_argument("plan", help="plan.json written by autotune (or by hand)")
    parser.add_argument("--hardware", help="profile name or JSON file (default: the plan's "
                        f"prediction.hardware_name, else {DEFAULT_PROFILE})")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of tables")
    parser.add_argument("--out", default=None, help="also write plan.json (with this prediction), ds_config.json, "
                        "hostfile, launch.sh, report.md and plan.png into this folder")
    return parser


def load_plan(path: str) -> Plan:
    """Read and validate a plan; every failure is a one-line UserError."""
    try:
        return Plan.load_checked(path, "plan")
    except ValueError as err:
        raise UserError(str(err)) from None


def resolve_hardware(plan: Plan, name: str | None) -> HardwareProfile:
    """--hardware, else the hardware the plan was predicted for, else the default profile."""
    try:
        return hardware_for_plan(plan, name)
    except ValueError as err:
        raise UserError(str(err)) from None


def check_request(plan: Plan) -> None:
    """The request checks autotune applies, for a hand-written plan (TuneRequest's validators)."""
    if plan.seq_len > plan.model.max_seq_len:
        raise UserError(f"seq_len {plan.seq_len} exceeds {plan.model.name}'s max_seq_len {plan.model.max_seq_len}")


def prediction_dict(plan: Plan, pred: PlanPrediction, hw: HardwareProfile) -> dict[str, Any]:
    """The --json object."""
    capacity = plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes
    stages = []
    for index, (stage, sp_) in enumerate(zip(plan.stages, pred.stages)):
        mem = sp_.memory_breakdown
        stages.append({
            "stage": index, "layers": [stage.layer_start, stage.layer_end],
            "peak_memory_bytes": sp_.peak_memory_bytes,
            "fits_gpu_memory": sp_.peak_memory_bytes <= capacity,
            "memory_breakdown_bytes": {
                "weights": mem.weights_bytes, "gradients": mem.gradients_bytes,
                "optimizer_states": mem.optimizer_states_bytes,
                "activations": mem.activations_bytes, "buffers": mem.buffers_bytes},
            "time_breakdown_s": sp_.time_breakdown.model_dump(),
            "cpu_memory_bytes": sp_.cpu_memory_bytes,
        })
    return {"iteration_time_s": pred.iteration_time_s,
            "throughput_tokens_per_s": pred.throughput_tokens_per_s, "mfu": pred.mfu,
            "hardware_name": pred.hardware_name, "gpu_memory_capacity_bytes": capacity,
            "executor": plan.executor, "stages": stages}


def print_tables(plan: Plan, result: dict[str, Any]) -> None:
    """Rich tables: one row per stage for memory and for time."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{plan.model.name}[/] on {plan.cluster.num_nodes}x"
                  f"{plan.cluster.gpus_per_node} GPUs ({result['hardware_name']}), "
                  f"seq {plan.seq_len}, global batch {plan.global_batch_size}, "
                  f"grad accum {plan.grad_accum_steps}")
    console.print(f"iteration {result['iteration_time_s']:.4f} s   "
                  f"{result['throughput_tokens_per_s']:,.0f} tokens/s   MFU {result['mfu']:.1%}")
    mem = Table(title=f"per-GPU memory, GiB (capacity {result['gpu_memory_capacity_bytes'] / GIB:.1f})")
    for col in ("stage", "layers", "peak", "weights", "grads", "optim", "activ", "buffers", "cpu"):
        mem.add_column(col, justify="right")
    for s in result["stages"]:
        b = s["memory_breakdown_bytes"]
        peak = f"{s['peak_memory_bytes'] / GIB:.2f}" + ("" if s["fits_gpu_memory"] else " OOM")
        mem.add_row(str(s["stage"]), layer_range(*s["layers"]), peak,
                    *(f"{b[k] / GIB:.2f}" for k in ("weights", "gradients", "optimizer_states",
                                                    "activations", "buffers")),
                    f"{s['cpu_memory_bytes'] / GIB:.2f}")
    console.print(mem)
    keys = ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s",
            "pipeline_s")
    tim = Table(title="per-stage time per iteration, s (exposed)")
    tim.add_column("stage", justify="right")
    for key in keys:
        tim.add_column(key.removesuffix("_s").replace("_comm", "").replace("recompute", "recomp")
                       .replace("optimizer", "optim").replace("pipeline", "pipe"), justify="right")
    for s in result["stages"]:
        tim.add_row(str(s["stage"]), *(f"{s['time_breakdown_s'][k]:.4f}" for k in keys))
    console.print(tim)


def over_cap_message(plan: Plan, result: dict[str, Any]) -> str | None:
    """One line when a stage is predicted above the GPU memory cap (None: it fits)."""
    capacity = result["gpu_memory_capacity_bytes"]
    worst = max(result["stages"], key=lambda s: s["peak_memory_bytes"])
    over = worst["peak_memory_bytes"] - capacity
    if over <= 0:
        return None
    return (f"error: stage {worst['stage']} of {plan.model.name} is predicted to need "
            f"{worst['peak_memory_bytes'] / GIB:.2f} GiB per GPU, {over / GIB:.2f} GiB over the "
            f"{capacity / GIB:.2f} GiB cap")


def write_plan_outputs(out: str, plan: Plan, hw: HardwareProfile) -> None:
    """The folder autotune would write for this (predicted) plan."""
    from mist_ds.emit.outputs import render_outputs, write_outputs

    write_outputs(Path(out), render_outputs(Path(out), [plan], hw))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        plan = load_plan(args.plan)
        check_request(plan)
        hw = resolve_hardware(plan, args.hardware)
        try:
            pred = predict_plan(plan, hw)
        except ValueError as err:   # e.g. a profile lacking a collective the plan needs
            raise UserError(str(err)) from None
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = prediction_dict(plan, pred, hw)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_tables(plan, result)
    over = over_cap_message(plan, result)
    if over is not None:
        print(over, file=sys.stderr)
        return EXIT_INFEASIBLE
    if args.out is not None:
        write_plan_outputs(args.out, plan.model_copy(update={"prediction": pred}), hw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
