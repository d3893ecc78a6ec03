#!/usr/bin/env python3
"""The same configuration through mist_ds's runtime and through plain DeepSpeed (issue 14 item 1).

    python3 bench/runtime/parity.py run --out $OUT [--budget-s 500] [--trace]     # 2 GPUs, < 9 min
    python3 bench/runtime/parity.py unpack $OUT/parity.json [--best-run RUN.json ...]

`run` trains each parity configuration (CONFIGS, llama-7b at seq 4096, global batch 8, 2 GPUs, whole
cards) twice: `launch/train.py --plan` with the plan of that configuration (bench/runtime/
traced_train.py when tracing), and the independent HF baseline `bench/baseline/train_hf.py` with the
same ZeRO stage, micro-batch, gradient accumulation, recompute (all layers or none) and pipeline
split. Pairs run in ORDER, mist_ds first; a pair whose estimate (start-up + steps at the plan's
predicted iteration time, constants below) no longer fits the budget is skipped, never half run, and
a side still running GRACE_S past the budget is stopped. With --trace the last step of every run is
profiled (bench/runtime/trace_summary.py): it counts among the timed steps (profiling slows it; one
extra step keeps the untraced ones as many as without --trace, and the median shrugs off one slow
step). Everything lands in $OUT: parity.json (the bundle:
machine, both results per pair, log tails, trace summaries), parity.md (the table), plans/, traces/.
`unpack` commits a bundle: bench/results/runtime/parity/<config>.{mist.run,hf}.json, the traces,
and bench/results/runtime_speed.json in the issue's format plus runtime_speed.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.accuracy import machine  # noqa: E402
from bench.accuracy.jobs import killing_signal, last_error_line, run_with_limit  # noqa: E402
from mist_ds.config import ModelSpec, Plan, get_preset  # noqa: E402
from mist_ds.config.cluster import ClusterSpec  # noqa: E402
from mist_ds.config.plan import MemoryStrategy, StagePlan  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WARMUP, TIMED_S, MIN_TIMED, MAX_TIMED = 2, 6.0, 3, 5
# start-up of a 2-GPU run (imports, NCCL, model build, engine): llama-7b runs of the accuracy suite
# (bench/results/accuracy/bundles/b1-*, b5-*, 2026-11-30) spent 30-33 s before their first step
STARTUP_BASE_S, STARTUP_PER_BPARAM_S = 20.0, 2.0
COMPILE_S = 30.0       # first mist_ds run on a machine: torch.compile of SwiGLU and RoPE (then cached)
TRACE_S = 10.0         # exporting and summarising one traced step
SLOW_FACTOR, LIMIT_FACTOR, LIMIT_BASE_S = 1.3, 3.0, 90.0
GRACE_S = 60.0         # a side may run this far past the budget before it is stopped
BASE_PORT = 29911


@dataclass(frozen=True)
class ParityConfig:
    """One configuration run by both sides."""

    name: str
    zero: int
    micro_batch: int
    recompute: bool        # every layer (mist_ds num_recompute_layers = all; HF checkpointing on)
    pipeline_stages: int = 1


CONFIGS = {c.name: c for c in (ParityConfig("zero3-rc", 3, 2, True), ParityConfig("zero1", 1, 1, False),
                               ParityConfig("pp2", 1, 1, False, 2), ParityConfig("zero2", 2, 1, False))}
ORDER = tuple(CONFIGS)  # the measured gap (ZeRO-3 + recompute) first


@dataclass(frozen=True)
class Workload:
    model: str = "llama-7b"
    """Preset name or ModelSpec JSON file (tests use a tiny Llama)."""
    num_gpus: int = 2
    seq_len: int = 4096
    global_batch: int = 8
    hardware: str = "h200"

    def spec(self) -> ModelSpec:
        return ModelSpec.load(self.model) if self.model.endswith(".json") else get_preset(self.model)


def make_plan(w: Workload, c: ParityConfig) -> Plan:
    """The mist_ds plan of a parity configuration (even pipeline split, no memory cap)."""
    spec, stages = w.spec(), c.pipeline_stages
    dp = w.num_gpus // stages
    bounds = [spec.num_layers * i // stages for i in range(stages + 1)]
    plan_stages = tuple(StagePlan(layer_start=a, layer_end=b, num_recompute_layers=(b - a) if c.recompute else 0)
                        for a, b in zip(bounds, bounds[1:]))
    return Plan(model=spec, cluster=ClusterSpec(num_nodes=1, gpus_per_node=w.num_gpus),
                global_batch_size=w.global_batch, seq_len=w.seq_len, dp=dp, tp=1,
                micro_batch_size=c.micro_batch, grad_accum_steps=w.global_batch // (c.micro_batch * dp),
                memory=MemoryStrategy(zero_stage=c.zero), stages=plan_stages)


def rebuilt_plan(pair: dict) -> Plan:
    """The plan a bundle's pair ran (make_plan is deterministic), with today's prediction."""
    known = {f.name for f in fields(Workload)}
    w = Workload(**{k: v for k, v in pair["config"].items() if k in known})
    return with_prediction(make_plan(w, CONFIGS[pair["config"]["name"]]), w.hardware)


def with_prediction(plan: Plan, hardware: str) -> Plan:
    """The plan with the cost model's prediction (its iteration time sizes the steps and limits)."""
    from mist_ds.config.profiles import load_hardware
    from mist_ds.cost import predict_plan

    return plan.model_copy(update={"prediction": predict_plan(plan, load_hardware(hardware))})


