#!/usr/bin/env python3
"""Run one batch of the accuracy suite on this GPU machine and bundle the results under --out.

    python bench/accuracy/run_batch.py --batch b1-zero3-tp-offload --out $OUT --budget-s 500
    python bench/accuracy/run_batch.py --jobs jobs.json --out DIR      # ad-hoc list (tests, re-runs)

Each case's committed plan (bench/results/accuracy/<case>.plan.json) runs through
`deepspeed ... launch/train.py --plan P --steps S --warmup W --report R` with a time limit derived
from its prediction (bench/accuracy/jobs.py). An OOM, a time-out or a rank killed by a signal is a
result, never a crash of the runner. 1-GPU plans without CPU offload run two at a time, each on its
own GPU. A case that would overrun --budget-s is recorded as not run. DeepSpeed's JIT ops are
built first, so no run pays for a build. The bundle (accuracy_<batch>.json: machine facts, op
builds, every RunReport with its log tail) is rewritten after every run, so a call cut short still
leaves a valid file; accuracy_<batch>.log is the human-readable trace.
--jobs FILE: a JSON list of {"name", "plan", optional "steps", "warmup", "timeout_s", "env",
"train_script", "train_args" (a list of more flags for the training script)}. Exit 0 when the batch ran
(whatever the runs' outcomes), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy import machine  # noqa: E402
from bench.accuracy.jobs import ROOT, Job, command, make_job, outcome  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402
from mist_ds.gpuinfo import AUTO_HARDWARE, hardware_arg  # noqa: E402
from mist_ds.runtime.measure import read_meminfo  # noqa: E402

PLANS = ROOT / "bench" / "results" / "accuracy"
BASE_PORT = 29611
POLL_S = 0.5
START_MARGIN = 1.6
"""A job starts only while the budget left holds this times its expected seconds: on the 1-GPU H100 node (S46-1,
b49) first runs took up to 1.56x their estimate, and one started with its estimate left was cut by the budget."""
OBSERVED_MARGIN = 1.6
"""Once runs of this call have finished, a job starts while the budget left holds this times the call's largest
ratio of wall to expected seconds so far times its own expected seconds (start_margin), if that is less than
START_MARGIN: the machine's pace holds within a call. Over the 265 runs of the committed bundles that followed an
earlier finished run of their call, a run's ratio was at most 1.58x the earlier runs' largest (b23, 1.04 after 0.65;
next 1.41x, 1.36x). On the H100 node the estimate runs long (session 57's repeats at 0.70-0.94 of it; start-up
0.42-0.75 of jobs.py startup_s over 13 runs): START_MARGIN left out a run of 126 s with 204 s left (S57-2)."""
KILL_GRACE_S = 5.0
LOG_TAIL_CHARS = 6000
NOISE = ("UserWarning", "warnings.warn", "FutureWarning", "return Variable._execution_engine")


@dataclass
class Running:
    job: Job
    proc: subprocess.Popen
    gpus: list[int]
    port: int
    log_path: Path
    report_path: Path
    started: float
    limit_s: float
    cut_by_budget: bool
    mem_start: int | None
    mem_min: int | None
    concurrent_with: set = field(default_factory=set)


class Batch:
    """Schedules the jobs on the GPUs, keeps the bundle current."""

    def __init__(self, name: str, jobs: list[Job], out: Path, budget_s: float, num_gpus: int,
                 scratch: Path, hardware: str | None, info: dict):
        self.name, self.pending, self.out = name, list(jobs), out
        self.deadline = time.monotonic() + budget_s
        self.started = time.monotonic()
        self.free = list(range(num_gpus))
        self.running: list[Running] = []
        self.scratch, self.hardware = scratch, hardware
        self.hostfile = scratch / "hostfile"
        self.hostfile.write_text(f"localhost slots={num_gpus}\n")
        self.bundle = {"batch": name, "budget_s": budget_s, "machine": info, "op_builds": {},
                       "runs": [], "not_run": []}
        self.port = BASE_PORT
        self.log_lines: list[str] = []

    # ----- bookkeeping ------------------------------------------------------------------------
    def log(self, line: str) -> None:
        stamp = f"[{time.monotonic() - self.started:6.1f}s] {line}"
        print(stamp, flush=True)
        self.log_lines.append(stamp)
        write_text_atomic(self.out / f"accuracy_{self.name}.log", "\n".join(self.log_lines) + "\n")

    def save(self) -> None:
        self.bundle["elapsed_s"] = round(time.monotonic() - self.started, 1)
        write_text_atomic(self.out / f"accuracy_{self.name}.json", json.dumps(self.bundle, indent=1) + "\n")

    def skip(self, job: Job, reason: str) -> None:
        self.bundle["not_run"].append({"case": job.name, "reason": reason,
                                       "expected_s": round(job.expected_s, 1)})
        self.log(f"not run {job.name}: {reason}")
        self.save()

    # ----- running ----------------------------------------------------------------------------
    def can_start(self, job: Job) -> bool:
        if job.exclusive:
            return not self.running
        return len(self.free) >= job.num_gpus and not any(r.job.exclusive for r in self.running)

    def start(self, job: Job) -> None:
        gpus, self.free = self.free[:job.num_gpus], self.free[job.num_gpus:]
        self.port += 1
        remaining = self.deadline - time.monotonic()
        limit = min(job.timeout_s, remaining)
        log_path = self.scratch / f"{job.name}.log"
        report_path = self.scratch / f"{job.name}.run.json"
        report_path.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NCCL_NVLS_ENABLE": "0",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               **job.env}
        argv = command(job, gpus, self.port, self.hostfile, report_path, self.hardware)
        with open(log_path, "w") as handle:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        available = read_meminfo().get("MemAvailable")
        run = Running(job, proc, gpus, self.port, log_path, report_path, time.monotonic(), limit,
                      limit < job.timeout_s, available, available)
        for other in self.running:
            other.concurrent_with.add(job.name)
            run.concurrent_with.add(other.job.name)
        self.running.append(run)
        self.log(f"start {job.name} on GPU {gpus} ({job.steps} steps, limit {limit:.0f} s, "
                 f"expected {job.expected_s:.0f} s)")

    def stop(self, run: Running) -> None:
        """SIGTERM the run's process group (the launcher passes it on), SIGKILL after a grace."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(run.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                run.proc.wait(timeout=KILL_GRACE_S)
                return
            except subprocess.TimeoutExpired:
                continue

    def finish(self, run: Running, timed_out: bool) -> None:
        self.running.remove(run)
        self.free = sorted(self.free + run.gpus)
        text = run.log_path.read_text(errors="replace")
        plan = run.job.plan
        fallback = {"plan_hash": plan.without_prediction().content_hash(),
                    "gpu_name": self.bundle["machine"]["gpu_name"], "num_gpus": run.job.num_gpus,
                    "torch_version": self.bundle["machine"]["torch"],
                    "deepspeed_version": self.bundle["machine"]["deepspeed"],
                    "node_mem_available_start_bytes": (run.mem_start,) if run.mem_start else (),
                    "node_mem_available_min_bytes": (run.mem_min,) if run.mem_min else (),
                    "node_mem_total_bytes": ((self.bundle["machine"]["host_mem_total_bytes"],)
                                             if run.mem_start else ())}
        report = outcome(run.job, run.proc.returncode, timed_out, run.report_path, text, fallback)
        report = report.model_copy(update={"driver_version": self.bundle["machine"]["driver_version"]})
        kept = [line for line in text.splitlines() if line.strip() and not any(n in line for n in NOISE)]
        wall = time.monotonic() - run.started
        self.bundle["runs"].append({
            "case": run.job.name, "plan_file": str(run.job.plan_path), "gpus": run.gpus,
            "port": run.port, "steps": run.job.steps, "warmup": run.job.warmup,
            "start_s": round(run.started - self.started, 1), "wall_s": round(wall, 1),
            "limit_s": round(run.limit_s, 1), "expected_s": round(run.job.expected_s, 1),
            "cut_by_budget": run.cut_by_budget and timed_out, "returncode": run.proc.returncode,
            "timed_out": timed_out, "concurrent_with": sorted(run.concurrent_with),
            "node_mem_available_start_bytes": run.mem_start, "node_mem_available_min_bytes": run.mem_min,
            "report": json.loads(report.to_json()), "log_tail": "\n".join(kept)[-LOG_TAIL_CHARS:]})
        self.log(f"done {run.job.name}: {report.status} (exit {run.proc.returncode}) after {wall:.0f} s"
                 + (f", median {report.median_iteration_time_s:.3f} s/iter"
                    if report.median_iteration_time_s else "")
                 + (f": {report.error_message[:160]}" if report.status != "ok" else ""))
        self.save()

    def poll(self) -> None:
        available = read_meminfo().get("MemAvailable")
        for run in list(self.running):
            if available is not None and run.mem_min is not None:
                run.mem_min = min(run.mem_min, available)
            if run.proc.poll() is not None:
                self.finish(run, timed_out=False)
            elif time.monotonic() - run.started > run.limit_s:
                self.log(f"time limit: stopping {run.job.name}")
                self.stop(run)
                self.finish(run, timed_out=True)

    def run(self, num_gpus: int) -> None:
        while self.pending or self.running:
            self.poll()
            if self.pending:
                job = self.pending[0]
                if job.num_gpus > num_gpus:
                    self.pending.pop(0)
                    self.skip(job, f"needs {job.num_gpus} GPUs, this machine has {num_gpus}")
                    continue
                if self.can_start(job):
                    self.pending.pop(0)
                    if job.expected_s * start_margin(self.bundle["runs"]) > self.deadline - time.monotonic():
                        self.skip(job, "would overrun the budget")
                    else:
                        self.start(job)
                    continue
            time.sleep(POLL_S)


