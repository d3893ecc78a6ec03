"""config/plan_kind.py: a plan's family and GPU span, the key of the shipped track record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.accuracy.cases import family
from bench.accuracy.schema import knobs_of
from mist_ds.config import Plan
from mist_ds.config.plan_kind import fetch_text, gpu_span, plan_family, plan_kind, strategy_family

ROOT = Path(__file__).resolve().parents[2]
ACCURACY = ROOT / "bench" / "results" / "accuracy"

BASE = dict(executor="deepspeed", offload_weights=0.0, offload_optimizer=0.0, zero_stage=1,
            offloads_activations=False, tp=1, pp=1)


@pytest.mark.parametrize("changes, expected", [
    ({}, "zero1"),
    ({"zero_stage": 3}, "zero3"),
    ({"pp": 2}, "pipeline"),
    ({"pp": 2, "tp": 2}, "tensor-parallel"),                      # TP before the pipeline
    ({"tp": 2, "offloads_activations": True}, "activation-offload"),
    ({"zero_stage": 3, "offload_optimizer": 0.5}, "zero3-offload"),
    ({"zero_stage": 2, "offload_optimizer": 1.0}, "zero12-offload"),
    ({"zero_stage": 3, "offload_optimizer": 1.0, "offload_weights": 0.5}, "weight-offload"),
    ({"executor": "mistpipe", "zero_stage": 3, "offload_weights": 1.0}, "mistpipe"),  # the executor first
])
def test_the_most_specific_setting_names_the_family(changes, expected):
    assert strategy_family(**{**BASE, **changes}) == expected


def test_one_gpu_is_a_span_apart():
    assert (gpu_span(1), gpu_span(2), gpu_span(16)) == ("1 GPU", "multi-GPU", "multi-GPU")


def test_every_committed_plan_has_the_family_the_suite_scores_it_under():
    # the suite classifies by the knobs it generates plans from, the track record by the Plan: one rule
    plans = [Plan.load(path) for path in sorted(ACCURACY.glob("*.plan.json"))]
    assert len(plans) > 100
    assert len({plan_family(p) for p in plans}) >= 8
    for plan in plans:
        assert plan_family(plan) == family(knobs_of(plan))


def test_the_kind_joins_family_and_span():
    rows = json.loads((ROOT / "bench" / "results" / "accuracy.json").read_text())["runs"]
    row = next(r for r in rows if r["name"] == "l27-1g-c40-s2048-z3-off1-mb2-blk")
    assert plan_kind(Plan.load(ROOT / row["plan_path"])) == row["kind"] == "zero3-offload (whole-block fetch), 1 GPU"
    per_module = next(r for r in rows if r["name"] == "l13b-1g-c40-s2048-z3-mb4-rc24")
    assert plan_kind(Plan.load(ROOT / per_module["plan_path"])) == "zero3, 1 GPU"


def test_only_a_stock_zero3_plan_names_its_fetch_unit():
    plan = Plan.load(ACCURACY / "l27-1g-c40-s2048-z3-off1-mb2-blk.plan.json")
    assert fetch_text(plan) == " (whole-block fetch)"
    assert fetch_text(plan.model_copy(update={"zero3_fetch_unit": "module"})) == ""
    assert fetch_text(plan.model_copy(update={"executor": "mistpipe"})) == ""
