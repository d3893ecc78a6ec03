"""launch/train.py end to end on 2 CPU ranks: a pipelined plan reports ok; an OOM on one rank ends
every rank with exit code 3 and an 'oom' report (the run is bench/accuracy/run_batch.py's 'oom' job,
made once for this file and tests/bench/test_run_batch.py: tests/shared_runs.py); user errors exit 2
before any process group."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mist_ds.config import Plan, RunReport
from mist_ds.source_version import runtime_digest

from tests.helpers import free_port
from .test_loss_equivalence import ROOT, cpu_env, deepspeed_cmd

EXAMPLE = ROOT / "launch" / "examples" / "tiny-gpt-pp2.json"


def launch(tmp_path: Path, port: int, plan: Path, *extra: str, env=None, script: str = "launch/train.py"):
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    report = tmp_path / "run.json"
    cmd = deepspeed_cmd(hostfile, port, script, "--plan", str(plan), "--steps", "3",
                        "--warmup", "1", "--report", str(report), *extra)
    proc = subprocess.run(cmd, cwd=ROOT, env={**cpu_env(), **(env or {})}, capture_output=True,
                          text=True, timeout=600)
    return proc, report


@pytest.mark.distributed
def test_pipelined_plan_reports_ok(tmp_path):
    began = time.monotonic()
    proc, report_path = launch(tmp_path, free_port(), EXAMPLE, "--gc", "manual", "--gc-interval", "1")
    proc_wall_s = time.monotonic() - began
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = RunReport.load(report_path)
    plan = Plan.load(EXAMPLE)
    assert report.status == "ok" and report.num_steps == 3 and len(report.losses) == 3
    assert report.plan_hash == plan.without_prediction().content_hash()
    assert len(report.iteration_times_s) == 2 and report.median_iteration_time_s > 0
    assert report.tokens_per_s == pytest.approx(plan.tokens_per_step / report.median_iteration_time_s)
    assert report.precision == "fp32" and report.gpu_name == "cpu" and report.mfu is None
    assert report.alloc_retries == () and report.step_alloc_retries == ()  # no caching allocator on CPU
    assert report.gc_mode == "manual:1" and len(report.gc_pause_s) == 2  # a collection in every step
    assert all(pause > 0 for pause in report.gc_pause_s) and len(report.host_steal_s) == 2
    assert len(report.host_probe_s) == 2 and all(probe > 0 for probe in report.host_probe_s)
    # each rank's process start to its first step: at least the imports, within the launch's own wall time
    assert 0.5 < report.startup_s < proc_wall_s
    assert report.runtime_digest == runtime_digest()   # the training code this checkout holds


@pytest.mark.distributed
def test_oom_on_one_rank_ends_all_ranks_with_exit_code_3(batch_cpu_run):
    """The run is run_batch's 'oom' job (tests/shared_runs.py: made once for both files): `deepspeed
    launch/train.py --plan <zero1> --steps 3 --warmup 1 --report R` with MIST_DS_FAULT=oom:1:0."""
    job = batch_cpu_run[2]["oom"]
    assert job["returncode"] == 3, job["log_tail"][-3000:]
    report = RunReport.model_validate(job["report"], strict=False)
    assert report.status == "oom" and report.failed_rank == 1
    assert "MIST_DS_FAULT" in report.error_message and len(report.losses) == 1


def run_train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "launch/train.py", *args], cwd=ROOT, env=cpu_env(),
                          capture_output=True, text=True, timeout=120)


def test_missing_plan_is_a_user_error(tmp_path):
    proc = run_train("--plan", str(tmp_path / "nope.json"), "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_bad_gc_interval_is_a_user_error(tmp_path):
    proc = run_train("--plan", str(EXAMPLE), "--gc", "manual", "--gc-interval", "0",
                     "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--gc-interval" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_unsupported_plan_is_a_user_error(tmp_path):
    plan = Plan.load(EXAMPLE)
    # model_copy skips validation: the file holds a pipeline with ZeRO-2, which Plan validation refuses
    bad = plan.model_copy(update={"memory": plan.memory.model_copy(update={"zero_stage": 2})})
    path = tmp_path / "plan.json"
    path.write_text(bad.to_json())
    proc = run_train("--plan", str(path), "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and "PipelineEngine" in proc.stderr
    assert not (tmp_path / "r.json").exists()