def start_margin(runs: list[dict]) -> float:
    """How many times its expected seconds a job needs left to start, given the bundle's finished `runs`:
    START_MARGIN, or less once OK runs show this machine's pace (OBSERVED_MARGIN x their largest wall / expected)."""
    ratios = [run["wall_s"] / run["expected_s"] for run in runs
              if run["report"]["status"] == "ok" and run["expected_s"] > 0]
    return min(START_MARGIN, OBSERVED_MARGIN * max(ratios)) if ratios else START_MARGIN


def catalogue_jobs(batch: str, plans: Path) -> list[Job]:
    from bench.accuracy.cases import BATCHES

    if batch not in BATCHES:
        raise ValueError(f"unknown batch '{batch}'; known: {', '.join(BATCHES)}")
    return [make_job(case.name, plans / f"{case.name}.plan.json") for case in BATCHES[batch]]


def file_jobs(path: Path) -> list[Job]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read jobs file {path}: {err}") from None
    jobs = []
    for entry in entries:
        extra = {k: entry[k] for k in ("steps", "warmup", "timeout_s", "env", "train_args") if k in entry}
        script = entry.get("train_script")
        jobs.append(make_job(entry["name"], Path(entry["plan"]),
                             train_script=Path(script) if script else None, **extra))
    return jobs


