"""mist_ds.api's honest ranking: ties within the model's measured time error, broken by fewer moving
parts then headroom; fallback plans; the margin the search keeps. Hand-built predictions are the oracle."""

from __future__ import annotations

import pytest

from mist_ds.api import (MAX_HEADROOM_STEPS, MIN_FALLBACK_SAVING_RATIO, TuneResult, fallback_plans, honest_order,
                         moving_parts, tune)
from mist_ds.config import ClusterSpec, TuneRequest, resolve_model
from mist_ds.config.prediction import MemoryBreakdown, PlanPrediction, StagePrediction, TimeBreakdown
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO, SearchStats

from tests.helpers import make_plan
from tests.runtime.plans import GPT

HW = load_hardware("h100-sxm-80gb")
CAP = 10 * GIB


def _predicted(plan, time_s: float, peak_gib: float, host_gib: float = 0.0):
    """`plan` with a prediction of `time_s` per iteration and `peak_gib` per GPU on every stage."""
    zero = TimeBreakdown(compute_s=time_s, recompute_s=0, tp_comm_s=0, dp_comm_s=0, offload_s=0,
                         optimizer_s=0, pipeline_s=0)
    peak = int(peak_gib * GIB)
    stage = StagePrediction(peak_memory_bytes=peak, memory_breakdown=MemoryBreakdown(
        weights_bytes=peak, gradients_bytes=0, optimizer_states_bytes=0, activations_bytes=0, buffers_bytes=0),
        time_breakdown=zero, cpu_memory_bytes=int(host_gib * GIB), microbatch_forward_s=0,
        microbatch_backward_s=0, step_s=0)
    pred = PlanPrediction(iteration_time_s=time_s, throughput_tokens_per_s=1.0, mfu=0.1,
                          stages=(stage,) * plan.num_stages, hardware_name=HW.name)
    return plan.model_copy(update={"prediction": pred, "gpu_memory_cap_bytes": CAP})


def dp(**kw):
    """A 2-GPU data-parallel plan of the tiny GPT (0 moving parts)."""
    return make_plan(GPT, [{"end": 4}], dp=2, **kw)


def pp():
    """A 2-stage pipeline (1 moving part)."""
    return make_plan(GPT, [{"end": 2}, {"end": 4}])


def test_moving_parts_count_pipeline_tp_and_each_offload_kind():
    assert moving_parts(dp()) == 0
    assert moving_parts(pp()) == 1
    assert moving_parts(make_plan(GPT, [{"end": 4}], tp=2)) == 1
    assert moving_parts(dp(zero_stage=3, offload_weights=1.0, offload_optimizer=1.0)) == 2
    assert moving_parts(make_plan(GPT, [{"end": 4, "num_offloaded_layers": 1}], dp=2)) == 1


def test_a_tie_prefers_fewer_moving_parts_and_ties_are_anchored_on_the_fastest():
    fast_pipeline = _predicted(pp(), 1.00, 5.0)      # group 1: 1.00 .. 1.21
    plain = _predicted(dp(), 1.10, 5.0)              # within 21% of 1.00: ties, and has no moving part
    slow = _predicted(dp(micro_batch=1), 1.25, 5.0)  # > 1.21: next group (though within 21% of 1.10)
    ordered, groups = honest_order([slow, fast_pipeline, plain], HW, tie_rtol=0.21)
    assert ordered == (plain, fast_pipeline, slow) and groups == (1, 1, 2)
    # tie_rtol 0: by predicted time alone
    assert honest_order([slow, fast_pipeline, plain], HW, tie_rtol=0.0)[0] == (fast_pipeline, plain, slow)


def test_headroom_counts_in_whole_margin_steps_up_to_the_most_that_buy_safety():
    step = DEFAULT_MEMORY_MARGIN_RATIO * 10  # GiB per step of a 10 GiB cap
    tight = _predicted(dp(), 1.00, 10 - 0.5 * step)         # 0 steps of headroom
    within = 1.0 + 0.75 * MODEL_TIME_ERROR_RATIO                  # inside the default tie
    roomy = _predicted(dp(micro_batch=1), within, 10 - 2.5 * step)  # 2 steps: wins the tie
    assert honest_order([tight, roomy], HW)[0] == (roomy, tight)
    most = MAX_HEADROOM_STEPS
    plenty = _predicted(dp(), 1.00, 10 - (most + 0.5) * step)  # the most steps that count
    more = _predicted(dp(micro_batch=1), within, 10 - (most + 2) * step)  # more count as many: time decides
    assert honest_order([more, plenty], HW)[0] == (plenty, more)
    same = _predicted(dp(micro_batch=1), 1.00, 10 - (most + 0.2) * step)  # equal steps and time: more headroom
    assert honest_order([same, plenty], HW)[0] == (plenty, same)


