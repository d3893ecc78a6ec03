"""The ZeRO-3 start-up term both ways (cost/memory.py, Build): under deepspeed.zero.Init (the
runtime's way and the search's cost) no whole 16-bit copy of the stage is on the GPU; runs that
recorded no zero.Init (RunReport.zero_init None) keep the whole-model term when re-predicted."""

from __future__ import annotations

import pytest

from mist_ds.compare import prediction_for
from mist_ds.config import RunReport, get_preset
from mist_ds.cost.kernel_set import EAGER
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions, StageCostModel, predict_plan, stage_args
from mist_ds.cost.memory import ELEM, FP32
from mist_ds.cost.conditions import zero_init_of
from tests.helpers import make_plan

HW = load_hardware("h200")
GIB = 2**30
LLAMA70 = get_preset("llama-70b")
WHOLE = RunConditions(zero_init=False)  # the whole-model build (runs whose RunReport.zero_init is not True)


def offload_args(model, dp: int = 1, tp: int = 1, weights: float = 1.0, zero: int = 3):
    return stage_args(stage_index=0, num_stages=1, num_layers=model.num_layers, micro_batch=1, dp=dp, tp=tp,
                      grad_accum=8, zero_stage=zero, offload_weights=weights, offload_gradients=1.0,
                      offload_optimizer=1.0, num_recompute=model.num_layers, num_offloaded=0)


def largest_tensor(model, tp: int) -> float:
    """MP from the terms: the whole-model term minus the 16-bit model, halved (2 copies)."""
    t = StageCostModel(model, HW, 4096, conditions=WHOLE).terms(offload_args(model, tp=tp))
    return (float(t["build_weights"]) / ELEM - float(t["params"])) / 2


@pytest.mark.parametrize("dp,tp,weights", [(1, 1, 1.0), (2, 1, 0.0), (4, 2, 0.0), (2, 2, 1.0)])
def test_both_start_up_terms(dp, tp, weights):
    args = offload_args(LLAMA70, dp, tp, weights)
    t = StageCostModel(LLAMA70, HW, 4096, gpus_per_node=dp * tp).terms(args)
    n, mp = float(t["params"]), largest_tensor(LLAMA70, tp)
    assert mp == 2 * LLAMA70.ffn_hidden_size * LLAMA70.hidden_size / tp  # fused gate|up on one TP rank
    assert float(t["build_weights"]) == pytest.approx(ELEM * (n + 2 * mp))
    # zero.Init: the partitions built so far (none on the GPU under offload_param) + one tensor's
    # fp32 draw (whole, before its TP shard) beside its 16-bit shard
    expected = ELEM * n * (1 - weights) / dp + (FP32 * tp + ELEM) * mp
    assert float(t["build_weights_zero_init"]) == pytest.approx(expected)
    # no whole copy: above this rank's partitions, less than 5% of the 16-bit stage
    assert float(t["build_weights_zero_init"]) < ELEM * n * ((1 - weights) / dp + 0.05)


def test_llama70b_weight_offload_starts_on_one_gpu_only_under_zero_init():
    args = offload_args(LLAMA70)
    whole = StageCostModel(LLAMA70, HW, 4096, conditions=WHOLE).evaluate(args)
    init = StageCostModel(LLAMA70, HW, 4096).evaluate(args)
    assert whole.peak_memory_bytes > ELEM * LLAMA70.num_params > 80 * 10**9  # not on an 80 GB card
    assert whole.weights_bytes > 128 * GIB  # the start-up peak is the whole 16-bit model
    assert init.peak_memory_bytes < 16 * GIB and init.weights_bytes < 0.01 * GIB  # the steady state binds
    assert init.stable_time_s == whole.stable_time_s  # the build costs memory, not time


@pytest.mark.parametrize("zero", [0, 1, 2])
def test_zero_0_to_2_do_not_depend_on_it(zero):
    args = offload_args(get_preset("llama-7b"), dp=2, weights=0.0, zero=zero)
    model = get_preset("llama-7b")
    a = StageCostModel(model, HW, 4096, gpus_per_node=2, conditions=WHOLE).evaluate(args)
    b = StageCostModel(model, HW, 4096, gpus_per_node=2).evaluate(args)
    assert a.peak_memory_bytes == b.peak_memory_bytes


def report(zero_init):
    return RunReport(status="ok", plan_hash="x", gpu_name="NVIDIA H200", num_gpus=1, torch_version="2",
                     deepspeed_version="0.19", num_steps=1, num_warmup_steps=0, zero_init=zero_init)


def test_runs_are_predicted_with_the_start_up_they_recorded():
    model = get_preset("llama-7b")
    plan = make_plan(model, [{"end": model.num_layers, "num_recompute_layers": model.num_layers}], dp=1,
                     micro_batch=1, global_batch=8, seq_len=4096, zero_stage=3, offload_weights=1.0,
                     offload_optimizer=1.0, dtype="bf16")
    assert (zero_init_of(None), zero_init_of(False), zero_init_of(True)) == (False, False, True)
    # the reports below record no kernels: they are predicted with the eager set
    whole = predict_plan(plan, HW, RunConditions(kernels=EAGER, zero_init=False)).stages[0].peak_memory_bytes
    # the default build: what the runtime does now
    init = predict_plan(plan, HW, RunConditions(kernels=EAGER)).stages[0].peak_memory_bytes
    assert whole > ELEM * model.num_params > 2 * init
    for recorded, expected in ((None, whole), (False, whole), (True, init)):
        pred, _ = prediction_for(plan, report(recorded))
        assert pred.stages[0].peak_memory_bytes == expected
