"""bench/accuracy/elementwise_audit.py: which committed profiled steps it reads, the share it reports, --write."""

from __future__ import annotations

import pytest

from bench.accuracy import elementwise_audit as ea


def test_it_reads_the_stock_zero012_steps_of_every_trace_layout():
    found = {f"{trace.parent.name}/{trace.name.split('.rank0.')[0]}": plan for trace, plan, _ in ea.steps()}
    assert "z2_trace_S17/l13b-z1" in found                          # a digest beside its profiled run
    assert "traces/l27pq-eager" in found                              # a trace a folder below its run
    assert "traces/zero2.mist" in found                               # a 2-GPU parity run (<name>.run.json)
    assert not any("zero3" in name or "off1" in name for name in found)   # ZeRO-3 steps are left out
    assert found["z2_trace_S17/l13b-z1"].name == "l13b-1g-c40-s2048-z1-mb2.plan.json"


def test_net_share_is_the_forward_and_backward_with_passes_gap_over_the_step():
    row = {"fwd": (10.0, 12.0), "bwd_passes": (30.0, 27.0), "iteration": (100.0, 200.0)}
    assert ea.net_share(row) == pytest.approx((2.0 - 3.0) / 200.0)


def test_write(tmp_path, monkeypatch):
    trace, plan, run = next(s for s in ea.steps() if s[0].name.startswith("l13b-z1."))
    monkeypatch.setattr(ea, "steps", lambda: [(trace, plan, run)])
    out = tmp_path / "audit.md"
    assert ea.main(["--write", str(out)]) == 0
    text = out.read_text()
    assert "| z2_trace_S17/l13b-z1 | llama-1.3b |" in text and "1 steps." in text
