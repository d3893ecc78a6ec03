"""One run of the accuracy suite: its plan, step counts, time estimates, command line and outcome.

Time limits derive from the plan's stored prediction (bench/accuracy/generate.py wrote it): start-up
(imports, model build, engine set-up, pinned host buffers of offload plans) grows with the model,
then warm-up plus timed steps at the predicted iteration time. The limit is generous (the model has
been 2x off on ZeRO-3); what a run really took is in the bundle, to refine these constants.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mist_ds.config import Plan, RunReport

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "launch" / "train.py"
WARMUP_STEPS = 2
TIMED_S = 6.0            # aim for this much timed stepping ...
MIN_TIMED, MAX_TIMED = 3, 8   # ... within these step counts
STARTUP_BASE_S = 30.0    # python + torch + deepspeed imports, NCCL init
STARTUP_PER_BPARAM_S = 2.0       # model build + engine set-up per 1e9 parameters
OFFLOAD_PER_BPARAM_S = 8.0       # pinned host buffers and CPU Adam states per 1e9 parameters
MISTPIPE_OFFLOAD_PER_BPARAM_S = 5.5  # mistpipe's registered host buffers: its 59 committed 1-GPU offload runs
                                     # started in a median 30 + 7.5 s per 1e9 parameters (bundles to S35)
SLOW_FACTOR = 1.3        # expected = prediction x this (the budget check)
LIMIT_BASE_S, LIMIT_FACTOR = 90.0, 3.0   # time limit = base + 2 x start-up + factor x steps x prediction
DEFAULT_ITER_S = 10.0    # a plan without a prediction
RETURN_CODE = re.compile(r"exits with return code = (-?\d+)")


@dataclass
class Job:
    """A plan to run with its limits (plain data: the runner schedules these)."""

    name: str
    plan_path: Path
    plan: Plan
    steps: int
    warmup: int
    expected_s: float
    timeout_s: float
    env: dict = field(default_factory=dict)
    train_script: Path = TRAIN
    train_args: tuple[str, ...] = ()
    """More flags for the training script (e.g. ('--gc', 'manual'))."""

    @property
    def num_gpus(self) -> int:
        return self.plan.cluster.num_gpus

    @property
    def exclusive(self) -> bool:
        """Runs alone: uses every GPU of a 2-GPU plan, or the host (CPU offload of any kind), where a
        neighbour would share CPU cores, host memory and PCIe."""
        return (self.num_gpus > 1 or self.plan.memory.offloads_model_states
                or any(s.num_offloaded_layers for s in self.plan.stages))


def startup_s(plan: Plan) -> float:
    """Expected seconds from launch to the first step."""
    billions = plan.model.num_params / 1e9
    offload = MISTPIPE_OFFLOAD_PER_BPARAM_S if plan.executor == "mistpipe" else OFFLOAD_PER_BPARAM_S
    return STARTUP_BASE_S + billions * (STARTUP_PER_BPARAM_S + (offload if plan.memory.offloads_model_states else 0.0))


def make_job(name: str, plan_path: Path, *, steps: int | None = None, warmup: int | None = None,
             timeout_s: float | None = None, env: dict | None = None,
             train_script: Path | None = None, train_args: tuple[str, ...] = ()) -> Job:
    """A Job for a plan file; steps/warmup/limit from its prediction unless given."""
    plan = Plan.load_checked(plan_path, "plan")
    iteration = plan.prediction.iteration_time_s if plan.prediction else DEFAULT_ITER_S
    warmup = WARMUP_STEPS if warmup is None else warmup
    if steps is None:
        steps = warmup + min(MAX_TIMED, max(MIN_TIMED, math.ceil(TIMED_S / iteration)))
    start = startup_s(plan)
    expected = start + steps * iteration * SLOW_FACTOR
    limit = LIMIT_BASE_S + 2 * start + LIMIT_FACTOR * steps * iteration
    return Job(name=name, plan_path=Path(plan_path), plan=plan, steps=steps, warmup=warmup,
               expected_s=expected, timeout_s=limit if timeout_s is None else timeout_s,
               env=dict(env or {}), train_script=Path(train_script or TRAIN), train_args=tuple(train_args))


def command(job: Job, gpu_ids: list[int], port: int, hostfile: Path, report: Path,
            hardware: str | None) -> list[str]:
    """The deepspeed launch of one run on `gpu_ids` of this host (emit/launch.py's single-host flags:
    --no_ssh_check --master_addr 127.0.0.1; --include pins the GPUs; a distinct port per run)."""
    argv = [sys.executable, "-u", "-m", "deepspeed.launcher.runner", "--hostfile", str(hostfile),
            "--no_ssh_check", "--master_addr", "127.0.0.1", "--master_port", str(port),
            "--include", "localhost:" + ",".join(map(str, gpu_ids)), str(job.train_script),
            "--plan", str(job.plan_path), "--steps", str(job.steps), "--warmup", str(job.warmup),
            "--report", str(report), *job.train_args]
    return argv + (["--hardware", hardware] if hardware else [])


def run_with_limit(argv: list[str], env: dict, cwd: Path, limit_s: float, log: Path,
                   grace_s: float = 10.0) -> tuple[int, bool, float]:
    """Run `argv` in its own process group with stdout+stderr to `log`; past `limit_s` SIGTERM the group,
    then SIGKILL after `grace_s`. Returns (return code, timed out, wall seconds); never raises for a
    failed run (the baseline grid and the parity benchmark launch through it)."""
    start, timed_out = time.monotonic(), False
    with open(log, "w") as handle:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
    return proc.returncode, timed_out, time.monotonic() - start


def killing_signal(log_text: str) -> int | None:
    """The signal that killed a rank, from DeepSpeed's launcher line 'exits with return code = -N'
    (launcher/launch.py sigkill_handler: a child's negative return code is the signal)."""
    codes = [int(code) for code in RETURN_CODE.findall(log_text)]
    return next((-code for code in codes if code < 0), None)


def last_error_line(log_text: str) -> str:
    """The most telling line of a failed run's log (an Error/exception line, else the last line)."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error:" in line or "Exception" in line:
            return line[:500]
    return (lines[-1] if lines else "no output")[:500]


def outcome(job: Job, returncode: int | None, timed_out: bool, report_path: Path, log_text: str,
            fallback: dict) -> RunReport:
    """The run's RunReport: the one the ranks wrote, corrected or replaced by what the runner saw
    (a time limit, a rank killed by a signal, an exit without a report). `fallback`: RunReport
    fields the runner knows (plan_hash, gpu_name, versions, node memory it sampled)."""
    report = None
    if report_path.exists():
        try:
            report = RunReport.load(report_path)
        except ValueError:
            report = None
    signal = killing_signal(log_text)
    base = report.model_dump() if report is not None else {
        **fallback, "num_steps": 0, "num_warmup_steps": 0, "status": "error", "error_message": ""}
    if timed_out and not (report is not None and report.status == "ok"):
        update = {"status": "timeout", "signal": None,
                  "error_message": f"stopped by the runner's time limit of {job.timeout_s:.0f} s"}
    elif signal is not None and (report is None or report.status != "ok"):
        update = {"status": "killed", "signal": signal,
                  "error_message": f"a rank was killed by signal {signal} (launcher: return code -{signal})"}
    elif report is None:
        update = {"status": "error", "error_message": (f"exit {returncode} without a report: "
                                                       f"{last_error_line(log_text)}")}
    else:
        update = {}
    for key, value in fallback.items():  # fill what a dead run could not measure
        if key.startswith("node_mem") and not base.get(key):
            update.setdefault(key, value)
    return RunReport.model_validate({**base, **update}, strict=False)


def estimate_batch_s(jobs: list[Job], num_gpus: int) -> float:
    """Expected wall time of a batch under the runner's schedule: exclusive runs one after another,
    1-GPU runs without offload side by side on `num_gpus` lanes (greedy, in order)."""
    clock, lanes = 0.0, [0.0] * num_gpus
    for job in jobs:
        if job.exclusive:
            clock = max([clock, *lanes]) + job.expected_s
            lanes = [clock] * num_gpus
        else:
            lane = min(range(num_gpus), key=lambda i: max(lanes[i], clock))
            lanes[lane] = max(lanes[lane], clock) + job.expected_s
    return max([clock, *lanes])
