"""bench/accuracy/clock_crossval.py: the what-if GEMM price it swaps in, and that it swaps it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy import clock_crossval as cc
from mist_ds.config import Plan
from mist_ds.config.profiles import load_hardware
import mist_ds.cost.plan_predict as plan_predict

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"


def _plan(name: str) -> Plan:
    return Plan.load(ACCURACY / f"{name}.plan.json").without_prediction()


def test_the_window_is_the_micro_batches_gemm_other_and_idle():
    hw, plan = load_hardware("h200-1gpu-node"), _plan("l321b-1g-c40-s4096-b16-z1-mb1")
    pred = cc.SHIPPED_PREDICT(plan, hw)
    gemm, other, idle = cc.micro_batch_window(plan, hw, None, pred)
    wall = plan.grad_accum_steps * sum(s.microbatch_forward_s + s.microbatch_backward_s for s in pred.stages)
    assert gemm > other > 0 and idle >= 0 and gemm + other + idle == pytest.approx(wall)


def test_a_small_model_speeds_up_and_the_offset_caps_the_factor_at_one():
    hw, plan = load_hardware("h200-1gpu-node"), _plan("l321b-1g-c40-s4096-b16-z1-mb1")
    shipped = cc.SHIPPED_PREDICT(plan, hw).iteration_time_s
    assert cc.clock_aware(0.0)(plan, hw).iteration_time_s < cc.clock_aware(0.027)(plan, hw).iteration_time_s < shipped
    assert cc.clock_aware(1.0)(plan, hw).iteration_time_s == pytest.approx(shipped)
    assert cc.clocked(hw, 0.5).matmul_tflops == pytest.approx(2 * hw.matmul_tflops)


def test_main_puts_the_shipped_price_back(monkeypatch):
    seen = []
    monkeypatch.setattr(cc.crossval, "main", lambda argv, prog: seen.append((argv, plan_predict.predict_plan, prog)) or 0)
    assert cc.main(["--offset", "0.01", "--split", "random:5"]) == 0
    assert seen[0][0] == ["--split", "random:5"] and seen[0][1] is not cc.SHIPPED_PREDICT
    assert seen[0][2] == "bench/accuracy/clock_crossval.py --offset 0.01"
    assert plan_predict.predict_plan is cc.SHIPPED_PREDICT
