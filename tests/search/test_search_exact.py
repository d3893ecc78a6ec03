"""The whole search (screening, bisection, branch and bound, partition) against brute force over
every layout, layer split and per-stage recompute / offload choice (and, for mistpipe layouts, per-stage
memory setting), on the real cost models, for the search's objective (cost.clock.closed_form_bound);
and mist_ds.api.tune's ranking by the clock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mist_ds.api import tune
from mist_ds.config import ClusterSpec, Plan, SearchSpace, StagePlan, TuneRequest, resolve_model
from mist_ds.config.executors import offloaded_layer_count
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.cost import RunConditions, closed_form_bound, predict_plan, stage_args
from mist_ds.cost.mistpipe import cost_model_for
from mist_ds.cost.plan_predict import p2p_time_s
from mist_ds.search import enumerate_layouts, search
from mist_ds.search.space import activation_fractions, layout_settings

HW = load_hardware("h100-sxm-80gb")


def _request(cap_gib, *, pipeline=True, act=False, gpus=2, fused=True):
    return TuneRequest(model=resolve_model("gpt-125m"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus),
                       global_batch_size=16, seq_len=2048,
                       space=SearchSpace(pipeline=pipeline, offload_activations=act, fused_head_loss=fused),
                       gpu_memory_cap_bytes=int(cap_gib * GIB))


def _uniform_plan(request, layout):
    """Any plan of the layout (p2p depends on the layout only)."""
    num, layers = layout.num_stages, request.model.num_layers
    cuts = [layers * i // num for i in range(num + 1)]
    stages = tuple(StagePlan(layer_start=a, layer_end=b) for a, b in zip(cuts, cuts[1:]))
    return Plan(model=request.model, cluster=request.cluster, global_batch_size=request.global_batch_size,
                seq_len=request.seq_len, dp=layout.dp, tp=layout.tp, micro_batch_size=layout.micro_batch,
                grad_accum_steps=layout.grad_accum, memory=MemoryStrategy(zero_stage=layout.zero_stage),
                stages=stages)


def _stage_options(model, request, layout, cap):
    """(stage, layers) -> [(stable, delta)] of every fitting recompute count, offload fraction and
    (per-stage memory) setting."""
    num, total = layout.num_stages, request.model.num_layers
    rows = [(i, l, c, a, *m) for i in range(num) for l in range(1, total - num + 2) for c in range(l + 1)
            for a in activation_fractions(request) for m in layout_settings(request, layout)]
    i, l, c, a, z, w, g, o = (np.array(col) for col in zip(*rows))
    cost = model.evaluate(stage_args(
        stage_index=i, num_stages=num, num_layers=l, micro_batch=layout.micro_batch, dp=layout.dp,
        tp=layout.tp, grad_accum=layout.grad_accum, zero_stage=z, offload_weights=w, offload_gradients=g,
        offload_optimizer=o, num_recompute=c, num_offloaded=offloaded_layer_count(a, l - c),
        zero3_live_bound=float(layout.executor == "deepspeed")))
    fits = (cost.peak_memory_bytes <= cap) & (cost.cpu_memory_bytes * request.cluster.gpus_per_node
                                             <= HW.host_memory_bytes)
    table = {}
    for k in np.flatnonzero(fits):
        table.setdefault((int(i[k]), int(l[k])), []).append(
            (float(cost.stable_time_s[k]), float(cost.delta_time_s[k])))
    return table


def _pareto(values):
    """The (stable, delta) Pareto front: enough for the brute force, and keeps it small."""
    return [v for v in values if not any(w[0] <= v[0] and w[1] <= v[1] and w != v for w in values)]


def _brute_force(request, executors=None):
    """The smallest closed-form objective over every layout, split and per-stage choice, and, for mistpipe
    layouts of a request that lets the search weigh it (SearchSpace.fused_head_loss), both head losses."""
    cluster = request.cluster

    def model_for(name, fused=False):
        return cost_model_for(name, request.model, HW, request.seq_len, request.dtype, cluster.num_nodes,
                              cluster.gpus_per_node, conditions=RunConditions(fused_head_loss=fused))

    models = {("deepspeed", False): model_for("deepspeed"), ("mistpipe", False): model_for("mistpipe"),
              ("mistpipe", True): model_for("mistpipe", True)}
    heads = (False, True) if request.space.fused_head_loss else (False,)
    best = np.inf
    for layout, fused in itertools.product(enumerate_layouts(request, executors), heads):
        if fused and layout.executor != "mistpipe":
            continue
        model = models[layout.executor, fused]
        table = {key: _pareto(v) for key, v in
                 _stage_options(model, request, layout, request.gpu_memory_cap_bytes).items()}
        p2p = p2p_time_s(_uniform_plan(request, layout), model)
        num, total = layout.num_stages, request.model.num_layers
        for cuts in itertools.combinations(range(1, total), num - 1):
            split = [b - a for a, b in zip((0, *cuts), (*cuts, total))]
            choices = [table.get((s, n), []) for s, n in enumerate(split)]
            for combo in itertools.product(*choices):
                best = min(best, closed_form_bound([x[0] for x in combo], [x[1] for x in combo], p2p,
                                                   layout.grad_accum))
    return best


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("cap_gib", [3.0, 2.5])
def test_search_matches_brute_force_with_pipelines(cap_gib, fused):
    request = _request(cap_gib, fused=fused)
    result = search(request, HW, top_k=1)
    expected = _brute_force(request)
    assert result.ranked[0].time_s == pytest.approx(expected, rel=1e-9)


def test_search_matches_brute_force_with_activation_offload():
    request = _request(2.2, pipeline=False, act=True)
    result = search(request, HW, top_k=1)
    assert result.ranked[0].time_s == pytest.approx(_brute_force(request), rel=1e-9)


@pytest.mark.parametrize("cap_gib", [3.0, 2.5])
def test_tune_ranks_by_the_clock_and_fits_the_cap(cap_gib):
    request = _request(cap_gib)
    result = tune(request, HW, top_k=3, memory_margin_ratio=0.0, tie_rtol=0.0)
    times = [plan.prediction.iteration_time_s for plan in result.plans]
    assert times == sorted(times)
    for plan in result.plans:
        assert plan.prediction == predict_plan(plan.without_prediction(), HW)
        assert max(s.peak_memory_bytes for s in plan.prediction.stages) <= request.gpu_memory_cap_bytes
        assert plan.gpu_memory_cap_bytes == request.gpu_memory_cap_bytes


@pytest.mark.parametrize("cap_gib", [2.2, 1.6])
def test_search_matches_brute_force_on_two_nodes_with_deep_pipelines(cap_gib):
    """2 nodes x 2 GPUs: stage boundaries cross nodes (inter-node p2p), up to 4 stages; both caps give
    non-uniform splits with a different recompute count per stage."""
    request = TuneRequest(model=resolve_model("gpt-125m"), cluster=ClusterSpec(num_nodes=2, gpus_per_node=2),
                          global_batch_size=8, seq_len=2048,
                          space=SearchSpace(zero_stages=(1,), max_micro_batch=2, offload_weights=False,
                                            offload_gradients=False, offload_optimizer=False,
                                            offload_activations=False),
                          gpu_memory_cap_bytes=int(cap_gib * GIB))
    result = search(request, HW, top_k=1)
    assert result.ranked[0].time_s == pytest.approx(_brute_force(request), rel=1e-9)


@pytest.mark.parametrize("cap_gib", [1.57, 1.45])
def test_search_matches_brute_force_over_per_stage_memory_settings(cap_gib):
    """mistpipe alone, a batch of 5 (no dp split, TP off): two stages whose best ZeRO/offload settings
    differ (at these caps, under the runtime's default kernels, the optimum gives the stages different
    optimizer offload ratios; at 1.45 GiB one stage also offloads its weights). The caps move with the prices
    (session 73's loss price moved 1.6 GiB to equal settings)."""
    request = TuneRequest(model=resolve_model("gpt-125m"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                          global_batch_size=5, seq_len=2048,
                          space=SearchSpace(offload_activations=False, tensor_parallel=False, max_micro_batch=2),
                          gpu_memory_cap_bytes=int(cap_gib * GIB))
    best = search(request, HW, top_k=1, executors=("mistpipe",)).ranked[0]
    assert best.layout.executor == "mistpipe" and len(set(best.partition.memory)) == 2
    assert best.time_s == pytest.approx(_brute_force(request, ("mistpipe",)), rel=1e-9)


def test_search_matches_brute_force_across_both_executors():
    """Both executors in one search; at this cap a mistpipe setting wins (stock DeepSpeed offloads
    weights only with ZeRO-3 and gradients only with the optimizer states)."""
    request = TuneRequest(model=resolve_model("gpt-125m"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                          global_batch_size=16, seq_len=2048,
                          space=SearchSpace(offload_activations=False, executors=("deepspeed", "mistpipe")),
                          gpu_memory_cap_bytes=int(1.6 * GIB))
    best = search(request, HW, top_k=1).ranked[0]
    assert best.layout.executor == "mistpipe"
    assert best.time_s == pytest.approx(_brute_force(request), rel=1e-9)
    stock = search(request, HW, top_k=1, executors=("deepspeed",)).ranked[0]
    assert stock.time_s == pytest.approx(_brute_force(request, ("deepspeed",)), rel=1e-9) and stock.time_s > best.time_s
