"""Property tests of the cost model: what more sharding, offload, recompute or work must do."""

from __future__ import annotations

import functools
import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import StageArgs, StageCostModel

# CI runs a fixed set of 60 examples (a property found false by chance would block an unrelated
# commit); MIST_DS_PROPERTY_EXAMPLES=N runs N random ones, as before a cost-model change lands
_RANDOM_EXAMPLES = int(os.environ.get("MIST_DS_PROPERTY_EXAMPLES", "0"))
SETTINGS = settings(max_examples=_RANDOM_EXAMPLES or 60, derandomize=not _RANDOM_EXAMPLES, deadline=None)
DEFAULTS = dict(offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0, num_offloaded=0,
                num_recompute=0, num_inflight=1, grad_accum=1, has_embedding=False, has_head=False,
                num_stages=1)


def A(**kwargs) -> StageArgs:
    """StageArgs with the defaults above (the properties below vary one argument at a time)."""
    return StageArgs(**{**DEFAULTS, **kwargs})


@functools.lru_cache(maxsize=4)
def cost_model(preset: str = "llama-7b", seq: int = 2048) -> StageCostModel:
    return StageCostModel(get_preset(preset), load_hardware("h100-sxm-80gb"), seq, gpus_per_node=8)


strategies = st.fixed_dictionaries({
    "num_layers": st.integers(1, 32),
    "micro_batch": st.sampled_from([1, 2, 4, 8]),
    "dp": st.sampled_from([1, 2, 4, 8]),
    "tp": st.sampled_from([1, 2, 4, 8]),
    "zero_stage": st.integers(0, 3),
    "num_recompute": st.integers(0, 32),
    "num_inflight": st.integers(1, 4),
    "grad_accum": st.sampled_from([1, 2, 8]),
    "has_embedding": st.booleans(),
    "has_head": st.booleans(),
    "num_stages": st.sampled_from([1, 2, 4]),
    "num_offloaded": st.integers(0, 32),
    "zero3_block_fetch": st.sampled_from([0, 1]),
}).map(lambda s: {**s, "num_recompute": min(s["num_recompute"], s["num_layers"])}).map(
    lambda s: {**s, "num_offloaded": min(s["num_offloaded"], s["num_layers"] - s["num_recompute"])})


def peak(**kwargs) -> float:
    return float(cost_model().evaluate(A(**kwargs)).peak_memory_bytes)


@SETTINGS
@given(strategies)
def test_more_data_parallel_sharding_never_needs_more_memory(s):
    if s["zero_stage"] == 0:
        s["zero_stage"] = 1
    values = [peak(**{**s, "dp": dp}) for dp in (1, 2, 4, 8)]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(values, values[1:]))


@SETTINGS
@given(strategies)
def test_higher_zero_stage_never_holds_more_model_states(s):
    model = cost_model()
    backward, step = [], []
    for zero in (1, 2, 3):
        t = model.terms(A(**{**s, "zero_stage": zero, "dp": max(s["dp"], 2)}))
        backward.append(float(t["weights"] + t["gradients"] + t["optimizer"]))
        step.append(float(t["step_weights"] + t["step_gradients"] + t["optimizer"]))
    # ZeRO-1 and -2 hold the same states in DeepSpeed 0.19 (both keep a gradient partition)
    for phase in (backward, step):
        assert phase[1] <= phase[0] * (1 + 1e-12) and phase[2] <= phase[1] * (1 + 1e-12)


@SETTINGS
@given(strategies)
def test_optimizer_offload_never_needs_more_gpu_memory(s):
    s = {**s, "zero_stage": max(s["zero_stage"], 1)}
    # the GPU-side staging buffer of ZeRO-1/2 offload (one largest tensor) and ZeRO-3's copies of
    # the first reduced partition (cost/memory.py z3_reduction) are far smaller than the optimizer
    # states a whole offload moves
    assert peak(**s, offload_optimizer=1.0, offload_gradients=1.0) <= peak(**s)


@SETTINGS
@given(strategies)
def test_a_larger_zero3_offload_ratio_never_needs_more_gpu_memory(s):
    # Not from 0: a small ratio can need more than none, as in DeepSpeed 0.19.8, where any optimizer
    # offload copies each reduced partition to the GPU with an fp64 copy for its norm
    # (stage3.py _offload_grad_partition_at_boundary) and keeps the GPU sub-groups' fp32 gradients
    s = {**s, "zero_stage": 3}
    values = [peak(**s, offload_optimizer=ratio, offload_gradients=ratio) for ratio in (0.25, 0.5, 1.0)]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(values, values[1:]))


