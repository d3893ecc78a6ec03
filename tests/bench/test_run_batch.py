"""bench/accuracy/run_batch.py end to end on CPU ranks (DS_ACCELERATOR=cpu, gloo): two 1-rank runs
side by side, an injected OOM, a time-out, a rank killed by a signal, all bundled; then unpack."""

from __future__ import annotations

import json
import time

import pytest

from bench.accuracy.jobs import make_job, outcome
from bench.accuracy.run_batch import Batch, hardware_for
from bench.accuracy.unpack import unpack
from mist_ds.config import RunReport
from tests.runtime.plans import CASES

# the batch the distributed tests read is tests/shared_runs.py's batch_cpu_run (made once per session: its
# 'oom' job is also the OOM run tests/runtime/test_train_cli.py checks)


@pytest.mark.distributed
def test_every_outcome_is_a_result(batch_cpu_run):
    _, bundle, runs = batch_cpu_run
    assert set(runs) == {"one_a", "one_b", "oom", "slow", "killed"} and not bundle["not_run"]
    status = {name: run["report"]["status"] for name, run in runs.items()}
    assert status == {"one_a": "ok", "one_b": "ok", "oom": "oom", "slow": "timeout", "killed": "killed"}
    assert runs["oom"]["returncode"] == 3 and runs["oom"]["report"]["failed_rank"] == 1
    assert runs["killed"]["report"]["signal"] == 9 and runs["slow"]["timed_out"]
    assert bundle["machine"]["gpu_name"] == "cpu" and bundle["machine"]["torch"]


@pytest.mark.distributed
def test_one_rank_runs_share_the_machine_on_distinct_devices_and_ports(batch_cpu_run):
    _, _, runs = batch_cpu_run
    a, b = runs["one_a"], runs["one_b"]
    assert a["concurrent_with"] == ["one_b"] and {a["gpus"][0], b["gpus"][0]} == {0, 1}
    assert len({run["port"] for run in runs.values()}) == len(runs)
    assert runs["oom"]["concurrent_with"] == []  # a 2-rank run waits for both devices


@pytest.mark.distributed
def test_reports_carry_host_memory_and_log_tails(batch_cpu_run):
    _, _, runs = batch_cpu_run
    ok = RunReport.model_validate(runs["one_a"]["report"], strict=False)
    assert len(ok.host_peak_rss_bytes) == 1 and ok.host_peak_rss_bytes[0] > 50 * 2**20
    assert ok.node_mem_available_min_bytes and ok.date_utc
    killed = RunReport.model_validate(runs["killed"]["report"], strict=False)
    assert killed.node_mem_available_min_bytes  # filled from the runner's own sampling
    assert "[mist_ds]" in runs["one_a"]["log_tail"] and "return code = -9" in runs["killed"]["log_tail"]


@pytest.mark.distributed
def test_unpack_writes_runs_beside_their_plans(batch_cpu_run, tmp_path):
    tmp, bundle, _ = batch_cpu_run
    (tmp_path / "one_a.plan.json").write_text((tmp / "one_a.plan.json").read_text())
    (tmp_path / "oom.plan.json").write_text((tmp / "one_a.plan.json").read_text())  # not what ran
    lines = unpack(bundle, tmp_path)
    assert (tmp_path / "one_a.run.json").exists() and not (tmp_path / "oom.run.json").exists()
    assert any(line.startswith("refused oom") for line in lines)
    assert any(line.startswith("skipped slow") for line in lines)


def test_a_run_that_would_overrun_the_budget_is_recorded_not_run(tmp_path):
    path = tmp_path / "p.json"
    CASES["zero1"].save(path)
    job = make_job("big", path)
    batch = Batch("t", [job], tmp_path, budget_s=1.0, num_gpus=2, scratch=tmp_path, hardware=None,
                  info={"gpu_name": "cpu"})
    start = time.monotonic()
    batch.run(2)
    assert time.monotonic() - start < 5
    bundle = json.loads((tmp_path / "accuracy_t.json").read_text())
    assert bundle["not_run"][0]["case"] == "big" and "budget" in bundle["not_run"][0]["reason"]


