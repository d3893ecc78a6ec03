"""bench/accuracy/step_tensors.py on the committed phased ZeRO-0 runs (session 70)."""

from __future__ import annotations

from pathlib import Path

from bench.accuracy.step_tensors import excess_per_tensor, main

ROOT = Path(__file__).resolve().parents[2] / "bench" / "results" / "runtime" / "step_phases_S70"
G13 = ROOT / "call3" / "h100-auto-g13-1g-c40-s2048-b16" / "rank0.phases.json"
ZERO1 = ROOT / "call2" / "h100n-auto-l321b-1g-c16-s2048-b32-ds" / "rank0.phases.json"


def test_the_excess_is_the_measured_step_less_the_model_without_the_term_over_the_tensors():
    case, step, model, tensors, per = excess_per_tensor(G13, "h100-1gpu-node")
    assert case == "h100-auto-g13-1g-c40-s2048-b16" and tensors == 24 * 12 + 2 + 2   # blocks, wte + wpe, ln_f (tied)
    assert step > model > 0 and per == (step - model) / tensors


def test_the_report_ends_in_the_median_and_rejects_a_plan_that_is_not_zero0(capsys):
    assert main([str(G13), "--hardware", "h100-1gpu-node"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("median excess per tensor: ")
    assert main([str(ZERO1)]) == 2
    assert "not a one-stage stock ZeRO-0 plan" in capsys.readouterr().err
