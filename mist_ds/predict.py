"""`python -m mist_ds.predict PLAN.json [--hardware NAME|FILE|auto] [--json] [--out DIR]`: the cost model's time
and memory breakdown of any plan (tuned or hand-written); --out writes the same files autotune writes
(plan.json with this prediction, ds_config.json, hostfile, launch.sh, report.md, plan.png). The plan's
request passes autotune's checks (TuneRequest's validators, --memory-gb against the card: --force-memory);
a plan predicted to leave less free than the search's default memory margin gets a warning.
Exit codes: 0 ok, 2 bad input, 3 the plan is predicted not to fit its GPU memory (nothing written)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mist_ds.cli import EXIT_INFEASIBLE, OneLineParser, UserError, exit_code
from mist_ds.config import HardwareProfile, Plan, PlanPrediction, TuneRequest
from mist_ds.config.profiles import DEFAULT_PROFILE, hardware_for_plan
from mist_ds.config.units import GIB
from mist_ds.config.track_record import expected_time_range_s, track_record_json
from mist_ds.cost import predict_plan
from mist_ds.emit.coverage import unmeasured_line, unmeasured_parts
from mist_ds.emit.report import (allocator_retry_line, expected_time_line, host_paced_line, layer_range,
                                 mistpipe_host_line, track_record_line, uncalibrated_line)
from mist_ds.gpuinfo import hardware_arg
from mist_ds.request_args import check_memory_cap
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.predict", description=__doc__)
    parser.add_argument("plan", help="plan.json written by autotune (or by hand)")
    parser.add_argument("--hardware", help="profile name or JSON file, or auto: this node's (default: the "
                        f"plan's prediction.hardware_name, else {DEFAULT_PROFILE})")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of tables")
    parser.add_argument("--out", default=None, help="also write plan.json (with this prediction), ds_config.json, "
                        "hostfile, launch.sh, report.md and plan.png into this folder")
    parser.add_argument("--force-memory", action="store_true",
                        help="accept a plan whose gpu_memory_cap_bytes is above the profile's card memory")
    return parser


def load_plan(path: str) -> Plan:
    """Read and validate a plan; every failure is a one-line UserError."""
    try:
        return Plan.load_checked(path, "plan")
    except ValueError as err:
        raise UserError(str(err)) from None


def resolve_hardware(plan: Plan, name: str | None) -> HardwareProfile:
    """--hardware (auto: this node's profile), else the hardware the plan was predicted for, else the
    default profile."""
    try:
        return hardware_for_plan(plan, None if name is None else hardware_arg(name))
    except ValueError as err:
        raise UserError(str(err)) from None


def request_of(plan: Plan) -> TuneRequest:
    """The request a plan answers, through TuneRequest's validators (the checks autotune applies to
    its flags: seq_len within the model, batch and memory-cap bounds); errors are one-line."""
    return TuneRequest(model=plan.model, cluster=plan.cluster, global_batch_size=plan.global_batch_size,
                       seq_len=plan.seq_len, dtype=plan.dtype, gpu_memory_cap_bytes=plan.gpu_memory_cap_bytes)


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
    if plan.executor == "mistpipe":
        from mist_ds.cost.mistpipe_step import stage_optimizer_paths

        for entry, (path, why) in zip(stages, stage_optimizer_paths(plan, hw)):
            entry["optimizer_offload_path"], entry["optimizer_offload_why"] = path, why
    peak = max(s["peak_memory_bytes"] for s in stages)
    return {"iteration_time_s": pred.iteration_time_s,
            "throughput_tokens_per_s": pred.throughput_tokens_per_s, "mfu": pred.mfu,
            "hardware_name": pred.hardware_name, "gpu_memory_capacity_bytes": capacity,
            "peak_memory_bytes": peak, "headroom_bytes": capacity - peak,
            "executor": plan.executor, "stages": stages,
            # False: the profile prices no host-thread time (emit/report.py uncalibrated_line)
            "profile_prices_host_thread": hw.prices_host_thread,
            # config/track_record.py: the scored GPU runs of plans of this kind (record None: none yet)
            "track_record": track_record_json(plan),
            # emit/coverage.py: parts of the prediction no measurement of the profiled node stands behind
            "unmeasured": unmeasured_parts(plan, hw),
            # config/track_record.py: the prediction scaled by where held-out runs of its kind landed (None: no range)
            "expected_time_range_s": expected_time_range_s(plan.model_copy(update={"prediction": pred}), hw)}


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
                  f"{result['throughput_tokens_per_s']:,.0f} tokens/s   MFU {result['mfu']:.1%}   "
                  f"headroom {result['headroom_bytes'] / GIB:.2f} GiB per GPU")
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
    for s in result["stages"]:
        if s.get("optimizer_offload_path", "none") != "none":
            console.print(f"stage {s['stage']} offloaded optimizer update: {s['optimizer_offload_path']} "
                          f"({s['optimizer_offload_why']}; the run re-prices it on its machine's both-ways copies "
                          "at start: mist_ds/runtime/copy_probe.py)", highlight=False)


def over_cap_message(plan: Plan, result: dict[str, Any]) -> str | None:
    """One line when a stage is predicted above the GPU memory cap (None: it fits)."""
    capacity = result["gpu_memory_capacity_bytes"]
    worst = max(result["stages"], key=lambda s: s["peak_memory_bytes"])
    over = worst["peak_memory_bytes"] - capacity
    if over <= 0:
        return None
    return (f"stage {worst['stage']} of {plan.model.name} is predicted to need "
            f"{worst['peak_memory_bytes'] / GIB:.2f} GiB per GPU, {over / GIB:.2f} GiB over the "
            f"{capacity / GIB:.2f} GiB cap")


def margin_warning(result: dict[str, Any]) -> str | None:
    """A warning when the plan leaves less free than the search's default memory margin."""
    capacity, headroom = result["gpu_memory_capacity_bytes"], result["headroom_bytes"]
    if headroom < 0 or headroom >= DEFAULT_MEMORY_MARGIN_RATIO * capacity:
        return None
    return (f"warning: the plan leaves {headroom / GIB:.2f} GiB ({headroom / capacity:.1%}) of the "
            f"{capacity / GIB:.2f} GiB cap free, less than autotune's {DEFAULT_MEMORY_MARGIN_RATIO:.0%} margin "
            "(9 in 10 of the cost model's measured under-predictions of allocated memory are smaller): it may run "
            "out of memory")