def detect_gpus(requested: int | None) -> int:
    if requested:
        return requested
    if machine.on_cpu():
        raise ValueError("DS_ACCELERATOR=cpu: say how many CPU ranks stand in for GPUs (--gpus N)")
    count = len(machine.nvidia_smi_gpus())
    if not count:
        raise ValueError("no GPU found by nvidia-smi (CPU test runs: DS_ACCELERATOR=cpu and --gpus N)")
    return count


def needed_ops(jobs: list[Job]) -> list[str]:
    """FusedAdam for any GPU run, CPUAdam when a plan offloads the optimizer."""
    if machine.on_cpu():
        return []
    offload = any(job.plan.memory.offload_optimizer_ratio > 0 for job in jobs)
    return ["fused_adam"] + (["cpu_adam"] if offload else [])


def hardware_for() -> str | None:
    """The profile whose peak the runs' MFU divides by: this node's shipped profile, as `--hardware auto` names
    it and the report re-predicts the runs with (None where there is none, e.g. CPU ranks: train.py's default)."""
    try:
        return hardware_arg(AUTO_HARDWARE)
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/run_batch.py", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--batch", help="a batch of bench/accuracy/cases.py")
    source.add_argument("--jobs", help="JSON list of ad-hoc jobs")
    parser.add_argument("--out", required=True, help="folder for the bundle and the log ($OUT)")
    parser.add_argument("--budget-s", type=float, default=500.0, help="wall-clock budget, op builds included")
    parser.add_argument("--gpus", type=int, default=None, help="GPUs to use (default: nvidia-smi's count)")
    parser.add_argument("--plans", default=str(PLANS), help="folder of <case>.plan.json")
    parser.add_argument("--no-build", action="store_true", help="skip the JIT op builds")
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave out cases whose <case>.run.json already lies beside their plan")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        jobs = catalogue_jobs(args.batch, Path(args.plans)) if args.batch else file_jobs(Path(args.jobs))
        num_gpus = detect_gpus(args.gpus)
        if args.skip_existing:
            jobs = [j for j in jobs if not j.plan_path.with_name(f"{j.name}.run.json").exists()]
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
    if os.environ.get("TORCH_CUDA_ARCH_LIST") == "9.0a":
        os.environ["TORCH_CUDA_ARCH_LIST"] = "9.0"  # DeepSpeed's op builder cannot parse '9.0a'
    info = machine.machine_info()
    name = args.batch or Path(args.jobs).stem
    with tempfile.TemporaryDirectory(prefix="mist_acc_") as scratch:
        batch = Batch(name, jobs, out, args.budget_s - (time.monotonic() - started), num_gpus,
                      Path(scratch), hardware_for(), info)
        batch.log(f"batch {name}: {len(jobs)} runs on {num_gpus} x {info['gpu_name']}, "
                  f"budget {args.budget_s:.0f} s")
        ops = [] if args.no_build else needed_ops(jobs)
        if ops:
            batch.bundle["op_builds"] = machine.finish_op_builds(machine.start_op_builds(ops), 300.0)
            batch.log(f"op builds: {json.dumps({k: (v['ok'], v['seconds']) for k, v in batch.bundle['op_builds'].items()})}")
        batch.save()
        batch.run(num_gpus)
        counts: dict[str, int] = {}
        for run in batch.bundle["runs"]:
            counts[run["report"]["status"]] = counts.get(run["report"]["status"], 0) + 1
        batch.log(f"end: {counts}, not run {len(batch.bundle['not_run'])}, "
                  f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
