"""Search driver: determinism, top-k order, the memory floor of infeasible requests, and the
enumerated recompute path (with activation offload) on a synthetic cost model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mist_ds.config import ClusterSpec, SearchSpace, TuneRequest, resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.search import search
from mist_ds.search.evaluate import Limits, resolve, screen_layouts
from mist_ds.search.plans import plan_from_candidate
from mist_ds.search.space import Layout

HW = load_hardware("h100-sxm-80gb")
GIB = 1024**3


def _request(model="llama-7b", gpus=4, batch=64, seq=4096, cap=None, space=SearchSpace()):
    return TuneRequest(model=resolve_model(model), cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus),
                       global_batch_size=batch, seq_len=seq, space=space,
                       gpu_memory_cap_bytes=None if cap is None else int(cap * GIB))


def test_same_request_same_plans():
    request = _request(cap=40)
    first, second = search(request, HW), search(request, HW)
    assert [plan_from_candidate(request, c).to_json() for c in first.ranked] == \
        [plan_from_candidate(request, c).to_json() for c in second.ranked]


def test_top_k_is_sorted_and_distinct():
    result = search(_request(), HW, top_k=6)
    times = [c.time_s for c in result.ranked]
    assert len(times) == 6
    # sorted up to the tie tolerance (near-ties go to the simpler plan)
    assert all(b >= a * (1 - 1e-6) for a, b in zip(times, times[1:]))
    assert len({(c.layout, c.partition.layers, c.partition.recompute) for c in result.ranked}) == 6


def test_tighter_cap_never_makes_it_faster():
    loose = search(_request(), HW, top_k=1).ranked[0].time_s
    tight = search(_request(cap=30), HW, top_k=1).ranked[0].time_s
    assert tight >= loose


def test_infeasible_gives_the_memory_floor():
    request = _request(model="llama-70b", gpus=1, batch=8,
                       space=SearchSpace(offload_weights=False, offload_gradients=False,
                                         offload_optimizer=False, offload_activations=False))
    result = search(request, HW)
    assert result.ranked == ()
    floor = result.floor
    assert floor.peak_bytes > HW.gpu_memory_bytes
    # 70B parameters: more than 16 bytes/param of model states on one GPU
    assert floor.peak_bytes > 16 * request.model.num_params
    assert floor.layout.num_stages == 1 and floor.layers == (80,)


def test_floor_is_the_minimum_over_layouts():
    request = _request(model="llama-13b", gpus=2, batch=8, cap=1)
    result = search(request, HW)
    assert result.ranked == () and result.floor.peak_bytes > GIB
    loose = _request(model="llama-13b", gpus=2, batch=8, cap=result.floor.peak_bytes / GIB * 1.001)
    winner = search(loose, HW, top_k=1).ranked[0]
    assert winner is not None


class _FakeModel:
    """Offloading a layer's activations costs 0.5, recomputing it 1.0; offloading halves what a
    kept layer holds; recomputing needs a 5-byte working set."""

    def evaluate(self, *, num_layers, num_recompute, offload_activations, **_):
        layers, recompute = np.asarray(num_layers, float), np.asarray(num_recompute, float)
        act = np.broadcast_to(np.asarray(offload_activations, float), layers.shape)
        kept = layers - recompute
        stable = layers + 1.0 * recompute + 0.5 * act * kept
        peak = 10.0 * kept * (1 - 0.5 * act) + 5.0 * (recompute > 0)
        zeros = np.zeros_like(layers)
        return SimpleNamespace(stable_time_s=stable, delta_time_s=zeros + 1.0, peak_memory_bytes=peak,
                               cpu_memory_bytes=zeros)


def test_resolve_picks_the_fastest_fitting_recompute_with_offload():
    adapter = SimpleNamespace(model=_FakeModel(), p2p_s=lambda layout: 0.0)
    layout = Layout(1, 1, 1, 1, 1, 0)
    limits = Limits(gpu_bytes=30.0, gpus_per_node=1, host_bytes=1.0)
    screens = screen_layouts(adapter, [layout], 8, limits, act_ratios=(0.0, 1.0))
    options = resolve(adapter, screens, limits, "tune", (0.0, 1.0))[0]
    row = np.flatnonzero(options.layers == 8)
    got = {(float(options.act_offload[r]), int(options.recompute[r])) for r in row}
    # ao 0: 10 kept + 5 <= 30 -> kept <= 2 -> recompute 6 (fewest fitting), stable 14;
    # ao 1: 5 kept + 5 <= 30 -> recompute >= 3; stable 8 + r + 0.5 (8 - r) = 12 + 0.5 r: 13.5 at 3
    assert got == {(0.0, 6), (1.0, 3)}
    stable = {(float(options.act_offload[r]), int(options.recompute[r])): float(options.stable[r]) for r in row}
    assert stable == {(0.0, 6): 14.0, (1.0, 3): 13.5}
