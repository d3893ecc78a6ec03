"""The properties of the cost model that make the search exact (mist_ds/search/evaluate.py):
without activation offload more recompute never lowers the stable time and, from one recomputed
layer on, never raises the peak (the bisection relies on both); more activation offload never lowers
the stable time either and never raises the peak; neither changes delta. (With activation offload
the search enumerates every recompute count: evaluate.py _fastest_recompute_enumerated.)"""

from __future__ import annotations

import numpy as np
import pytest

from mist_ds.config import resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.config.executors import offloaded_layer_count
from mist_ds.cost import StageArgs, StageCostModel

HW = load_hardware("h100-sxm-80gb")


def _strategies(model, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    layers = rng.integers(1, model.num_layers + 1, n)
    opt = rng.choice([0.0, 0.5, 1.0], n)
    zero = rng.integers(0, 4, n)
    return dict(num_layers=layers, micro_batch=rng.choice([1, 2, 4, 8], n),
                dp=rng.choice([1, 2, 4, 8, 16], n), tp=rng.choice([1, 2, 4, 8], n), zero_stage=zero,
                offload_weights=rng.choice([0.0, 1.0], n), offload_optimizer=opt, offload_gradients=opt,
                num_inflight=rng.integers(1, 9, n), grad_accum=rng.integers(1, 33, n),
                num_offloaded=np.zeros(n, int),
                has_embedding=rng.random(n) < 0.3, has_head=rng.random(n) < 0.3,
                num_stages=rng.choice([1, 2, 4], n))


@pytest.mark.parametrize("name", ["llama-7b", "gpt-22b"])
def test_more_recompute_is_slower_smaller_and_keeps_delta(name):
    model = resolve_model(name)
    cost_model = StageCostModel(model, HW, 2048, "bf16", 2, 8)
    args = _strategies(model)
    layers = args["num_layers"]
    def at(count, act):
        recompute = np.minimum(count, layers)
        return cost_model.evaluate(StageArgs(**{**args, "num_recompute": recompute,
                                                "num_offloaded": offloaded_layer_count(act, layers - recompute)}))

    for act in (0.0, 0.5):
        previous = at(1, act)
        for count in range(2, model.num_layers + 1, 3):
            cost = at(count, act)
            if act == 0.0:
                assert np.all(cost.stable_time_s >= previous.stable_time_s - 1e-12)
            assert np.allclose(cost.delta_time_s, previous.delta_time_s, rtol=0, atol=1e-12)
            if act == 0.0:  # with offload, a whole-layer count may keep as many layers on the GPU
                assert np.all(cost.peak_memory_bytes <= previous.peak_memory_bytes + 1e-3)
            previous = cost


@pytest.mark.parametrize("name", ["llama-7b", "gpt-22b"])
def test_more_activation_offload_is_slower_smaller_and_keeps_delta(name):
    model = resolve_model(name)
    cost_model = StageCostModel(model, HW, 2048, "bf16", 2, 8)
    args = _strategies(model, seed=1)
    recompute = np.minimum(args["num_layers"], np.random.default_rng(2).integers(0, 10, len(args["num_layers"])))
    previous = None
    for ratio in (0.0, 0.25, 0.5, 0.75, 1.0):
        offloaded = offloaded_layer_count(ratio, args["num_layers"] - recompute)
        cost = cost_model.evaluate(StageArgs(**{**args, "num_recompute": recompute, "num_offloaded": offloaded}))
        if previous is not None:
            assert np.all(cost.stable_time_s >= previous.stable_time_s - 1e-12)
            assert np.allclose(cost.delta_time_s, previous.delta_time_s, rtol=0, atol=1e-12)
            assert np.all(cost.peak_memory_bytes <= previous.peak_memory_bytes + 1e-3)
        previous = cost
