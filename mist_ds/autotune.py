"""`python -m mist_ds.autotune`: find the fastest plan for a model on a cluster.

Searches pipeline depth, dp x tp mesh, layer split, micro-batch, ZeRO stage, CPU offload and
per-stage recompute with the analytic cost model, keeping a margin of each GPU's memory free; ranks
plans closer than the model's measured time error as ties; then writes plan.json, ds_config.json,
hostfile, launch.sh, report.md, plan.png and fallback/1.. (the next plans launch.sh runs when one runs
out of memory) into --out. Exit codes: 0 ok, 2 bad input, 3 nothing fits.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mist_ds.api import (MIN_POOL, BindingLimit, TuneResult, binding_limit, fallback_plans, headroom_bytes,
                         host_bytes_per_gpu, moving_parts, tune)
from mist_ds.cli import EXIT_INFEASIBLE, OneLineParser, UserError, exit_code
from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware
from mist_ds.config.track_record import TrackRecord, expected_time_range_s
from mist_ds.config.units import GIB
from mist_ds.emit.coverage import unmeasured_line, unmeasured_parts
from mist_ds.emit.launch import SHELL_SAFE_PATH, has_placeholder_hosts
from mist_ds.emit.ranking import TIE_BREAKS, lost_tie_line, tie_rule_text, tie_text
from mist_ds.emit.report import (allocator_retry_line, expected_time_line, host_paced_line, mistpipe_host_line,
                                 offload_text, peak_bytes, recompute_text, split_text, track_record_cell,
                                 track_record_line, uncalibrated_line)
from mist_ds.fileio import MAX_INPUT_BYTES, check_output_folder, write_folder_atomic
from mist_ds.gpuinfo import hardware_arg
from mist_ds.request_args import add_request_arguments, check_memory_cap, request_from_args
from mist_ds.search import enumerate_layouts
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO, head_loss_passes

# Fallback plans written beside the winner (--fallbacks): each is a full attempt of the run, so a few.
DEFAULT_FALLBACKS = 2
MAX_FALLBACKS = 8
# A margin keeps at most this much of the card free (a larger one leaves too little memory to plan in).
MAX_MEMORY_MARGIN_RATIO = 0.9

NO_RECORD = TrackRecord(source="none: autotune --ties model", kinds={})
"""A track record without any kind: every plan's tie tolerance is the model-wide one."""
TIE_RULES = {"kind": (MODEL_TIME_ERROR_RATIO, None), "model": (MODEL_TIME_ERROR_RATIO, NO_RECORD), "off": (0.0, None)}
"""--ties: (tie_rtol, track record) for mist_ds.api.tune (None: the shipped record)."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.autotune", description=__doc__)
    add_request_arguments(parser)
    parser.add_argument("--hardware", default=DEFAULT_PROFILE,
                        help=f"profile name or JSON path, or auto: this node's (default {DEFAULT_PROFILE})")
    parser.add_argument("--out", default=None, help="folder for plan.json, ds_config.json, ...")
    parser.add_argument("--top", type=int, default=5, help="how many plans to list")
    parser.add_argument("--memory-margin", type=float, default=DEFAULT_MEMORY_MARGIN_RATIO, metavar="RATIO",
                        help="fraction of the per-GPU memory cap kept free (default "
                             f"{DEFAULT_MEMORY_MARGIN_RATIO:g}: covers 9 in 10 of the cost model's measured "
                             "under-predictions of allocated memory, which decides OOM; 0 plans up to the cap)")
    parser.add_argument("--fallbacks", type=int, default=DEFAULT_FALLBACKS, metavar="K",
                        help=f"next-best plans written as fallback/1..K for launch.sh to run when a plan runs "
                             f"out of memory (default {DEFAULT_FALLBACKS}; 0: none)")
    model_error = f"{MODEL_TIME_ERROR_RATIO:.0%}%"  # '%%': argparse %-formats help strings
    parser.add_argument("--ties", choices=tuple(TIE_RULES), default="kind",
                        help="when two plans' predicted times tie: kind (default): closer than the larger of "
                             "their kinds' median time errors in the shipped track record, at least the model's "
                             f"{model_error}; model: closer than {model_error} for every plan; off: never (rank by "
                             "predicted time alone)")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return parser


def _over_cap_text(result: TuneResult) -> str:
    stats = result.stats
    if not stats.memory_margin_ratio:
        return f"{stats.memory_cap_bytes / GIB:.2f} GiB per GPU"
    return (f"{stats.usable_bytes / GIB:.2f} GiB per GPU (the {stats.memory_cap_bytes / GIB:.2f} GiB cap less the "
            f"{stats.memory_margin_ratio:.0%} --memory-margin)")


def infeasible_message(result: TuneResult, binding: BindingLimit | None = None) -> str:
    """One line naming the binding limit: the global batch, the memory margin, the node's host memory
    or the GPU memory (then the smallest per-GPU memory any plan needs, by how much it exceeds the
    cap, and with which plan)."""
    kind = binding.kind if binding is not None else ("gpu" if result.floor is not None else "none")
    floor, stats = result.floor, result.stats
    if kind == "none":
        return (f"no plan of the search space can run this request ({stats.num_layouts} layouts; none "
                "whose offloaded state fits the host memory; check the global batch, the head count "
                "against --max-tp and the search switches)")
    if kind == "margin":
        return (f"no plan fits in {_over_cap_text(result)}: the margin binds; the smallest plan needs "
                f"{floor.peak_bytes / GIB:.2f} GiB per GPU ({floor.describe()}), "
                f"{(stats.memory_cap_bytes - floor.peak_bytes) / GIB:.2f} GiB under the cap; a smaller "
                "--memory-margin accepts less headroom (the margin covers 9 in 10 of the model's measured "
                f"memory under-predictions: {DEFAULT_MEMORY_MARGIN_RATIO:.0%})")
    if kind == "host":
        plan = binding.host_example
        node = host_bytes_per_gpu(plan) * plan.cluster.gpus_per_node
        return (f"no plan fits: host memory binds. Plans fit {_over_cap_text(result)} only by offloading "
                f"to CPU memory: a node needs about {_gib(binding.host_enough_bytes)} GiB of host memory "
                f"(--host-memory-gb {_gib(binding.host_enough_bytes)}; "
                f"{_gib(binding.host_short_bytes, up=False)} is too little for every plan), e.g. for "
                f"{plan.describe()}, whose offloaded state takes {node / GIB:.1f} GiB "
                f"({host_bytes_per_gpu(plan) / GIB:.1f} GiB per GPU x {plan.cluster.gpus_per_node}); this node "
                f"lets offloaded state take {binding.host_memory_bytes / GIB:.1f} GiB (--host-memory-gb, else the "
                "hardware profile, less the share --host-memory-free keeps free)"
                + ("" if floor is None else f"; within that, the smallest per-GPU memory any plan needs is "
                   f"{floor.peak_bytes / GIB:.2f} GiB"))
    unlimited = binding.unlimited_floor if binding is not None else None
    host_note = ""
    if unlimited is not None and unlimited.peak_bytes < floor.peak_bytes:
        # more offload would lower the floor but the node's host memory does not hold it: say both
        host_note = (f" ({floor.peak_bytes / GIB:.2f} GiB within the {binding.host_memory_bytes / GIB:.1f} GiB "
                     "of the node's host memory that offloaded state may take)")
        floor = unlimited
    over = floor.peak_bytes - stats.usable_bytes
    split = "/".join(str(v) for v in floor.layers)
    return (f"no plan fits in {_over_cap_text(result)}: GPU memory binds; the smallest per-GPU memory any "
            f"plan needs is {floor.peak_bytes / GIB:.2f} GiB{host_note} ({over / GIB:.2f} GiB over the cap"
            f"{' less the margin' if stats.memory_margin_ratio else ''}), with "
            f"{floor.describe()}, layers per stage {split}, with the most recompute and "
            "activation offload the search space allows")


def _tune_with_progress(request: TuneRequest, hardware: HardwareProfile, args: argparse.Namespace,
                        show: bool) -> TuneResult:
    """tune() behind a rich progress bar on stderr (only when stderr is a terminal). Ranks at least
    MIN_POOL plans (the fallbacks come from them); the table lists --top."""
    top = max(args.top, MIN_POOL)
    tie_rtol, record = TIE_RULES[args.ties]
    if not show:
        return tune(request, hardware, top_k=top, memory_margin_ratio=args.memory_margin, tie_rtol=tie_rtol,
                    record=record)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("searching plans"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("search", total=None)
        result = tune(request, hardware, top_k=top, memory_margin_ratio=args.memory_margin, tie_rtol=tie_rtol,
                      record=record, progress=lambda done, total: bar.update(task, completed=done, total=total))
    return result


def _binding_with_status(request: TuneRequest, hardware: HardwareProfile, result: TuneResult,
                         show: bool) -> BindingLimit:
    """binding_limit behind a transient status line on stderr (only when stderr is a terminal): its
    searches take as long as the first one, a few times over when host memory binds."""
    if not show:
        return binding_limit(request, hardware, result)
    from rich.console import Console

    with Console(stderr=True).status("no plan fits: searching which limit binds and by how much"):
        return binding_limit(request, hardware, result)


def _print_table(result: TuneResult, hardware: HardwareProfile, seconds: float, out: Path | None,
                 fallbacks: int) -> None:
    from rich.console import Console
    from rich.table import Table

    stats, plans = result.stats, result.plans
    table = Table(title=f"top {len(plans)} plans on {hardware.name} ({stats.num_layouts} layouts, "
                        f"{stats.num_strategies} stage strategies, {seconds:.2f} s)")
    right = ("#", "s/iter", "tokens/s", "MFU", "GiB/GPU", "headroom", "tie", "record")
    for column in ("#", "setting", "layers", "recompute", "act offload", *right[1:]):
        table.add_column(column, justify="left" if column == "setting" else "right",
                         no_wrap=column in right, overflow="fold")
    for rank, plan in enumerate(plans, start=1):
        pred = plan.prediction
        table.add_row(str(rank), plan.describe(short=True), split_text(plan), recompute_text(plan),
                      offload_text(plan), f"{pred.iteration_time_s:.3f}", f"{pred.throughput_tokens_per_s:,.0f}",
                      f"{pred.mfu:.1%}", f"{peak_bytes(plan) / GIB:.1f}",
                      f"{headroom_bytes(plan, hardware) / GIB:.1f}", tie_text(result.tied_ranks(rank - 1)),
                      track_record_cell(plan))
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    console.print(f"GiB/GPU: predicted peak per GPU; headroom: GiB of the {stats.memory_cap_bytes / GIB:.1f} GiB cap "
                  f"left free (the search kept >= {stats.memory_margin_ratio:.0%}: --memory-margin); tie: the ranks "
                  f"a plan ties with ({tie_rule_text(result.tie_rtol, result.per_kind)}), ordered {TIE_BREAKS}; "
                  "record: median/largest time error of the held-out GPU runs of plans of that kind (how many ran)")
    uncalibrated = uncalibrated_line(hardware)
    if uncalibrated is not None:
        console.print(uncalibrated, highlight=False)
    for line in (host_paced_line(plans[0]), allocator_retry_line(plans[0], hardware),
                 mistpipe_host_line(plans[0], hardware), unmeasured_line(plans[0], hardware),
                 expected_time_line(plans[0], hardware), track_record_line(plans[0])):
        if line is not None:
            console.print(f"#1: {line}", highlight=False)
    lost_tie = lost_tie_line(plans[0], result.lost_tie, len(plans))
    if lost_tie is not None:
        console.print(lost_tie, highlight=False)
    if out is not None:
        console.print(f"wrote {out}/{{plan.json, ds_config.json, hostfile, launch.sh, report.md, plan.png}}"
                      + (f" and {fallbacks} fallback plan(s) in fallback/" if fallbacks else "")
                      + f"; run: {shlex.quote(str(out / 'launch.sh'))} --steps 20")


def _plan_summary(result: TuneResult, hardware: HardwareProfile, index: int) -> dict:
    plan = result.plans[index]
    return {"rank": index + 1, "layout": plan.describe(), "iteration_time_s": plan.prediction.iteration_time_s,
            "peak_bytes": peak_bytes(plan), "headroom_bytes": headroom_bytes(plan, hardware),
            "tied_with": list(result.tied_ranks(index)),
            "tie_tolerance": result.tolerances[index] if result.tolerances else result.tie_rtol,
            "moving_parts": moving_parts(plan), "unmeasured": unmeasured_parts(plan, hardware),
            "expected_time_range_s": expected_time_range_s(plan, hardware),
            "plan": json.loads(plan.to_json())}


def _json_summary(result: TuneResult, hardware: HardwareProfile, seconds: float, out: str | None,
                  fallbacks: tuple) -> str:
    stats = result.stats
    summary = {"status": "ok",
               "search": {"num_layouts": stats.num_layouts, "num_strategies": stats.num_strategies,
                          "memory_cap_bytes": stats.memory_cap_bytes,
                          "memory_margin_ratio": stats.memory_margin_ratio, "usable_bytes": stats.usable_bytes,
                          "tie_rtol": result.tie_rtol, "seconds": round(seconds, 3)},
               # False: the profile prices no host-thread time (emit/report.py uncalibrated_line)
               "profile_prices_host_thread": hardware.prices_host_thread,
               "out": out, "plans": [_plan_summary(result, hardware, i) for i in range(len(result.plans))],
               "lost_tie": None if result.lost_tie is None else {
                   "rank": result.lost_tie.rank, "layout": result.lost_tie.plan.describe(),
                   "iteration_time_s": result.lost_tie.plan.prediction.iteration_time_s,
                   "tie_tolerance": result.lost_tie.tolerance},
               "fallbacks": [{"folder": f"fallback/{i}", "layout": plan.describe(), "peak_bytes": peak_bytes(plan),
                              "iteration_time_s": plan.prediction.iteration_time_s}
                             for i, plan in enumerate(fallbacks, start=1)]}
    return json.dumps(summary, indent=2) + "\n"


def _gib(num_bytes: float, up: bool = True) -> int:
    """Whole GiB, rounded up (memory that is enough) or down (memory that is too little)."""
    return (math.ceil if up else math.floor)(num_bytes / GIB)


def _json_infeasible(result: TuneResult, binding: BindingLimit) -> str:
    """--json answer when nothing fits: the binding limit, the memory floor and the plan that reaches it."""
    floor, stats = result.floor, result.stats
    summary = {"status": "infeasible", "binding_limit": binding.kind, "memory_cap_bytes": stats.memory_cap_bytes,
               "memory_margin_ratio": stats.memory_margin_ratio, "usable_bytes": stats.usable_bytes,
               "num_layouts": stats.num_layouts, "plans": [],
               "floor": None if floor is None else {
                   "peak_bytes": floor.peak_bytes, "over_cap_bytes": floor.peak_bytes - stats.usable_bytes,
                   "layout": floor.describe(), "layers_per_stage": list(floor.layers)},
               "host": None if binding.kind != "host" else {
                   "usable_bytes": binding.host_memory_bytes, "enough_memory_bytes": binding.host_enough_bytes,
                   "short_memory_bytes": binding.host_short_bytes, "layout": binding.host_example.describe(),
                   "offloaded_bytes_per_gpu": host_bytes_per_gpu(binding.host_example)}}
    return json.dumps(summary, indent=2) + "\n"


# --top: each listed plan gets a full prediction (~10 ms); 100 is more than a table can show.
MAX_TOP = 100
# Stage strategies (layout x stage x layer count) the screening pass may evaluate. Measured on
# 2 CPU cores: ~4 us each, all passes included (1.46M rows: 5.5 s); real requests need at most
# ~0.9M (a 126-layer model on 2,048 8-GPU nodes: 0.85M, 2.1 s). Larger searches are refused with
# the switches that shrink them rather than left to run for minutes.
MAX_SEARCH_ROWS = 1_500_000


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
    from mist_ds.emit.outputs import OUTPUT_FILES, OUTPUT_FOLDERS

    folder = check_output_folder(args.out, files=OUTPUT_FILES, folders=OUTPUT_FOLDERS)
    if request.cluster.num_nodes > 1 and not SHELL_SAFE_PATH.fullmatch(str(folder)):
        raise UserError(f"--out {folder}: a multi-node plan's path is passed unquoted to remote shells "
                        "(DeepSpeed's pdsh runner); use only letters, digits and _@%+=:,./-")
    return folder


def _check_search_size(request: TuneRequest) -> None:
    """Refuse, in a fraction of a second, a request whose search would run for minutes (exit 2)."""
    passes = head_loss_passes(request, enumerate_layouts(request))
    layouts = [lay for _, pass_layouts in passes for lay in pass_layouts]
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


def _write(folder: Path, request: TuneRequest, hardware: HardwareProfile, result: TuneResult,
           fallbacks: tuple) -> None:
    """Render every file first, then put the whole folder in place at once (fileio.write_folder_atomic)."""
    from mist_ds.emit.outputs import render_outputs
    from mist_ds.emit.ranking import Ranking

    ranking = Ranking(result.ties, result.tie_rtol, result.stats.memory_margin_ratio, result.tolerances,
                      result.per_kind, result.lost_tie)
    files = render_outputs(folder, result.plans, hardware, result.stats, ranking=ranking, fallbacks=fallbacks,
                           host=request.host_limits(hardware))
    write_folder_atomic(folder, files, executable=("launch.sh",))


def _check_args(args: argparse.Namespace) -> None:
    """Range checks of autotune's own flags (one-line UserErrors)."""
    if not 1 <= args.top <= MAX_TOP:
        raise UserError(f"--top must be between 1 and {MAX_TOP}, got {args.top}")
    if args.out is not None and not args.out.strip():
        raise UserError("--out is empty: name a folder")
    if not (math.isfinite(args.memory_margin) and 0 <= args.memory_margin <= MAX_MEMORY_MARGIN_RATIO):
        raise UserError(f"--memory-margin must be a fraction between 0 and {MAX_MEMORY_MARGIN_RATIO:g} of the "
                        f"per-GPU memory cap, got {args.memory_margin:g}")
    if not 0 <= args.fallbacks <= MAX_FALLBACKS:
        raise UserError(f"--fallbacks must be between 0 and {MAX_FALLBACKS}, got {args.fallbacks}")


