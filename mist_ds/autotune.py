"""`python -m mist_ds.autotune`: find the fastest plan for a model on a cluster.

Searches pipeline depth, dp x tp mesh, layer split, micro-batch, ZeRO stage, CPU offload and
per-stage recompute with the analytic cost model, then writes plan.json, ds_config.json, hostfile,
launch.sh, report.md and plan.png into --out. Exit codes: 0 ok, 2 bad input, 3 nothing fits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mist_ds.api import TuneResult, tune
from mist_ds.cli import EXIT_INFEASIBLE, OneLineParser, UserError, fail, run_cli
from mist_ds.config import HardwareProfile, Plan, TuneRequest
from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware
from mist_ds.config.units import GIB
from mist_ds.emit.launch import has_placeholder_hosts
from mist_ds.emit.report import offload_text, peak_bytes, recompute_text, split_text
from mist_ds.request_args import add_request_arguments, request_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.autotune", description=__doc__)
    add_request_arguments(parser)
    parser.add_argument("--hardware", default=DEFAULT_PROFILE, help="profile name or JSON path")
    parser.add_argument("--out", default=None, help="folder for plan.json, ds_config.json, ...")
    parser.add_argument("--top", type=int, default=5, help="how many plans to list")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return parser


def infeasible_message(result: TuneResult) -> str:
    """One line: the smallest per-GPU memory any plan needs, by how much it exceeds the cap, which plan."""
    cap = result.stats.memory_cap_bytes
    floor = result.floor
    if floor is None:
        return (f"no plan of the search space can run this request ({result.stats.num_layouts} layouts; none "
                "whose offloaded state fits the host memory; check the global batch, the head count "
                "against --max-tp and the search switches)")
    over = floor.peak_bytes - cap
    split = "/".join(str(v) for v in floor.layers)
    return (f"no plan fits in {cap / GIB:.2f} GiB per GPU: the smallest per-GPU memory any plan needs "
            f"is {floor.peak_bytes / GIB:.2f} GiB ({over / GIB:.2f} GiB over the cap), with "
            f"{floor.layout.describe()}, layers per stage {split}, with the most recompute and "
            "activation offload the search space allows")


def _tune_with_progress(request: TuneRequest, hardware: HardwareProfile, top: int, show: bool) -> TuneResult:
    """tune() behind a rich progress bar on stderr (only when stderr is a terminal)."""
    if not show:
        return tune(request, hardware, top_k=top)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("searching plans"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("search", total=None)
        result = tune(request, hardware, top_k=top,
                      progress=lambda done, total: bar.update(task, completed=done, total=total))
    return result


def _print_table(result: TuneResult, seconds: float, out: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    stats = result.stats
    table = Table(title=f"top {len(result.plans)} plans ({stats.num_layouts} layouts, "
                        f"{stats.num_strategies} stage strategies, {seconds:.2f} s)")
    for column in ("#", "setting", "layers", "recompute", "act offload", "s/iter", "tokens/s", "MFU", "GiB/GPU"):
        table.add_column(column, justify="left" if column == "setting" else "right",
                         no_wrap=column in ("#", "s/iter", "tokens/s", "MFU", "GiB/GPU"), overflow="fold")
    for rank, plan in enumerate(result.plans, start=1):
        pred = plan.prediction
        table.add_row(str(rank), plan.describe(short=True), split_text(plan), recompute_text(plan),
                      offload_text(plan), f"{pred.iteration_time_s:.3f}", f"{pred.throughput_tokens_per_s:,.0f}",
                      f"{pred.mfu:.1%}", f"{peak_bytes(plan) / GIB:.1f}")
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    if out:
        console.print(f"wrote {out}/{{plan.json, ds_config.json, hostfile, launch.sh, report.md, plan.png}}; "
                      f"run: {Path(out) / 'launch.sh'} --steps 20")


def _json_summary(result: TuneResult, seconds: float, out: str | None) -> str:
    plans = [{"rank": rank, "layout": plan.describe(), "iteration_time_s": plan.prediction.iteration_time_s,
              "plan": json.loads(plan.to_json())} for rank, plan in enumerate(result.plans, start=1)]
    stats = result.stats
    summary = {"status": "ok", "search": {"num_layouts": stats.num_layouts, "num_strategies": stats.num_strategies,
                                          "memory_cap_bytes": stats.memory_cap_bytes, "seconds": round(seconds, 3)},
               "out": out, "plans": plans}
    return json.dumps(summary, indent=2) + "\n"


def _json_infeasible(result: TuneResult) -> str:
    """--json answer when nothing fits: the memory floor and the plan that reaches it."""
    floor, cap = result.floor, result.stats.memory_cap_bytes
    summary = {"status": "infeasible", "memory_cap_bytes": cap,
               "num_layouts": result.stats.num_layouts, "plans": [],
               "floor": None if floor is None else {
                   "peak_bytes": floor.peak_bytes, "over_cap_bytes": floor.peak_bytes - cap,
                   "layout": floor.layout.describe(), "layers_per_stage": list(floor.layers)}}
    return json.dumps(summary, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UserError(f"--out {args.out} exists and is not a folder")
    request = request_from_args(args)
    hardware = load_hardware(args.hardware)
    start = time.perf_counter()
    result = _tune_with_progress(request, hardware, args.top, not args.json and sys.stderr.isatty())
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if not result.plans:
        if args.json:
            sys.stdout.write(_json_infeasible(result))
        fail(f"error: {infeasible_message(result)}", EXIT_INFEASIBLE)
    if has_placeholder_hosts(request.cluster):
        sys.stderr.write(f"note: {request.cluster.num_nodes} nodes without --hostfile: the hostfile names "
                         "placeholder hosts worker-0.. ; edit it or tune with --hostfile\n")
    seconds = time.perf_counter() - start
    if args.out is not None:
        from mist_ds.emit.outputs import render_outputs, write_outputs

        write_outputs(Path(args.out), render_outputs(Path(args.out), result.plans, hardware, result.stats))
    if args.json:
        sys.stdout.write(_json_summary(result, seconds, args.out))
    else:
        _print_table(result, seconds, args.out)
    return 0


if __name__ == "__main__":
    run_cli(main)