def step_counts(iteration_s: float, trace: bool) -> tuple[int, int]:
    """(steps, warmup): WARMUP + enough timed steps for ~TIMED_S, + 1 traced step."""
    timed = min(MAX_TIMED, max(MIN_TIMED, math.ceil(TIMED_S / max(iteration_s, 1e-3))))
    return WARMUP + timed + (1 if trace else 0), WARMUP


def estimates(plan: Plan, steps: int, first_mist: bool, trace: bool = False) -> tuple[float, float]:
    """(expected seconds of one side, its time limit)."""
    start = (STARTUP_BASE_S + STARTUP_PER_BPARAM_S * plan.model.num_params / 1e9
             + (COMPILE_S if first_mist else 0.0) + (TRACE_S if trace else 0.0))
    iteration = plan.prediction.iteration_time_s
    return start + SLOW_FACTOR * steps * iteration, LIMIT_BASE_S + 2 * start + LIMIT_FACTOR * steps * iteration


def launcher(w: Workload, port: int, hostfile: Path) -> list[str]:
    return [sys.executable, "-u", "-m", "deepspeed.launcher.runner", "--hostfile", str(hostfile),
            "--no_ssh_check", "--master_addr", "127.0.0.1", "--master_port", str(port),
            "--include", "localhost:" + ",".join(map(str, range(w.num_gpus)))]


def mist_argv(w: Workload, plan_path: Path, report: Path, steps: int, trace: bool) -> list[str]:
    script = ROOT / "bench" / "runtime" / "traced_train.py" if trace else ROOT / "launch" / "train.py"
    return [str(script), "--plan", str(plan_path), "--steps", str(steps), "--warmup", str(WARMUP),
            "--report", str(report), "--hardware", w.hardware]


def hf_argv(w: Workload, c: ParityConfig, report: Path, steps: int, trace_dir: Path | None) -> list[str]:
    argv = [str(ROOT / "bench" / "baseline" / "train_hf.py"), "--model", w.model, "--seq-len", str(w.seq_len),
            "--global-batch", str(w.global_batch), "--micro-batch", str(c.micro_batch), "--zero", str(c.zero),
            "--steps", str(steps), "--warmup", str(WARMUP), "--hardware", w.hardware, "--report", str(report),
            "--pipeline-stages", str(c.pipeline_stages)]
    argv += ["--checkpointing"] if c.recompute else []
    return argv + (["--trace-dir", str(trace_dir), "--trace-name", f"{c.name}.hf"] if trace_dir else [])


