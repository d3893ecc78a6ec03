"""1F1B iteration time by hand, and predict_plan on hand-written plans."""

from __future__ import annotations

import numpy as np
import pytest

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset
from mist_ds.config.hw_lookup import collective_time_s
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import StageCostModel, inflight_microbatches, pipeline_iteration_time, predict_plan
from mist_ds.cost.timing import Rates


def test_single_stage_is_grad_accum_times_stable_plus_delta():
    assert pipeline_iteration_time([2.0], [0.5], p2p_s=1.0, grad_accum=4) == pytest.approx(8.5)


def test_balanced_pipeline_fill_drain_and_steady_state():
    # S=3, G=5, stable 1 s each, p2p 0.1 s: effective stages 1.1, 1.2, 1.1
    # T = 3.4 + 4 * 1.2 + max(delta_i - sum_{j<i} st_j) = 3.4 + 4.8 + max(0.3, 0.3-1.1, 2.0-2.3)
    got = pipeline_iteration_time([1.0, 1.0, 1.0], [0.3, 0.3, 2.0], p2p_s=0.1, grad_accum=5)
    assert got == pytest.approx(3.4 + 4.8 + 0.3)


def test_late_stage_step_hides_behind_earlier_stages_drain():
    hidden = pipeline_iteration_time([1.0, 1.0], [0.0, 0.9], 0.0, 4)
    exposed = pipeline_iteration_time([1.0, 1.0], [0.9, 0.0], 0.0, 4)
    assert hidden == pytest.approx(2 + 3)            # stage 1's 0.9 s < stage 0's 1 s drain
    assert exposed == pytest.approx(2 + 3 + 0.9)


def test_slowest_stage_sets_the_steady_state():
    assert pipeline_iteration_time([1.0, 3.0], [0, 0], 0.0, 10) == pytest.approx(4 + 9 * 3)


@pytest.mark.parametrize("bad", [dict(stable_s=[], delta_s=[]), dict(stable_s=[1], delta_s=[1, 2])])
def test_pipeline_time_rejects_mismatched_inputs(bad):
    with pytest.raises(ValueError):
        pipeline_iteration_time(p2p_s=0.0, grad_accum=1, **bad)


def test_inflight_is_stage_distance_to_the_end_capped_by_grad_accum():
    assert [inflight_microbatches(i, 4, 8) for i in range(4)] == [4, 3, 2, 1]
    assert [inflight_microbatches(i, 4, 2) for i in range(4)] == [2, 2, 2, 1]


def test_collectives_follow_the_profile_lookup():
    hw = load_hardware("h100-sxm-80gb")
    rates = Rates(hw, gpus_per_node=8)
    sizes = np.array([1, 2, 4, 8])
    got = rates.collective_s("all_reduce", 1e8, sizes, False)
    want = [collective_time_s(hw, "all_reduce", "intra_node", int(n), 1e8) for n in sizes]
    np.testing.assert_allclose(got, want)
    assert got[0] == 0.0


def test_overlap_without_interference_is_the_longest_channel():
    hw = load_hardware("h100-sxm-80gb").model_copy(update={"interference": ()})
    rates = Rates(hw, 8)
    assert rates.overlapped_s(3.0, 1.0, 2.0, 0.5) == pytest.approx(3.0)


def test_overlap_with_interference_slows_both_until_one_ends():
    hw = load_hardware("h100-sxm-80gb")
    factor = {frozenset(f.channels): f for f in hw.interference}[frozenset(("compute", "nccl"))]
    slow = dict(zip(factor.channels, factor.slowdowns))
    rates = Rates(hw, 8)
    compute, nccl = 1.0, 0.2
    # nccl ends first after nccl*slow_n; compute progressed nccl*slow_n/slow_c standalone seconds
    together = nccl * slow["nccl"]
    want = together + (compute - together / slow["compute"])
    assert rates.overlapped_s(compute, nccl, 0.0, 0.0) == pytest.approx(want)


def plan_for(stages, grad_accum, gpus, batch=32, model="gpt-1.3b", seq=2048) -> Plan:
    return Plan(model=get_preset(model), cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus),
                global_batch_size=batch, seq_len=seq, grad_accum_steps=grad_accum,
                stages=tuple(stages))


def test_predict_plan_single_stage_matches_stage_model():
    hw = load_hardware("h100-sxm-80gb")
    layers = get_preset("gpt-1.3b").num_layers
    plan = plan_for([StagePlan(layer_start=0, layer_end=layers, micro_batch_size=4, dp=2, tp=1,
                               zero_stage=1)], grad_accum=4, gpus=2)
    pred = predict_plan(plan, hw)
    cost = StageCostModel(plan.model, hw, 2048, gpus_per_node=2).evaluate(
        num_layers=layers, micro_batch=4, dp=2, tp=1, zero_stage=1, grad_accum=4,
        has_embedding=True, has_head=True)
    assert pred.iteration_time_s == pytest.approx(4 * float(cost.stable_time_s) + float(cost.delta_time_s))
    assert pred.stages[0].peak_memory_bytes == pytest.approx(float(cost.peak_memory_bytes), abs=8)
    assert pred.throughput_tokens_per_s == pytest.approx(32 * 2048 / pred.iteration_time_s)
    flops = plan.model.flops_per_token(2048) * 32 * 2048
    assert pred.mfu == pytest.approx(flops / (pred.iteration_time_s * 2 * hw.peak_bf16_tflops * 1e12))
    assert 0.2 < pred.mfu < 0.7


def test_predict_plan_pipeline_first_stage_holds_more_activations():
    hw = load_hardware("h100-sxm-80gb")
    stages = [StagePlan(layer_start=i * 6, layer_end=(i + 1) * 6, micro_batch_size=2, dp=1, tp=1,
                        zero_stage=1) for i in range(4)]
    pred = predict_plan(plan_for(stages, grad_accum=16, gpus=4), hw)
    acts = [s.memory_breakdown.activations_bytes for s in pred.stages]
    assert acts[0] > acts[1] > acts[2]
    assert all(s.time_breakdown.pipeline_s >= 0 for s in pred.stages)
    cpu = [s.cpu_memory_bytes for s in pred.stages]
    assert cpu == [0, 0, 0, 0]


def test_predict_plan_offload_reports_cpu_memory():
    hw = load_hardware("h100-sxm-80gb")
    layers = get_preset("gpt-1.3b").num_layers
    stage = StagePlan(layer_start=0, layer_end=layers, micro_batch_size=4, dp=2, tp=1, zero_stage=2,
                      offload_optimizer_ratio=1.0, offload_gradients_ratio=1.0)
    pred = predict_plan(plan_for([stage], grad_accum=4, gpus=2), hw)
    params = get_preset("gpt-1.3b").num_params
    # fp32 master + Adam m, v + fp32 grads (16 B) of the half a rank owns, plus pinned copies
    assert pred.stages[0].cpu_memory_bytes > 16 * params / 2
    assert pred.stages[0].time_breakdown.optimizer_s > 0.1    # CPU Adam of ~0.7e9 params