FIVE = 0.05


def test_stock_deepspeed_wins_a_tie_and_mistpipe_leads_only_when_clearly_faster_than_every_stock_plan():
    # the mechanism at a 5% tolerance (the default's value is tests/search/test_margins.py's)
    def mist(time_s, **kw):
        return _predicted(dp(executor="mistpipe", **kw), time_s, 5.0)

    stock = _predicted(pp(), 1.04, 5.0)            # a pipeline: more moving parts than the mistpipe plan
    fast = mist(1.00)
    assert honest_order([fast, stock], HW, FIVE) == ((stock, fast), (1, 1))
    assert honest_order([fast, _predicted(pp(), 1.06, 5.0)], HW, FIVE)[0][0] is fast
    # group 1 is {1.00, 1.049}, the stock plan (1.051) is group 2; the simpler 1.049 plan is within the
    # model's error of it, so the 1.00 plan (more than 5% faster than every stock plan) leads
    simple, offloading = mist(1.049), mist(1.00, zero_stage=3, offload_weights=1.0, offload_optimizer=1.0)
    stock = _predicted(pp(), 1.051, 5.0)
    assert honest_order([simple, offloading, stock], HW, FIVE) == ((offloading, simple, stock), (1, 1, 2))
    # without a stock plan ranked, the simpler one leads its tie
    assert honest_order([simple, offloading], HW, FIVE)[0] == (simple, offloading)


def _result(plans) -> TuneResult:
    ordered, groups = honest_order(plans, HW)
    return TuneResult(ordered, SearchStats(1, 1, CAP), None, (), groups)


def test_fallbacks_need_less_gpu_or_host_memory_than_the_winner():
    winner = _predicted(dp(), 1.0, 8.0, host_gib=4.0)
    more = _predicted(dp(micro_batch=1), 1.5, 9.0, host_gib=4.0)     # needs more of both: skipped
    small = 1 - MIN_FALLBACK_SAVING_RATIO / 2                         # saves half the minimum of either
    barely = _predicted(dp(micro_batch=4), 1.6, 8.0 * small, host_gib=4.0 * small)   # skipped
    less_gpu = _predicted(pp(), 2.0, 6.0, host_gib=4.0)
    less_host = _predicted(make_plan(GPT, [{"end": 4}], tp=2), 3.0, 9.0, host_gib=1.0)
    result = _result([winner, more, barely, less_gpu, less_host])
    assert result.plans[0] == winner
    assert fallback_plans(result, HW, 5) == (less_gpu, less_host)
    assert fallback_plans(result, HW, 1) == (less_gpu,)
    assert fallback_plans(result, HW, 0) == ()


def _request(cap_gib: float | None = None) -> TuneRequest:
    return TuneRequest(model=resolve_model("llama-13b"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=4),
                       global_batch_size=64, seq_len=4096,
                       gpu_memory_cap_bytes=None if cap_gib is None else int(cap_gib * GIB))


def test_the_search_keeps_the_margin_free():
    # without a margin the fastest llama-13b plan on 4 H100s sits within 3% of the card
    bare = tune(_request(), HW, top_k=1, memory_margin_ratio=0.0, tie_rtol=0.0).plans[0]
    assert max(s.peak_memory_bytes for s in bare.prediction.stages) > 0.91 * HW.gpu_memory_bytes
    for margin in (DEFAULT_MEMORY_MARGIN_RATIO, 0.2):
        result = tune(_request(), HW, top_k=3, memory_margin_ratio=margin)
        assert result.plans and result.stats.memory_margin_ratio == margin
        for plan in result.plans:
            assert max(s.peak_memory_bytes for s in plan.prediction.stages) <= (1 - margin) * HW.gpu_memory_bytes


def test_the_winner_does_not_depend_on_how_many_plans_are_listed():
    one, five = (tune(_request(40), HW, top_k=k) for k in (1, 5))
    assert one.plans[0] == five.plans[0] and one.tie_groups[0] == five.tie_groups[0] == 1


@pytest.mark.parametrize("margin", [-0.1, 1.0])
def test_a_margin_outside_0_1_is_refused(margin):
    with pytest.raises(ValueError, match="memory margin"):
        tune(_request(), HW, memory_margin_ratio=margin)
