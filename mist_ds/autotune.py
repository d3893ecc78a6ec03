"""`python -m mist_ds.autotune`: find the fastest plan for a model on a cluster.

Searches pipeline depth, dp x tp mesh, layer split, micro-batch, ZeRO stage, CPU offload and
per-stage recompute with the analytic cost model, then writes plan.json, ds_config.json, hostfile,
launch.sh, report.md and plan.png into --out. Exit codes: 0 ok, 2 bad input, 3 nothing fits.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mist_ds.api import TuneResult, tune
from mist_ds.cli import EXIT_INFEASIBLE, OneLineParser, UserError, exit_code
from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware
from mist_ds.config.units import GIB
from mist_ds.emit.launch import has_placeholder_hosts
from mist_ds.emit.report import offload_text, peak_bytes, recompute_text, split_text
from mist_ds.fileio import MAX_INPUT_BYTES, check_output_folder, write_folder_atomic
from mist_ds.request_args import add_request_arguments, check_memory_cap, request_from_args
from mist_ds.search import enumerate_layouts


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


# --top: each listed plan gets a full prediction (~10 ms); 100 is more than a table can show.
MAX_TOP = 100
# Stage strategies (layout x stage x layer count) the screening pass may evaluate. Measured on
# 2 CPU cores: ~4 us each, all passes included (1.46M rows: 5.5 s); real requests need at most
# ~0.9M (a 126-layer model on 2,048 8-GPU nodes: 0.85M, 2.1 s). Larger searches are refused with
# the switches that shrink them rather than left to run for minutes.
MAX_SEARCH_ROWS = 1_500_000
# A multi-node plan's path reaches remote shells unquoted (DeepSpeed's pdsh runner joins the user
# arguments into one ssh command: launcher/multinode_runner.py PDSHRunner), so it may hold only
# characters no shell interprets (shlex.quote's safe set).
SHELL_SAFE_PATH = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def _check_hardware_arg(name_or_path: str) -> None:
    """A --hardware path must be a regular file of sane size (profiles are read whole; this keeps
    `--hardware /dev/zero` from filling memory)."""
    path = Path(name_or_path)
    if path.exists() and (not path.is_file() or path.stat().st_size > MAX_INPUT_BYTES):
        raise UserError(f"--hardware {name_or_path}: not a hardware profile file (a regular file of at "
                        f"most {MAX_INPUT_BYTES // 1024**2} MiB)")


def _output_folder(args: argparse.Namespace, request: TuneRequest) -> Path | None:
    """The resolved --out folder, checked creatable and writable before any search (or None)."""
    if args.out is None:
        return None
    from mist_ds.emit.outputs import OUTPUT_FILES

    folder = check_output_folder(args.out, files=OUTPUT_FILES)
    if request.cluster.num_nodes > 1 and not SHELL_SAFE_PATH.fullmatch(str(folder)):
        raise UserError(f"--out {folder}: a multi-node plan's path is passed unquoted to remote shells "
                        "(DeepSpeed's pdsh runner); use only letters, digits and _@%+=:,./-")
    return folder


def _check_search_size(request: TuneRequest) -> None:
    """Refuse, in a fraction of a second, a request whose search would run for minutes (exit 2)."""
    layouts = enumerate_layouts(request)
    num_layers = request.model.num_layers
    rows = sum(lay.num_stages * (num_layers - lay.num_stages + 1) for lay in layouts)
    if rows > MAX_SEARCH_ROWS:
        raise UserError(
            f"this search would screen {rows:,} stage strategies ({len(layouts):,} layouts; the limit "
            f"is {MAX_SEARCH_ROWS:,}); narrow it with --max-pp, --max-micro-batch, --max-tp, "
            "--zero-stages or --no-offload")


def _no_layout_message(request: TuneRequest) -> str:
    """Why a request has no layout at all (the batch cannot be split), instead of a memory story."""
    return (f"no layout of the search space splits global batch {request.global_batch_size} over "
            f"{request.cluster.num_gpus} GPUs: every pipeline depth (dividing the GPU count, at most "
            f"{request.model.num_layers} layers) x tensor degree leaves a data-parallel degree that does "
            "not divide the batch; change --global-batch, the GPU count or --max-pp / --max-tp")


def _write(folder: Path, hardware: HardwareProfile, result: TuneResult) -> None:
    """Render every file first, then put the whole folder in place at once (fileio.write_folder_atomic)."""
    from mist_ds.emit.outputs import render_outputs

    files = render_outputs(folder, result.plans, hardware, result.stats)
    write_folder_atomic(folder, files, executable=("launch.sh",))


def _tune(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.top <= MAX_TOP:
        raise UserError(f"--top must be between 1 and {MAX_TOP}, got {args.top}")
    if args.out is not None and not args.out.strip():
        raise UserError("--out is empty: name a folder")
    request = request_from_args(args)
    _check_hardware_arg(args.hardware)
    hardware = load_hardware(args.hardware)
    check_memory_cap(request, hardware, args.force_memory)
    folder = _output_folder(args, request)
    _check_search_size(request)
    start = time.perf_counter()
    result = _tune_with_progress(request, hardware, args.top, not args.json and sys.stderr.isatty())
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if not result.plans:
        if args.json:
            sys.stdout.write(_json_infeasible(result))
        why = _no_layout_message(request) if result.stats.num_layouts == 0 else infeasible_message(result)
        raise UserError(why, EXIT_INFEASIBLE)
    seconds = time.perf_counter() - start
    if folder is not None:
        _write(folder, hardware, result)
    if has_placeholder_hosts(request.cluster):
        sys.stderr.write(f"note: {request.cluster.num_nodes} nodes without --hostfile: the hostfile names "
                         "placeholder hosts worker-0.. ; edit it or tune with --hostfile\n")
    if args.json:
        sys.stdout.write(_json_summary(result, seconds, args.out))
    else:
        _print_table(result, seconds, args.out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI, callable in-process: returns 0 (plans written), 2 (bad input) or 3 (nothing fits),
    with exactly one stderr line on 2 / 3 and nothing written on either (mist_ds.cli.exit_code)."""
    return exit_code(_tune, argv)


if __name__ == "__main__":
    raise SystemExit(main())
