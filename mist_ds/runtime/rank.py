"""One training rank (`deepspeed --module mist_ds.train`, or `launch/train.py`): train a plan for a
few steps on DeepSpeed and write a RunReport.

Exit codes: 0 ok; 1 error (report status 'error'); 2 user error (bad arguments / a plan that cannot
run here: one line on stderr, nothing written); 3 out of memory on any rank (report status 'oom';
the failing rank exits at once and DeepSpeed's launcher kills the other ranks and exits with 3), or
a node without the host memory the plan needs (runtime/host_check.py: checked before the model is
built; every rank exits 3, one line, report status 'oom' with a 'host memory:' message).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback

EXIT_ERROR, EXIT_USAGE, EXIT_OOM = 1, 2, 3
PEER_GRACE_S = 3.0  # > the deepspeed launcher's 1 s poll of its children (launcher/launch.py)


def _has_oom_report(path: str | None) -> bool:
    """True when another rank already wrote an 'oom' report to `path`."""
    if path is None or not os.path.exists(path):
        return False
    from mist_ds.config import RunReport

    try:
        return RunReport.load(path).status == "oom"
    except ValueError:
        return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from mist_ds.cli import OneLineParser
    from mist_ds.config.writeback import DEFAULT_WRITEBACK_CAST, WRITEBACK_CASTS
    from mist_ds.runtime.host_clock import DEFAULT_GC_INTERVAL, GC_MODES

    parser = OneLineParser(prog="mist_ds.train", description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="plan.json (mist_ds.config.Plan)")
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps, warm-up included")
    parser.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    parser.add_argument("--ds-config", default=None,
                        help="the DeepSpeed config to run with (default: ds_config.json next to the plan, else "
                             "built from the plan); its batch, ZeRO and precision fields must match the plan")
    parser.add_argument("--data", default=None, help="flat token file (numpy memmap); synthetic if unset")
    parser.add_argument("--data-dtype", default="uint16", choices=("uint16", "uint32"))
    parser.add_argument("--report", default=None, help="where to write the RunReport JSON")
    parser.add_argument("--hardware", default=None,
                        help="profile for the MFU peak (default: the plan's prediction, else the default profile)")
    parser.add_argument("--precision", default=None, choices=("bf16", "fp16", "fp32"),
                        help="override plan.dtype (CPU runs default to fp32)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--lr", type=float, default=None, help="override the AdamW learning rate")
    parser.add_argument("--adam", default="auto", choices=("auto", "fused", "torch"),
                        help="Adam implementation: DeepSpeed FusedAdam (JIT-built, needs nvcc), "
                             "torch.optim.AdamW, or auto (fused when nvcc is found)")
    parser.add_argument("--gc", default="auto", choices=GC_MODES,
                        help="Python garbage collection during the steps: CPython's automatic collection, or "
                             "manual (model frozen, a collection every --gc-interval steps; "
                             "mist_ds/runtime/host_clock.py)")
    parser.add_argument("--gc-interval", type=int, default=DEFAULT_GC_INTERVAL,
                        help="steps between manual collections (--gc manual)")
    parser.add_argument("--no-copy-probe", action="store_true",
                        help="run the ds_config's optimizer paths as priced on the profile, without measuring this "
                             "machine's both-ways copies first (mist_ds/runtime/copy_probe.py)")
    parser.add_argument("--writeback-cast", default=DEFAULT_WRITEBACK_CAST, choices=WRITEBACK_CASTS,
                        help="ZeRO-3 with an optimizer sub-group's fp32 master and 16-bit weights on different "
                             "devices (weight or optimizer offload): DeepSpeed's pageable copy (host) or chunked "
                             "copies by DMA from pinned memory (device; mist_ds/config/writeback.py)")
    parser.add_argument("--no-host-check", action="store_true",
                        help="skip the check of each node's available memory against the plan's host need")
    parser.add_argument("--local_rank", type=int, default=None, help="set by the deepspeed launcher")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    if args.gc_interval < 1:
        parser.error("--gc-interval must be >= 1")
    return args


def load_ds_config(plan, plan_path: str, path: str | None) -> dict | None:
    """The ds_config.json the plan runs with: --ds-config, else the one next to plan.json, else None
    (the runtime builds it from the plan). A config whose plan-bound fields (emit/ds_config.py
    PLAN_BOUND_FIELDS) differ from the plan is refused with a one-line ValueError."""
    import json
    from pathlib import Path

    from mist_ds.emit.ds_config import config_mismatches

    if path is None:
        beside = Path(plan_path).resolve().parent / "ds_config.json"
        if not beside.is_file():
            return None
        path = str(beside)
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read ds_config {path}: {err}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err.msg} (line {err.lineno})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a DeepSpeed config (a JSON object)")
    problems = config_mismatches(plan, config)
    if problems:
        raise ValueError(f"{path} does not run the plan it sits with: {problems[0]} "
                         f"({len(problems)} mismatch(es); re-run predict --out or autotune to regenerate)")
    return config


def load_inputs(args: argparse.Namespace):
    """Plan, ds_config, hardware profile and token source, or a one-line ValueError (pure: before any
    process group exists, so a user error costs nothing)."""
    from mist_ds.config import Plan
    from mist_ds.config.profiles import hardware_for_plan, load_hardware
    from mist_ds.runtime.data import TokenSource

    plan = Plan.load_checked(args.plan, "plan")
    ds_config = load_ds_config(plan, args.plan, args.ds_config)
    try:
        hardware = hardware_for_plan(plan, args.hardware)
    except ValueError as err:
        if args.hardware:
            raise
        hardware = load_hardware(_gpu_profile_name())
        print(f"mist_ds.train: {err}; the MFU peak and RunReport.hardware_name come from '{hardware.name}'",
              file=sys.stderr)
    source = TokenSource(plan.model.vocab_size, plan.seq_len, args.seed, args.data, args.data_dtype)
    return plan, ds_config, hardware, source


def _gpu_profile_name() -> str:
    """The shipped profile of this node (what `--hardware auto` names), else the default one (no GPU, or a card
    without one): for a plan tuned on a profile file the run was not given, only the MFU peak and
    RunReport.hardware_name come from it."""
    from mist_ds.config.profiles import DEFAULT_PROFILE
    from mist_ds.gpuinfo import AUTO_HARDWARE, hardware_arg

    try:
        return hardware_arg(AUTO_HARDWARE)
    except ValueError:
        return DEFAULT_PROFILE


FAULT_KINDS = ("oom", "kill")


def injected_fault() -> tuple[str, int, int] | None:
    """MIST_DS_FAULT=KIND:RANK:STEP[:ATTEMPT] makes RANK, after STEP (0-based), raise OutOfMemoryError
    (KIND 'oom') or die by SIGKILL as the kernel's OOM killer would (KIND 'kill'); with ATTEMPT, only
    in that attempt of `python -m mist_ds.run` (it sets MIST_DS_ATTEMPT: 0 the winner, K fallback K).
    How the tests check that an OOM ends every rank with exit code 3 and an 'oom' report, and that
    the run wrapper moves on to the fallback plans."""
    value = os.environ.get("MIST_DS_FAULT", "")
    if not value:
        return None
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[0] not in FAULT_KINDS or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"MIST_DS_FAULT={value!r}: expected KIND:RANK:STEP[:ATTEMPT], KIND one of {FAULT_KINDS}")
    if len(parts) == 4 and parts[3] != os.environ.get("MIST_DS_ATTEMPT", "0"):
        return None
    return parts[0], int(parts[1]), int(parts[2])


def host_memory_stop(plan, args, precision: str) -> int | None:
    """The host-memory check (runtime/host_check.py) before anything large is allocated: None when
    every node fits (or --no-host-check), else 3 after rank 0 printed the one line and wrote the
    report (the other ranks wait for that at a barrier, so the launcher cannot kill rank 0 first)."""
    import torch.distributed as dist

    from mist_ds.runtime.host_check import check_host_memory
    from mist_ds.runtime.reporting import failure_report, write_report

    if args.no_host_check:
        return None
    local_rank = args.local_rank if args.local_rank is not None else int(os.environ.get("LOCAL_RANK", 0))
    message = check_host_memory(plan, local_rank)
    if message is None:
        return None
    if dist.get_rank() == 0:
        print(f"error: {message}", file=sys.stderr, flush=True)
        write_report(failure_report(plan, "oom", message, steps_done=0, warmup=args.warmup,
                                    precision=precision, losses=[]), args.report)
    dist.barrier()
    return EXIT_OOM


def finish(code: int) -> None:
    """barrier -> destroy_process_group -> flush -> os._exit (DESIGN.md: avoids aborts at exit)."""
    import torch.distributed as dist

    if code == 0 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def machine_config(args, plan, ds_config, hardware, local_rank):
    """(ds_config, measured copy pair or None): runtime/copy_probe.py probed_config unless --no-copy-probe;
    rank 0 says what the probe measured and which paths it changed."""
    if args.no_copy_probe:
        return ds_config, None
    import torch.distributed as dist

    from mist_ds.runtime.copy_probe import path_changes, probed_config

    config, pair, declined = probed_config(plan, ds_config, hardware, local_rank)
    if pair is not None and dist.get_rank() == 0:
        print(f"[mist_ds] this machine's copies both ways: h2d x{pair[0]:.2f}, d2h x{pair[1]:.2f} beside each "
              f"other; {path_changes(plan, ds_config, config)}" + (f" ({declined})" if declined else ""), flush=True)
    return config, pair


def train(args, plan, ds_config, hardware, source) -> int:
    """Build, train, report. Returns the exit code."""
    import torch
    import torch.distributed as dist

    from mist_ds.runtime import build as eng
    from mist_ds.runtime.reporting import failure_report, success_report, write_report
    from mist_ds.runtime.host_clock import StepHost
    from mist_ds.runtime.trainer import run_steps

    local_rank = args.local_rank if args.local_rank is not None else int(os.environ.get("LOCAL_RANK", 0))
    precision = args.precision or ("fp32" if eng.on_cpu() else plan.dtype)
    losses: list[float] = []
    kernels: dict[str, str] = {}  # what the model runs, once it is built
    zero_init = eng.uses_zero_init(plan)  # how it is built (RunReport.zero_init)

    fault = injected_fault()
    stop = host_memory_stop(plan, args, precision)
    if stop is not None:
        return stop

    def progress(step, losses_, times):
        if fault is not None and fault[1:] == (dist.get_rank(), step):
            if fault[0] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise torch.OutOfMemoryError(f"injected by MIST_DS_FAULT at step {step}")
        if dist.get_rank() == 0:
            print(f"[mist_ds] step {step + 1}/{args.steps} loss {losses_[-1]:.5f} "
                  f"time {times[-1]:.3f}s", flush=True)

    try:
        ds_config, copy_pair = machine_config(args, plan, ds_config, hardware, local_rank)
        rt = eng.build_runtime(plan, local_rank, precision, args.seed, args.lr, args.adam, ds_config,
                               args.writeback_cast)
        kernels = rt.kernels
        host = StepHost(args.gc, args.gc_interval)
        step_retries: list[int] = []
        losses, times = run_steps(plan, rt, source, args.steps, progress, losses, host, step_retries)
        report = success_report(plan, losses, times, warmup=args.warmup, precision=precision,
                                hardware=hardware, kernels=kernels, zero_init=rt.zero_init, host=host,
                                step_retries=step_retries)
        report = report.model_copy(update={"adam_impl": rt.adam_impl, "copy_slowdowns": copy_pair or (),
                                           "writeback_cast": rt.writeback_cast})
    except torch.OutOfMemoryError as err:
        write_report(failure_report(plan, "oom", str(err), steps_done=len(losses), warmup=args.warmup,
                                    precision=precision, losses=losses, kernels=kernels,
                                    zero_init=zero_init), args.report)
        print(f"[mist_ds] rank {dist.get_rank()}: out of memory: {str(err).splitlines()[0]}",
              file=sys.stderr)
        return EXIT_OOM
    except Exception as err:  # every failure becomes a report, never a hang
        traceback.print_exc()
        # Often the echo of a peer's OOM (gloo raises when the peer's socket closes): give the
        # launcher time to see that rank's exit code 3 and kill us first, and never overwrite its report.
        time.sleep(PEER_GRACE_S)
        if _has_oom_report(args.report):
            return EXIT_OOM
        write_report(failure_report(plan, "error", f"{type(err).__name__}: {err}",
                                    steps_done=len(losses), warmup=args.warmup, precision=precision,
                                    losses=losses, kernels=kernels, zero_init=zero_init), args.report)
        return EXIT_ERROR
    if dist.get_rank() == 0:
        write_report(report, args.report)
        started = f", first step after {report.startup_s:.1f} s" if report.startup_s is not None else ""
        print(f"[mist_ds] ok: median {report.median_iteration_time_s} s/iter, "
              f"tokens/s {report.tokens_per_s}, MFU {report.mfu}{started}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        plan, ds_config, hardware, source = load_inputs(args)
        injected_fault()  # a malformed MIST_DS_FAULT is a user error, before any process group
        if not args.no_host_check:
            from mist_ds.runtime.host_check import available_bytes

            available_bytes()  # likewise a malformed MIST_DS_HOST_MEMORY_AVAILABLE_BYTES
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    from mist_ds.runtime.build import init_distributed

    if args.report and os.environ.get("RANK", "0") == "0" and os.path.exists(args.report):
        os.unlink(args.report)  # a stale report must not pass for this run's
    init_distributed()
    finish(train(args, plan, ds_config, hardware, source))