def _output_folder(out: str | None) -> Path | None:
    """--out checked creatable and writable before predicting (mist_ds.fileio.check_output_folder)."""
    if out is None:
        return None
    from mist_ds.emit.outputs import OUTPUT_FILES
    from mist_ds.fileio import check_output_folder

    return check_output_folder(out, files=OUTPUT_FILES)


def write_plan_outputs(folder: Path, plan: Plan, hw: HardwareProfile) -> None:
    """The folder autotune would write for this (predicted) plan, put in place as a whole."""
    from mist_ds.emit.outputs import render_outputs
    from mist_ds.fileio import write_folder_atomic

    write_folder_atomic(folder, render_outputs(folder, [plan], hw), executable=("launch.sh",))


def _predict(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    plan = load_plan(args.plan)
    request = request_of(plan)
    hw = resolve_hardware(plan, args.hardware)
    check_memory_cap(request, hw, args.force_memory)
    folder = _output_folder(args.out)
    try:
        pred = predict_plan(plan, hw)
    except ValueError as err:  # e.g. a profile lacking a collective the plan needs
        raise UserError(str(err)) from None
    result = prediction_dict(plan, pred, hw)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_tables(plan, result)
        predicted = plan.model_copy(update={"prediction": pred})
        for line in (host_paced_line(predicted), allocator_retry_line(predicted, hw), uncalibrated_line(hw),
                     mistpipe_host_line(plan, hw), unmeasured_line(plan, hw), expected_time_line(predicted, hw),
                     track_record_line(predicted)):
            if line is not None:
                print(line)
    over = over_cap_message(plan, result)
    if over is not None:
        raise UserError(over, EXIT_INFEASIBLE)
    warning = margin_warning(result)
    if warning is not None:
        print(warning, file=sys.stderr)
    if folder is not None:
        write_plan_outputs(folder, plan.model_copy(update={"prediction": pred}), hw)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (mist_ds.cli.exit_code: one stderr line on 2 / 3)."""
    return exit_code(_predict, argv)


if __name__ == "__main__":
    sys.exit(main())
