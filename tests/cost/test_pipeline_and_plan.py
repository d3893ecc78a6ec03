"""Rates (collectives, overlap) and predict_plan on hand-written plans (the clock itself:
test_pipeline_clock.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset
from mist_ds.config.hw_lookup import collective_time_s
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import StageCostModel, inflight_microbatches, plan_stage_args, predict_plan
from mist_ds.cost.rates import Rates


def test_inflight_is_stage_distance_to_the_end_capped_by_grad_accum():
    assert [int(inflight_microbatches(i, 4, 8)) for i in range(4)] == [4, 3, 2, 1]
    assert [int(inflight_microbatches(i, 4, 2)) for i in range(4)] == [2, 2, 2, 1]


def test_collectives_follow_the_profile_lookup():
    hw = load_hardware("h100-sxm-80gb")
    rates = Rates(hw, gpus_per_node=8)
    sizes = np.array([1, 2, 4, 8])
    got = rates.collective_s("all_reduce", 1e8, sizes, False)
    want = [collective_time_s(hw, "all_reduce", "intra_node", int(n), 1e8) for n in sizes]
    np.testing.assert_allclose(got, want)
    assert got[0] == 0.0
    # mixed groups and scopes in one call (coded through a table) are each element's own collective
    groups, inter = np.array([[8, 2, 8], [4, 4, 2]]), np.array([[True, False, False], [False, True, False]])
    mixed = rates.collective_s("all_gather", 3e7, groups, inter)
    for g, i, value in zip(groups.ravel(), inter.ravel(), mixed.ravel()):
        assert value == rates.collective_s("all_gather", 3e7, g, i)
    assert rates.collective_s("all_gather", np.zeros(0), np.zeros(0), False).shape == (0,)  # an empty batch


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


def plan_for(layers_per_stage, grad_accum, dp=1, micro=None, batch=32, model="gpt-1.3b", seq=2048,
             memory=MemoryStrategy(zero_stage=1), recompute=None) -> Plan:
    micro = micro or batch // (dp * grad_accum)
    stages, start = [], 0
    for i, count in enumerate(layers_per_stage):
        stages.append(StagePlan(layer_start=start, layer_end=start + count,
                                num_recompute_layers=(recompute or [0] * len(layers_per_stage))[i]))
        start += count
    return Plan(model=get_preset(model), cluster=ClusterSpec(num_nodes=1, gpus_per_node=dp * len(stages)),
                global_batch_size=batch, seq_len=seq, dp=dp, tp=1, micro_batch_size=micro,
                grad_accum_steps=grad_accum, memory=memory, stages=tuple(stages))


def test_predict_plan_single_stage_is_the_schedule_of_one_stage():
    # one stage: DeepSpeed runs G forward+backward pairs, then the step; the clock must add up to
    # G * stable + delta of the stage model (wiring of predict_plan = stage model + clock)
    hw = load_hardware("h100-sxm-80gb")
    plan = plan_for([24], grad_accum=4, dp=2, micro=4)
    pred = predict_plan(plan, hw)
    cost = StageCostModel(plan.model, hw, 2048, gpus_per_node=2).evaluate(plan_stage_args(plan, 0))
    assert pred.iteration_time_s == pytest.approx(4 * float(cost.stable_time_s) + float(cost.delta_time_s))
    assert pred.stages[0].peak_memory_bytes == pytest.approx(float(cost.peak_memory_bytes), abs=8)
    assert pred.throughput_tokens_per_s == pytest.approx(32 * 2048 / pred.iteration_time_s)
    # MFU by hand: 6N + 12 L h s FLOPs per token (PaLM, appendix B; N: block and LM-head matmul
    # parameters, no embedding lookup or positions) over time x GPUs x peak
    m = plan.model
    flops_per_token = (6 * (m.num_layers * m.layer_params + m.vocab_size * m.hidden_size)
                       + 12 * m.num_layers * m.hidden_size * 2048)
    assert pred.mfu == pytest.approx(flops_per_token * 32 * 2048
                                     / (pred.iteration_time_s * 2 * hw.peak_bf16_tflops * 1e12), rel=1e-3)


def test_predict_plan_pipeline_first_stage_holds_more_activations():
    hw = load_hardware("h100-sxm-80gb")
    pred = predict_plan(plan_for([6, 6, 6, 6], grad_accum=16, micro=2), hw)
    acts = [s.memory_breakdown.activations_bytes for s in pred.stages]
    assert acts[0] > acts[1] > acts[2]
    assert all(s.time_breakdown.pipeline_s >= 0 for s in pred.stages)
    assert [s.cpu_memory_bytes for s in pred.stages] == [0, 0, 0, 0]


def test_predict_plan_offload_reports_cpu_memory():
    hw = load_hardware("h100-sxm-80gb")
    memory = MemoryStrategy(zero_stage=2, offload_optimizer_ratio=1.0, offload_gradients_ratio=1.0)
    pred = predict_plan(plan_for([24], grad_accum=4, dp=2, micro=4, memory=memory), hw)
    params = get_preset("gpt-1.3b").num_params
    # fp32 master + Adam m, v + fp32 grads (16 B) of the half a rank owns, plus pinned copies
    assert pred.stages[0].cpu_memory_bytes > 16 * params / 2
    assert pred.stages[0].time_breakdown.optimizer_s > 0.1    # CPU Adam of ~0.7e9 params


def test_offloaded_layers_move_whole_layers_of_activations_to_the_host():
    # an integer count: 2 offloaded layers hold exactly 2 layers' saved bytes on the host, plus the
    # weights save_on_cpu packs with them, one pinned tensor per save call rounded to a power of two
    # (cost/activations.py block_saves): gpt-1.3b (h 2048, f 8192) at micro-batch 4 x 2048 tokens
    # saves only powers of two, but the o-projection saves a view of the attention output again
    # (32 MiB more per layer); weights: q|k|v 2*3*2048*2048 B = 24 MiB -> 32, o 8 MiB, up 32,
    # down 32 MiB, and the two LayerNorms' weight and bias, 4 KiB each
    hw = load_hardware("h100-sxm-80gb")
    base = plan_for([24], grad_accum=8, micro=4)
    two = base.model_copy(update={"stages": (base.stages[0].model_copy(update={"num_offloaded_layers": 2}),)})
    model = StageCostModel(base.model, hw, 2048)
    per_layer = float(model.terms(plan_stage_args(base, 0))["layer_saved"])
    gpu = [predict_plan(p, hw).stages[0].memory_breakdown.activations_bytes for p in (base, two)]
    cpu = predict_plan(two, hw).stages[0].cpu_memory_bytes
    assert gpu[0] - gpu[1] == pytest.approx(2 * per_layer, rel=1e-6)
    assert cpu == pytest.approx(2 * (per_layer + 32 * 2**20) + 2 * ((32 + 8 + 32 + 32) * 2**20 + 4 * 4096),
                                rel=1e-9)
