"""Search driver: determinism, top-k order, the memory floor of infeasible requests, and the
enumerated recompute path (with activation offload) on a synthetic cost model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mist_ds.api import tune
from mist_ds.config import ClusterSpec, SearchSpace, TuneRequest, resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.search import search
from mist_ds.search.evaluate import Limits, resolve, screen_layouts
from mist_ds.search.plans import plan_from_candidate
from mist_ds.search.space import Layout

HW = load_hardware("h100-sxm-80gb")


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
    # the floor is the least memory any plan needs: just above it a plan fits (and the winner is
    # within the cap), just below it none does (were any plan smaller, it would fit there)
    request = _request(model="llama-13b", gpus=2, batch=8, cap=1)
    result = search(request, HW)
    assert result.ranked == () and result.floor.peak_bytes > GIB
    floor_gib = result.floor.peak_bytes / GIB
    above = search(_request(model="llama-13b", gpus=2, batch=8, cap=floor_gib * 1.001), HW, top_k=1)
    assert len(above.ranked) == 1
    plan = tune(_request(model="llama-13b", gpus=2, batch=8, cap=floor_gib * 1.001), HW, top_k=1,
                memory_margin_ratio=0.0).plans[0]
    assert max(s.peak_memory_bytes for s in plan.prediction.stages) <= floor_gib * 1.001 * GIB
    below = search(_request(model="llama-13b", gpus=2, batch=8, cap=floor_gib * 0.999), HW, top_k=1)
    assert below.ranked == () and below.floor.peak_bytes == pytest.approx(result.floor.peak_bytes)


class _FakeModel:
    """Offloading a layer's activations costs 0.5, recomputing it 1.0; offloading halves what a
    kept layer holds; recomputing needs a 5-byte working set."""

    def evaluate(self, args):
        layers, recompute = np.asarray(args.num_layers, float), np.asarray(args.num_recompute, float)
        offloaded = np.broadcast_to(np.asarray(args.num_offloaded, float), layers.shape)
        stable = layers + 1.0 * recompute + 0.5 * offloaded
        peak = 10.0 * (layers - recompute) - 5.0 * offloaded + 5.0 * (recompute > 0)
        zeros = np.zeros_like(layers)
        return SimpleNamespace(stable_time_s=stable, delta_time_s=zeros + 1.0, peak_memory_bytes=peak,
                               cpu_memory_bytes=zeros)

    def memory(self, args):
        cost = self.evaluate(args)
        return cost.peak_memory_bytes, cost.cpu_memory_bytes


def test_resolve_picks_the_fastest_fitting_recompute_with_offload():
    adapter = SimpleNamespace(model=_FakeModel(), p2p_s=lambda layout: 0.0, request=None)
    layout = Layout(1, 1, 1, 1, 1, 0)
    limits = Limits(gpu_bytes=30.0, gpus_per_node=1, host_bytes=1.0)
    screens = screen_layouts(adapter, [layout], 8, limits, act_fractions=(0.0, 1.0))
    options = resolve(adapter, screens, limits, "tune", (0.0, 1.0))[0]
    row = np.flatnonzero(options.layers == 8)
    got = {(int(options.offloaded[r]), int(options.recompute[r])) for r in row}
    # no offload: 10 kept + 5 <= 30 -> kept <= 2 -> recompute 6 (fewest fitting), stable 14;
    # fraction 1 (all 8 - r kept layers offloaded at half size): 5 (8 - r) + 5 <= 30 -> r >= 3;
    # stable 8 + r + 0.5 (8 - r) = 12 + 0.5 r: 13.5 at r = 3, with 5 layers offloaded
    assert got == {(0, 6), (5, 3)}
    stable = {(int(options.offloaded[r]), int(options.recompute[r])): float(options.stable[r]) for r in row}
    assert stable == {(0, 6): 14.0, (5, 3): 13.5}
