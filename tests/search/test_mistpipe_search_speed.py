"""The search's pruning of rows no plan can use returns what the unpruned search returns: one-stage
layouts cost only their all-layers row (evaluate.py stage_layer_rows), on both executors, with
recompute tuning and activation offload, where memory binds and where nothing fits."""

from __future__ import annotations

import numpy as np
import pytest

import mist_ds.search.evaluate as evaluate
from mist_ds.config import ClusterSpec, SearchSpace, TuneRequest, resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.search import search

HW = load_hardware("h100-sxm-80gb")
BOTH = ("deepspeed", "mistpipe")


def _full_span(num_stages: int, num_layers: int):
    """The rows before the pruning: every layer count up to num_layers - num_stages + 1."""
    span = num_layers - num_stages + 1
    return np.repeat(np.arange(num_stages), span), np.tile(np.arange(1, span + 1), num_stages)


def _request(model: str, gpus: int, batch: int, cap_gib: float, **space) -> TuneRequest:
    return TuneRequest(model=resolve_model(model), cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus),
                       global_batch_size=batch, seq_len=2048, space=SearchSpace(executors=BOTH, **space),
                       gpu_memory_cap_bytes=int(cap_gib * GIB))


def test_one_stage_rows_are_the_all_layers_row():
    stage, layers = evaluate.stage_layer_rows(1, 12)
    assert stage.tolist() == [0] and layers.tolist() == [12]
    stage, layers = evaluate.stage_layer_rows(3, 12)  # pipelines keep every count a stage can hold
    assert (stage.tolist(), layers.tolist()) == tuple(a.tolist() for a in _full_span(3, 12))


@pytest.mark.parametrize("model, gpus, batch, cap_gib, space", [
    ("gpt-125m", 2, 16, 2.0, {}),                        # memory binds: mistpipe settings win
    ("gpt-125m", 2, 16, 80.0, {"pipeline": False}),      # one stage only
    ("llama-1.3b", 4, 8, 12.0, {}),                      # recompute and activation offload needed
    ("llama-1.3b", 2, 8, 0.5, {}),                       # nothing fits: the memory floor
])
def test_pruned_search_returns_the_unpruned_optimum(monkeypatch, model, gpus, batch, cap_gib, space):
    request = _request(model, gpus, batch, cap_gib, **space)
    pruned = search(request, HW, top_k=5)
    evaluate.stage_layer_rows.cache_clear()
    monkeypatch.setattr(evaluate, "stage_layer_rows", _full_span)
    full = search(request, HW, top_k=5)
    assert [(c.layout, c.partition) for c in pruned.ranked] == [(c.layout, c.partition) for c in full.ranked]
    assert pruned.floor == full.floor
    if cap_gib == 0.5:
        assert not full.ranked and full.floor is not None
    else:
        assert full.ranked