@SETTINGS
@given(strategies)
def test_weight_offload_never_needs_more_gpu_memory(s):
    s = {**s, "zero_stage": 3}
    assert peak(**s, offload_weights=1.0) <= peak(**s)


@SETTINGS
@given(strategies)
def test_activation_offload_never_needs_more_gpu_memory(s):
    counts = range(s["num_layers"] - s["num_recompute"] + 1)
    values = [peak(**{**s, "num_offloaded": n}) for n in counts]
    assert all(b <= a for a, b in zip(values, values[1:]))


@SETTINGS
@given(strategies)
def test_more_recompute_never_more_memory_never_less_time(s):
    model = cost_model()
    counts = np.arange(0, s["num_layers"] + 1)
    cost = model.evaluate(A(**{**s, "num_recompute": counts, "num_offloaded": 0}))
    assert np.all(np.diff(cost.peak_memory_bytes) <= 1e-6 * cost.peak_memory_bytes[:-1])
    assert np.all(np.diff(cost.stable_time_s) >= 0)


@SETTINGS
@given(strategies)
def test_more_layers_or_larger_micro_batches_cost_more(s):
    model = cost_model()
    layers = model.evaluate(A(**{**s, "num_layers": np.arange(s["num_layers"], 33)}))
    assert np.all(np.diff(layers.peak_memory_bytes) >= 0)
    assert np.all(np.diff(layers.stable_time_s) >= 0)
    batches = model.evaluate(A(**{**s, "micro_batch": np.array([1, 2, 4, 8, 16])}))
    assert np.all(np.diff(batches.peak_memory_bytes) >= 0)
    # never less; equal where the host thread binds (cost/host_overlap.py host_overlap: host work per
    # micro-batch does not grow with its size while the GPU's stays under it)
    assert np.all(np.diff(batches.stable_time_s) >= 0)
    assert batches.stable_time_s[-1] > batches.stable_time_s[0]


@SETTINGS
@given(strategies)
def test_more_inflight_microbatches_hold_more_activations(s):
    cost = cost_model().evaluate(A(**{**s, "num_inflight": np.array([1, 2, 3, 4])}))
    assert np.all(np.diff(cost.peak_memory_bytes) >= 0)


@SETTINGS
@given(strategies)
def test_tensor_parallelism_never_needs_more_memory(s):
    values = [peak(**{**s, "tp": tp}) for tp in (1, 2, 4, 8)]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(values, values[1:]))


def test_time_per_token_falls_with_micro_batch_at_fixed_tokens():
    """Same tokens per step: with throughput independent of the GEMM shape (a profile without
    kernel grids), compute is linear in tokens, so larger micro-batches can only win by paying the
    per-micro-batch costs (ZeRO-2 reduce-scatter of the stage's gradients) fewer times."""
    hw = load_hardware("h100-sxm-80gb").model_copy(
        update={"matmul_samples": (), "attention_samples": ()})
    model = StageCostModel(get_preset("gpt-1.3b"), hw, 2048, gpus_per_node=8)
    layers = get_preset("gpt-1.3b").num_layers
    batch = np.array([1, 2, 4, 8])
    cost = model.evaluate(A(num_layers=layers, micro_batch=batch, dp=2, tp=1, zero_stage=2,
                            has_embedding=True, has_head=True, grad_accum=8 // batch))
    step = (8 // batch) * cost.stable_time_s + cost.delta_time_s
    assert np.all(np.diff(step) < 0)
    # same tokens: the blocks' compute is the same; ZeRO-2's per-micro-batch bucket copies are not
    assert np.all(np.diff(cost.compute_s) <= 0)


def test_breakdown_sums_to_stable_and_delta():
    model = cost_model()
    rng = np.random.default_rng(0)
    n = 2000
    g = rng.choice([1, 4, 16], n)
    layers = rng.integers(1, 33, n)
    cost = model.evaluate(A(num_layers=layers, micro_batch=rng.choice([1, 2, 4], n),
                            dp=rng.choice([1, 2, 4], n), tp=rng.choice([1, 2, 8], n),
                            zero_stage=rng.integers(0, 4, n), num_offloaded=layers // 2,
                            grad_accum=g, has_head=True))
    parts = (cost.compute_s + cost.recompute_s + cost.tp_comm_s + cost.dp_comm_s
             + cost.offload_s + cost.optimizer_s)
    np.testing.assert_allclose(parts, g * cost.stable_time_s + cost.delta_time_s, rtol=1e-9)
    memory = (cost.weights_bytes + cost.gradients_bytes + cost.optimizer_states_bytes
              + cost.activations_bytes + cost.buffers_bytes)
    np.testing.assert_allclose(memory, cost.peak_memory_bytes, rtol=1e-9)
