"""Host-memory readings of a run (issue 18) and the RunReport fields that carry them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mist_ds.config import RunReport
from mist_ds.runtime.measure import NodeMemoryMonitor, merge_nodes, peak_rss_bytes, read_meminfo

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30


def meminfo(path: Path, available_kib: int, total_kib: int = 64 * 2**20) -> None:
    path.write_text(f"MemTotal:       {total_kib} kB\nMemFree:  1 kB\n"
                    f"MemAvailable:   {available_kib} kB\nHugePages_Total:       0\n")


def test_read_meminfo_converts_kib_to_bytes_and_keeps_plain_counts(tmp_path):
    path = tmp_path / "meminfo"
    meminfo(path, 1000)
    info = read_meminfo(str(path))
    assert info["MemAvailable"] == 1000 * 1024 and info["MemTotal"] == 64 * GIB
    assert info["HugePages_Total"] == 0
    assert read_meminfo(str(tmp_path / "missing")) == {}


def test_monitor_keeps_start_and_lowest_sample(tmp_path):
    path = tmp_path / "meminfo"
    meminfo(path, 5000)
    monitor = NodeMemoryMonitor(interval_s=3600, path=str(path))
    for value in (4000, 2000, 4500):
        meminfo(path, value)
        assert monitor.sample() == value * 1024
    assert monitor.start_bytes == 5000 * 1024 and monitor.min_bytes == 2000 * 1024


def test_monitor_thread_samples_on_its_own(tmp_path):
    path = tmp_path / "meminfo"
    meminfo(path, 5000)
    monitor = NodeMemoryMonitor(interval_s=0.01, path=str(path)).start()
    meminfo(path, 100)
    import time
    deadline = time.time() + 5
    while monitor.min_bytes != 100 * 1024 and time.time() < deadline:
        time.sleep(0.01)
    monitor.stop()
    assert monitor.min_bytes == 100 * 1024


def test_the_real_node_is_readable():
    info = read_meminfo()
    assert 0 < info["MemAvailable"] <= info["MemTotal"]


def test_peak_rss_grows_with_a_touched_allocation():
    before = peak_rss_bytes()
    block = bytearray(256 * 2**20)  # zero-filled: every page is touched
    assert peak_rss_bytes() >= before + 200 * 2**20 or before > 256 * 2**20
    assert block[-1] == 0


def test_merge_nodes_groups_ranks_by_host_in_first_rank_order():
    samples = [("b", 100, 50, 1000), ("a", 90, 70, 900), ("b", 99, 40, 1000), ("a", 95, 80, 900)]
    assert merge_nodes(samples) == ((100, 95), (40, 70), (1000, 900))
    assert merge_nodes([("a", None, None, None)]) == ((), (), ())


def test_old_reports_still_load():
    old = sorted(ROOT.glob("bench/results/runs_h200x2_*.json"))
    assert old, "committed runs expected"
    for path in old:
        report = RunReport.load(path)
        assert report.host_peak_rss_bytes == () and report.signal is None and report.date_utc == ""


def _validate(**fields) -> RunReport:
    return RunReport.model_validate(_report(**fields), strict=False)


def _report(**fields) -> dict:
    base = dict(status="ok", plan_hash="x", gpu_name="cpu", num_gpus=1, torch_version="t",
                deepspeed_version="d", num_steps=1, num_warmup_steps=0)
    return {**base, **fields}


def test_killed_needs_its_signal_and_only_killed_has_one():
    report = _validate(status="killed", error_message="rank 0 killed by signal 9", signal=9)
    assert RunReport.from_json_text(report.to_json()) == report
    with pytest.raises(ValueError, match="signal"):
        _validate(status="killed", error_message="x")
    with pytest.raises(ValueError, match="signal"):
        _validate(signal=9)


def test_per_node_fields_must_agree():
    with pytest.raises(ValueError, match="same number of nodes"):
        _validate(node_mem_available_start_bytes=[1, 2], node_mem_available_min_bytes=[1])


def test_host_fields_round_trip_through_json():
    report = _validate(host_peak_rss_bytes=[3, 4], host_pinned_peak_bytes=[1, 2],
                       node_mem_available_start_bytes=[9], node_mem_available_min_bytes=[5],
                       node_mem_total_bytes=[10], status="timeout", error_message="limit")
    assert RunReport.from_json_text(json.dumps(json.loads(report.to_json()))) == report


def test_alloc_retries_reads_the_caching_allocators_count(monkeypatch):
    """reporting.alloc_retries: torch.cuda.memory_stats' num_alloc_retries on CUDA (0 when the key is
    absent, i.e. no retry yet), None without CUDA."""
    import torch

    from mist_ds.runtime import reporting
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert reporting.alloc_retries() is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "memory_stats", lambda: {"num_alloc_retries": 7, "num_ooms": 0})
    assert reporting.alloc_retries() == 7
    monkeypatch.setattr(torch.cuda, "memory_stats", lambda: {})
    assert reporting.alloc_retries() == 0


def test_host_step_fields_take_each_steps_longest_pause_over_ranks():
    from mist_ds.runtime.host_clock import StepHost
    from mist_ds.runtime.reporting import host_step_fields

    ranks = [StepHost("manual", 5, gc_pause_s=[0.5, 0.0, 0.02, 0.0], steal_s=[0.0, 0.1, 0.0, 0.0], probe_s=0.021,
                      startup_s=41.5),
             StepHost("manual", 5, gc_pause_s=[0.1, 0.01, 0.0, 0.03], steal_s=[0.2, 0.0, 0.0, 0.3], probe_s=0.025,
                      startup_s=43.0)]
    fields = host_step_fields(ranks, warmup=1)
    assert fields == {"gc_mode": "manual:5", "gc_pause_s": (0.01, 0.02, 0.03), "host_steal_s": (0.1, 0.0, 0.3),
                      "host_probe_s": (0.021, 0.025), "startup_s": 43.0}   # the slowest rank's start-up
    assert host_step_fields([ranks[0], None], warmup=1) == {}  # a rank that did not measure: nothing