def run_side(argv: list[str], env: dict, limit_s: float, log: Path) -> dict:
    """Run one launch; its outcome (never raises for a failed run)."""
    returncode, timed_out, wall_s = run_with_limit(argv, env, ROOT, limit_s, log)
    text = log.read_text(errors="replace")
    kept = [ln for ln in text.splitlines() if ln.strip() and "Warning" not in ln and "warnings.warn" not in ln]
    return {"returncode": returncode, "timed_out": timed_out, "wall_s": round(wall_s, 1),
            "limit_s": round(limit_s, 1), "signal": killing_signal(text),
            "error_line": "" if returncode == 0 else last_error_line(text), "log_tail": "\n".join(kept)[-3000:]}


def read_result(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def trace_summaries(folder: Path, stem: str) -> dict:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob(f"{stem}.rank*.summary.json"))}


def run_pair(w: Workload, c: ParityConfig, out: Path, port: int, trace: bool, first_mist: bool,
             remaining_s: float, min_limit_s: float = 0.0) -> dict:
    """Both sides of one configuration, or the reason they were not run; each side's time limit is
    its estimate's, at least `min_limit_s`."""
    plan = with_prediction(make_plan(w, c), w.hardware)
    steps, warmup = step_counts(plan.prediction.iteration_time_s, trace)
    expected_mist, limit_mist = estimates(plan, steps, first_mist, trace)
    expected_hf, limit_hf = estimates(plan, steps, False, trace)
    limit_mist, limit_hf = max(limit_mist, min_limit_s), max(limit_hf, min_limit_s)
    entry = {"config": {**asdict(c), **asdict(w)}, "steps": steps, "warmup": warmup,
             "predicted_iteration_s": round(plan.prediction.iteration_time_s, 3),
             "expected_s": round(expected_mist + expected_hf, 1)}
    if expected_mist + expected_hf > remaining_s:
        return {**entry, "not_run": f"would overrun the budget ({remaining_s:.0f} s left)"}
    for folder in ("plans", "logs", "traces", "reports"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    plan_path = out / "plans" / f"{c.name}.plan.json"
    write_text_atomic(plan_path, plan.to_json() + "\n")
    hostfile = out / "logs" / "hostfile"
    hostfile.write_text(f"localhost slots={w.num_gpus}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NCCL_NVLS_ENABLE": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    traces = out / "traces"
    deadline = time.monotonic() + remaining_s + GRACE_S
    sides = {}
    for side, argv, limit, extra in (
            ("mist_ds", mist_argv(w, plan_path, out / "reports" / f"{c.name}.mist.run.json", steps, trace),
             limit_mist, {"MIST_DS_TRACE_DIR": str(traces), "MIST_DS_TRACE_STEP": str(steps - 1),
                          "MIST_DS_TRACE_NAME": f"{c.name}.mist"} if trace else {}),
            ("plain_deepspeed", hf_argv(w, c, out / "reports" / f"{c.name}.hf.json", steps,
                                        traces if trace else None), limit_hf, {})):
        report = out / "reports" / (f"{c.name}.mist.run.json" if side == "mist_ds" else f"{c.name}.hf.json")
        report.unlink(missing_ok=True)
        outcome = run_side(launcher(w, port + len(sides), hostfile) + argv, {**env, **extra},
                           min(limit, deadline - time.monotonic()), out / "logs" / f"{c.name}.{side}.log")
        stem = f"{c.name}.mist" if side == "mist_ds" else f"{c.name}.hf"
        sides[side] = {**outcome, "result": read_result(report), "traces": trace_summaries(traces, stem)}
    return {**entry, **sides}


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    w = Workload(args.model, args.num_gpus, args.seq_len, args.global_batch, args.hardware)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = {"workload": asdict(w), "machine": machine.machine_info(), "argv": sys.argv, "pairs": []}
    if not machine.on_cpu() and not args.no_build:
        bundle["op_builds"] = machine.finish_op_builds(machine.start_op_builds(["fused_adam"]), 300.0)
    first_mist = not machine.on_cpu()
    for index, name in enumerate(args.configs):
        remaining = args.budget_s - (time.monotonic() - started)
        pair = run_pair(w, CONFIGS[name], out, BASE_PORT + 2 * index, args.trace, first_mist, remaining,
                        args.min_limit_s)
        first_mist = first_mist and "not_run" in pair
        bundle["pairs"].append(pair)
        bundle["elapsed_s"] = round(time.monotonic() - started, 1)
        write_text_atomic(out / "parity.json", json.dumps(bundle, indent=1) + "\n")
        print(summary_line(pair), flush=True)
    from bench.runtime.parity_report import table

    write_text_atomic(out / "parity.md", table(bundle) + "\n")
    print(table(bundle))
    return bundle


def summary_line(pair: dict) -> str:
    name = pair["config"]["name"]
    if "not_run" in pair:
        return f"{name}: not run ({pair['not_run']})"
    cells = []
    for side in ("mist_ds", "plain_deepspeed"):
        result = pair[side]["result"] or {}
        median = result.get("median_iteration_time_s")
        cells.append(f"{side} {result.get('status', 'no report')}"
                     + (f" {median:.3f} s/iter" if median else "") + f" ({pair[side]['wall_s']} s)")
    return f"{name}: " + ", ".join(cells)


def parse_args(argv=None) -> argparse.Namespace:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/runtime/parity.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="run the parity pairs here (GPU machine)")
    run_cmd.add_argument("--out", required=True)
    run_cmd.add_argument("--budget-s", type=float, default=500.0)
    run_cmd.add_argument("--configs", default=",".join(ORDER), help=f"subset of {','.join(ORDER)}, in run order")
    run_cmd.add_argument("--trace", action="store_true", help="profile the last step of every run")
    run_cmd.add_argument("--min-limit-s", type=float, default=0.0,
                         help="a floor under each side's time limit (the estimate is a GPU's: CPU test runs)")
    run_cmd.add_argument("--model", default=Workload.model, help="preset or ModelSpec JSON")
    run_cmd.add_argument("--num-gpus", type=int, default=Workload.num_gpus)
    run_cmd.add_argument("--seq-len", type=int, default=Workload.seq_len)
    run_cmd.add_argument("--global-batch", type=int, default=Workload.global_batch)
    run_cmd.add_argument("--hardware", default=Workload.hardware)
    run_cmd.add_argument("--no-build", action="store_true", help="skip building FusedAdam first")
    unpack_cmd = sub.add_parser("unpack", help="commit a bundle under bench/results")
    unpack_cmd.add_argument("bundle")
    unpack_cmd.add_argument("--results", default=str(RESULTS))
    unpack_cmd.add_argument("--label", default="", help="commit the pairs as '<config><label>' (e.g. +fastest)")
    unpack_cmd.add_argument("--best-run", action="append", default=[],
                            help="a committed RunReport of a best 7B plan (repeatable)")
    args = parser.parse_args(argv)
    if args.command == "run":
        args.configs = tuple(x for x in args.configs.split(",") if x)
        unknown = [x for x in args.configs if x not in CONFIGS]
        if unknown or not args.configs:
            parser.error(f"--configs takes a subset of {','.join(ORDER)}; unknown: {','.join(unknown)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "unpack":
        from bench.runtime.parity_report import unpack

        try:
            bundle = Path(args.bundle)
            print("\n".join(unpack(json.loads(bundle.read_text()), bundle.parent, Path(args.results),
                                   args.best_run, rebuild=rebuilt_plan, label=args.label)))
        except (OSError, ValueError, KeyError) as err:
            print(f"error: {err}".splitlines()[0], file=sys.stderr)
            return 2
        return 0
    try:
        for name in args.configs:
            make_plan(Workload(args.model, args.num_gpus, args.seq_len, args.global_batch, args.hardware),
                      CONFIGS[name])
    except (ValueError, OSError) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
