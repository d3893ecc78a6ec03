"""runtime/host_clock.py: the garbage-collection policies and what a step records (pure, no torch)."""

from __future__ import annotations

import gc
import os
import sys

import pytest

from mist_ds.runtime.host_clock import StepHost, host_probe_s, steal_per_cpu_s


def _cycles(count: int = 20_000) -> None:
    """Make garbage only the cyclic collector can free."""
    for _ in range(count):
        node: list = []
        node.append(node)


def run(host: StepHost, steps: int, work=_cycles) -> StepHost:
    host.start()
    try:
        for step in range(steps):
            host.before_step(step)
            work()
            host.after_step()
    finally:
        host.stop()
    return host


def test_auto_policy_records_the_collections_the_steps_trigger():
    assert gc.isenabled()
    host = run(StepHost("auto"), 3)
    assert len(host.gc_pause_s) == 3 and all(pause > 0 for pause in host.gc_pause_s)
    assert host.label() == "auto" and gc.isenabled()


def test_auto_policy_records_no_pause_for_steps_without_garbage():
    gc.collect()  # a young generation left nearly full by earlier tests could be collected inside a step
    host = run(StepHost("auto"), 2, work=lambda: None)
    assert host.gc_pause_s == [0.0, 0.0]


def test_manual_policy_collects_only_every_interval_steps():
    enabled_during = []
    host = run(StepHost("manual", interval=2), 5, work=lambda: (_cycles(), enabled_during.append(gc.isenabled())))
    assert enabled_during == [False] * 5  # no automatic collection while the steps run
    collected = [pause > 0 for pause in host.gc_pause_s]
    assert collected == [False, False, True, False, True]  # before steps 2 and 4
    assert host.label() == "manual:2" and gc.isenabled()  # restored after the steps
    assert gc.get_freeze_count() > 0  # the objects alive at start() were frozen
    gc.unfreeze()


def test_manual_collection_frees_the_cycles_of_earlier_steps():
    host = StepHost("manual", interval=1).start()
    try:
        host.before_step(0)
        _cycles(1000)
        host.after_step()
        before = gc.get_count()[0]
        host.before_step(1)
        assert gc.get_count()[0] < before  # gen-0 counter reset: the collection ran
        host.after_step()
    finally:
        host.stop()
        gc.unfreeze()


def test_probe_times_the_host_and_leaves_gc_as_found():
    assert host_probe_s(items=10_000, repeats=2) > 0 and gc.isenabled()
    gc.disable()
    try:
        host_probe_s(items=1000, repeats=1)
        assert not gc.isenabled()
    finally:
        gc.enable()
    host = run(StepHost(), 1, work=lambda: None)
    assert host.probe_s is not None and host.probe_s > 0


@pytest.mark.parametrize("kwargs", [{"mode": "off"}, {"mode": "manual", "interval": 0}])
def test_bad_policy_is_refused(kwargs):
    with pytest.raises(ValueError):
        StepHost(**kwargs)


def test_steal_is_the_aggregate_lines_eighth_value_per_cpu(tmp_path):
    stat = tmp_path / "stat"
    ticks = os.sysconf("SC_CLK_TCK")
    stat.write_text(f"cpu  10 0 5 900 1 0 0 {4 * ticks} 0 0\ncpu0 5 0 2 450 0 0 0 {2 * ticks} 0 0\n"
                    f"cpu1 5 0 3 450 1 0 0 {2 * ticks} 0 0\nintr 1 2\nctxt 99\n")
    assert steal_per_cpu_s(str(stat)) == pytest.approx(2.0)  # 4 s stolen over 2 CPUs
    assert steal_per_cpu_s(str(tmp_path / "missing")) is None
    stat.write_text("intr 1 2\n")
    assert steal_per_cpu_s(str(stat)) is None


@pytest.mark.skipif(steal_per_cpu_s() is None, reason="no /proc/stat")
def test_each_step_records_the_nodes_steal_time():
    host = run(StepHost(), 3, work=lambda: None)
    assert len(host.steal_s) == 3 and all(steal >= 0 for steal in host.steal_s)


def test_start_records_how_long_the_process_has_run(monkeypatch):
    """StepHost.start() takes process_age_s (RunReport.startup_s): this process's age, which grows, and
    None where psutil cannot tell."""
    from mist_ds.runtime import host_clock

    age = host_clock.process_age_s()
    host = run(StepHost("auto"), 1, work=lambda: None)
    assert age is not None and 0 < age <= host.startup_s
    monkeypatch.setattr(host_clock.time, "time", lambda: 0.0)   # a clock before the process began
    assert host_clock.process_age_s() == 0.0
    monkeypatch.setitem(sys.modules, "psutil", None)  # psutil not importable
    assert host_clock.process_age_s() is None