def _tune(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _check_args(args)
    request = request_from_args(args)
    name = hardware_arg(args.hardware)
    _check_hardware_arg(name)
    hardware = load_hardware(name)
    check_memory_cap(request, hardware, args.force_memory)
    folder = _output_folder(args, request)
    _check_search_size(request)
    start = time.perf_counter()
    show = not args.json and sys.stderr.isatty()
    result = _tune_with_progress(request, hardware, args, show)
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if not result.plans:
        binding = _binding_with_status(request, hardware, result, show)
        if args.json:
            sys.stdout.write(_json_infeasible(result, binding))
        why = _no_layout_message(request) if binding.kind == "batch" else infeasible_message(result, binding)
        raise UserError(why, EXIT_INFEASIBLE)
    seconds = time.perf_counter() - start
    fallbacks = fallback_plans(result, hardware, args.fallbacks)
    result = result.first(args.top)
    if folder is not None:
        _write(folder, request, hardware, result, fallbacks)
    if has_placeholder_hosts(request.cluster):
        sys.stderr.write(f"note: {request.cluster.num_nodes} nodes without --hostfile: the hostfile names "
                         "placeholder hosts worker-0.. ; edit it or tune with --hostfile\n")
    if args.json:
        sys.stdout.write(_json_summary(result, hardware, seconds, args.out, fallbacks))
    else:
        _print_table(result, hardware, seconds, folder, len(fallbacks) if folder else 0)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI, callable in-process: returns 0 (plans written), 2 (bad input) or 3 (nothing fits),
    with exactly one stderr line on 2 / 3 and nothing written on either (mist_ds.cli.exit_code)."""
    return exit_code(_tune, argv)


if __name__ == "__main__":
    raise SystemExit(main())
