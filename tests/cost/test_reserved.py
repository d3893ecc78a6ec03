"""mist_ds/cost/reserved.py: the reserved-memory prediction (allocator holes in 16-bit partitions, with the optimizer
offloaded in one vocabulary matrix, mistpipe's in its vocabulary matrices)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.accuracy.cases import CASES
from bench.accuracy.reserved_fit import (AT_CAP, ACCURACY, fit, fit_vocab, load_plans, plan_errors, samples, targeted,
                                         vocab_samples)
from bench.accuracy.schema import to_plan
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.reserved import (FP32, HOLES, VOCAB_HOLE, VOCAB_UNIT_CLASSES, allocator_class, hole_unit_bytes,
                                   partition_bytes, predicted_reserved_bytes, stage_num_params, vocab_matrix_bytes,
                                   vocab_unit_bytes)
from mist_ds.cost.shapes import vocab_shard
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import plan_stage_args

GIB = 2**30


def test_classes_follow_zero_stage_offload_dp_and_pipeline():
    z = lambda stage, oo=0.0, ow=0.0: MemoryStrategy(zero_stage=stage, offload_optimizer_ratio=oo,  # noqa: E731
                                                     offload_weights_ratio=ow)
    assert allocator_class(z(3), dp=1, num_stages=1) == "zero3_dp1"
    assert allocator_class(z(3), dp=2, num_stages=1) == "zero3"
    assert allocator_class(z(3, oo=1.0), dp=2, num_stages=1) == "zero3_offload"
    assert allocator_class(z(1, oo=1.0), dp=1, num_stages=2) == "zero12_offload"   # offload before pipeline
    assert allocator_class(z(1), dp=1, num_stages=2) == "pipeline"
    assert allocator_class(z(2), dp=2, num_stages=1) == "zero2"
    assert set(HOLES) >= {allocator_class(z(s), 2, 1) for s in range(4)}
    assert HOLES["zero3_dp1"] <= 0.2  # dp = 1 reduce-scatters nothing: a small hole


@pytest.mark.parametrize("name", ["l7-2g-c78-z3-mb2-rc32", "l7-2g-c78-pp2-16x16-z1-rc0x6", "l27-2g-c40-tp2-z1-mb2-rc16"])
def test_stage_parameters_match_the_cost_models(name):
    plan, hw = to_plan(CASES[name].knobs), load_hardware("h200")
    model = StageCostModel(plan.model, hw, plan.seq_len, plan.dtype)
    for index in range(plan.num_stages):
        params = float(np.asarray(model.terms(plan_stage_args(plan, index))["params"]).ravel()[0])
        assert stage_num_params(plan.model, plan, index) == pytest.approx(params, abs=1)


def test_holes_are_added_below_the_cap_and_fill_it_above():
    plan, hw = to_plan(CASES["l7-2g-c78-z3-mb2-rc32"].knobs), load_hardware("h200")
    holes = HOLES["zero3"] * 2 * stage_num_params(plan.model, plan, 0) / plan.dp
    assert predicted_reserved_bytes(plan, 0, 50 * GIB, hw) == round(50 * GIB + holes)
    # past the 78 GiB cap the allocator reserves up to it, then releases its cache and retries
    near = 78 * GIB - holes / 2
    assert predicted_reserved_bytes(plan, 0, near, hw) == 78 * GIB
    assert predicted_reserved_bytes(plan, 0, 80 * GIB, hw) == 78 * GIB
    assert predicted_reserved_bytes(plan, 0, near, hw, cap_bytes=100 * GIB) == round(near + holes)


def test_mistpipe_holes_are_its_vocabulary_matrices_below_the_cap():
    hw = load_hardware("h200")
    untied = to_plan(CASES["l7-2g-c78-z3-mb2-rc32"].knobs).model_copy(update={"executor": "mistpipe"})
    matrix = FP32 * int(vocab_shard(untied.model, untied.tp)) * untied.model.hidden_size
    assert not untied.model.tie_embeddings and vocab_matrix_bytes(untied, 0) == 2 * matrix   # embedding and head
    assert predicted_reserved_bytes(untied, 0, 50 * GIB, hw) == round(50 * GIB + VOCAB_HOLE * 2 * matrix)
    assert predicted_reserved_bytes(untied, 0, 78 * GIB - matrix, hw) == 78 * GIB           # the cap, as for stock
    assert predicted_reserved_bytes(untied, 0, 50 * GIB, hw, vocab_hole=0.0) == 50 * GIB
    uncapped = untied.model_copy(update={"gpu_memory_cap_bytes": None})                     # the card's memory
    assert predicted_reserved_bytes(uncapped, 0, hw.gpu_memory_bytes - matrix, hw) == hw.gpu_memory_bytes
    tied = untied.model_copy(update={"model": untied.model.model_copy(update={"tie_embeddings": True})})
    assert vocab_matrix_bytes(tied, 0) == matrix                                              # one shared matrix


def test_a_pipelines_vocabulary_matrices_sit_on_its_end_stages():
    plan = to_plan(CASES["l7-2g-c78-pp2-16x16-z1-rc0x6"].knobs)
    matrix = FP32 * int(vocab_shard(plan.model, plan.tp)) * plan.model.hidden_size
    tied = plan.model_copy(update={"model": plan.model.model_copy(update={"tie_embeddings": True})})
    for p in (plan, tied):   # a tied head on another stage is a matrix of its own there
        assert [vocab_matrix_bytes(p, i) for i in range(2)] == [matrix, matrix]


def test_offloading_stages_count_holes_in_one_vocabulary_matrix_tied_or_not():
    """With the optimizer offloaded the unit is one fp32 vocabulary x hidden matrix on a stage holding the embedding
    or the head (untied: still one), not the 16-bit partition; without offload it stays the partition."""
    hw = load_hardware("h200")
    plan = to_plan(CASES["l7-2g-c78-z3-mb2-rc32"].knobs)
    offload = plan.model_copy(update={"memory": plan.memory.model_copy(update={"offload_optimizer_ratio": 1.0})})
    matrix = FP32 * int(vocab_shard(plan.model, plan.tp)) * plan.model.hidden_size
    assert allocator_class(offload.memory, offload.dp, 1) in VOCAB_UNIT_CLASSES and not plan.model.tie_embeddings
    assert vocab_unit_bytes(offload, 0) == hole_unit_bytes(offload, 0) == matrix
    assert hole_unit_bytes(plan, 0) == partition_bytes(plan, 0) != matrix
    coefficient = HOLES[allocator_class(offload.memory, offload.dp, 1)]
    assert predicted_reserved_bytes(offload, 0, 50 * GIB, hw) == round(50 * GIB + coefficient * matrix)
    pipeline = to_plan(CASES["l7-2g-c78-pp2-16x16-z1-rc0x6"].knobs)
    three = pipeline.model_copy(update={"stages": [pipeline.stages[0].model_copy(update={"layer_end": 10}),
                                                   pipeline.stages[1].model_copy(update={"layer_start": 10,
                                                                                         "layer_end": 20}),
                                                   pipeline.stages[1].model_copy(update={"layer_start": 20})]})
    assert [vocab_unit_bytes(three, i) for i in range(3)] == [matrix, 0, matrix]   # a middle stage holds none


def test_explicit_holes_replace_the_shipped_coefficients():
    plan, hw = to_plan(CASES["l7-2g-c78-z3-mb2-rc32"].knobs), load_hardware("h200")
    holes = dict(HOLES, zero3=2.0)
    assert predicted_reserved_bytes(plan, 0, 50 * GIB, hw, holes=holes) == round(50 * GIB + 2.0 * partition_bytes(plan, 0))


def test_fit_takes_the_median_clamps_at_zero_and_keeps_classes_without_samples():
    fitted = fit({"zero1": [1.0, 1.234, 3.0], "zero3_dp1": [-0.2, -0.1, 0.05]})
    assert fitted["zero1"] == 1.23 and fitted["zero3_dp1"] == 0.0
    assert {k: v for k, v in fitted.items() if k not in ("zero1", "zero3_dp1")} == {
        k: v for k, v in HOLES.items() if k not in ("zero1", "zero3_dp1")}


@pytest.fixture(scope="module")
def committed():
    runs = targeted(json.loads(ACCURACY.read_text()))
    return runs, load_plans(runs)


def _reached_cap(run: dict, plan) -> bool:
    """Every stage of the run reserved its cap (reserved_fit leaves such stages out: their hole is a lower bound)."""
    cap = plan.gpu_memory_cap_bytes or load_hardware(run["hardware"]).gpu_memory_bytes
    return all(stage["reserved_bytes"] >= AT_CAP * cap for stage in run["memory"])


def test_coefficients_are_the_fit_of_the_committed_runs(committed):
    """HOLES is what bench/accuracy/reserved_fit.py derives from bench/results/accuracy.json:
    a new report (a cost-model change moves the predicted peaks) that moves a median fails here until
    the coefficients are re-derived."""
    runs, plans = committed
    by_class = samples(runs, plans)
    distinct = len({plans[run['plan_path']].without_prediction().content_hash() for run in runs})
    assert len(runs) >= 50 and distinct < len(runs)   # repeats of one plan count once
    stock = len({plans[run['plan_path']].without_prediction().content_hash() for run in runs
                 if plans[run['plan_path']].executor != "mistpipe" and not _reached_cap(run, plans[run['plan_path']])})
    assert sum(map(len, by_class.values())) >= stock   # every stock plan below its cap, a pipeline's per stage
    assert set(by_class) <= set(HOLES)
    assert fit(by_class) == HOLES
    vocab = vocab_samples(runs, plans)
    assert len(vocab) >= 50 and fit_vocab(vocab) == VOCAB_HOLE   # mistpipe's coefficient, the same way


def test_plan_errors_score_like_the_report(committed):
    runs, plans = committed
    errors = plan_errors(runs, plans, HOLES)
    assert errors == pytest.approx([abs(run["mem_error_reserved"]) for run in runs], abs=1e-9)
