"""bench/engine/mistpipe_compare.py: per-pass channel sums, the committed S30-3 mistpipe trace beside the model,
and bad input in one line with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy.trace_kernels import Kernel, TraceError
from bench.engine import mistpipe_compare as mc

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "bench" / "results" / "runtime" / "l13b_c24_trace_S30"
DIGEST = TRACE / "l13b-c24.rank0.digest.json.gz"
PLAN = ROOT / "bench" / "results" / "accuracy" / "auto-l13b-1g-c24-s4096-b16.plan.json"


def test_busy_counts_each_channel_once_and_idle_is_what_nothing_covers():
    kernels = [Kernel("nvjet_gemm", 0, 400, 7, "gemm"), Kernel("nvjet_gemm", 300, 600, 7, "gemm"),
               Kernel("Memcpy HtoD (Pinned -> Device)", 500, 900, 28, "side_stream"),
               Kernel("Memcpy DtoH (Device -> Pinned)", 950, 1000, 32, "side_stream"),
               Kernel("Memset (Device)", 1000, 1100, 7, "memset")]
    out = mc.busy_ms(kernels, 0, 2000)
    assert out["compute"] == pytest.approx(0.6) and out["h2d"] == pytest.approx(0.4)
    assert out["d2h"] == pytest.approx(0.05)
    assert out["any"] == pytest.approx(1.05) and out["idle"] == pytest.approx(0.95) and out["wall"] == 2.0
    clipped = mc.busy_ms(kernels, 200, 550)  # events cut at the window's edges
    assert clipped["compute"] == pytest.approx(0.35) and clipped["h2d"] == pytest.approx(0.05)


def test_the_committed_trace_cuts_into_its_plans_micro_batches_and_copies_match_the_models():
    result = mc.compare(DIGEST, PLAN, "h200-1gpu-node", run_path=TRACE / "l13b-c24.profiled-run.json")
    trace, model = result["trace"], result["model"]
    assert trace["micro_batches"] == 16
    per_mb_h2d = trace["forward"]["h2d"] + trace["backward"]["h2d"]
    assert per_mb_h2d == pytest.approx(model["mb_h2d"], rel=0.1)  # half of each block's weights, both passes
    assert trace["span_ms"] == pytest.approx(2198.9, abs=1)  # step_timeline.py's span of the same digest
    names = [name for name, _, _ in result["rows"]]
    assert "iteration (G x stable + delta)" in names and result["unprofiled_median_ms"] > 1000
    assert "| forward: GPU window" in mc.render(result, "t")


def test_a_stock_plan_or_a_plan_of_other_accumulation_is_refused_in_one_line(capsys, tmp_path):
    stock = ROOT / "bench" / "results" / "accuracy" / "l13b-1g-c40-s2048-z3-mb4-rc24.plan.json"
    assert mc.main([str(DIGEST), str(stock)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trace_compare.py" in err[0]
    other = mc.Plan.load(PLAN)
    other = other.model_copy(update={"grad_accum_steps": 8, "micro_batch_size": 2})
    path = tmp_path / "p.plan.json"
    other.save(path)
    with pytest.raises(TraceError, match="16 micro-batches, the plan 8"):
        mc.compare(DIGEST, path, "h200-1gpu-node")
    assert mc.main([str(tmp_path / "missing.json.gz"), str(PLAN)]) == 2