def test_a_plan_for_more_gpus_than_the_machine_is_not_run(tmp_path):
    path = tmp_path / "p.json"
    CASES["zero1"].save(path)
    batch = Batch("t", [make_job("two", path)], tmp_path, budget_s=100, num_gpus=1, scratch=tmp_path,
                  hardware=None, info={"gpu_name": "cpu"})
    batch.run(1)
    assert "needs 2 GPUs" in json.loads((tmp_path / "accuracy_t.json").read_text())["not_run"][0]["reason"]


def test_outcome_without_a_report_keeps_the_error_line(tmp_path):
    path = tmp_path / "p.json"
    CASES["zero1"].save(path)
    job = make_job("x", path)
    fallback = {"plan_hash": "h", "gpu_name": "g", "num_gpus": 2, "torch_version": "t",
                "deepspeed_version": "d"}
    report = outcome(job, 1, False, tmp_path / "none.json", "a\nValueError: bad thing\nexit\n", fallback)
    assert report.status == "error" and "ValueError: bad thing" in report.error_message
    killed = outcome(job, 247, False, tmp_path / "none.json", "x exits with return code = -9\n", fallback)
    assert killed.status == "killed" and killed.signal == 9


def test_a_run_cut_by_the_calls_budget_is_not_unpacked_as_a_result(tmp_path):
    path = tmp_path / "cut.plan.json"
    CASES["zero1"].save(path)
    bundle = {"runs": [{"case": "cut", "cut_by_budget": True, "wall_s": 64.1, "report": {"status": "timeout"}}]}
    lines = unpack(bundle, tmp_path)
    assert not (tmp_path / "cut.run.json").exists() and "cut by the call's budget after 64 s" in lines[0]


def test_the_runner_names_the_profile_of_the_node_kind_it_runs_on(monkeypatch):
    from mist_ds import gpuinfo

    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: 16)
    assert hardware_for() == "h100-1gpu-node"
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: None)
    assert hardware_for() is None


def test_a_job_starts_only_with_a_margin_over_its_expected_seconds(tmp_path):
    path = tmp_path / "p.json"
    CASES["zero1"].save(path)
    job = make_job("tight", path)
    batch = Batch("t", [job], tmp_path, budget_s=job.expected_s * 1.2, num_gpus=2, scratch=tmp_path,
                  hardware=None, info={"gpu_name": "cpu"})
    batch.run(2)
    assert json.loads((tmp_path / "accuracy_t.json").read_text())["not_run"][0]["case"] == "tight"


def test_the_start_margin_follows_the_pace_of_the_calls_finished_runs():
    """START_MARGIN until a run finished OK; then OBSERVED_MARGIN x the largest wall / expected, never above it
    (session 57, S57-2: runs at 0.70 and 0.76 of their estimate, then one of 126 s left out with 204 s left)."""
    from bench.accuracy.run_batch import OBSERVED_MARGIN, START_MARGIN, start_margin

    def run(wall, expected, status="ok"):
        return {"wall_s": wall, "expected_s": expected, "report": {"status": status}}

    assert start_margin([]) == START_MARGIN
    assert start_margin([run(10.0, 100.0, "oom"), run(90.0, 100.0, "timeout")]) == START_MARGIN
    fast = [run(93.1, 132.9), run(107.6, 142.5)]  # S57-2's two repeats
    assert start_margin(fast) == pytest.approx(OBSERVED_MARGIN * 107.6 / 142.5)
    assert 139.5 * start_margin(fast) < 204  # the Llama-3-8B repeat (expected 139.5 s, took 126) would start
    assert start_margin(fast + [run(150.0, 100.0)]) == START_MARGIN  # a slow machine keeps the full margin
