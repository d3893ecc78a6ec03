"""The search space: every enumerated layout becomes a valid plan that build_ds_config writes, the
switches shrink it, and the mesh predicates say what DeepSpeed says (the executor's own rules, both
directions: tests/config/test_executors.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mist_ds.config import ClusterSpec, SearchSpace, TuneRequest, resolve_model
from mist_ds.emit.ds_config import build_ds_config
from mist_ds.search import enumerate_layouts
from mist_ds.search import feasibility as ok
from mist_ds.search.driver import Candidate
from mist_ds.search.partition import Partition
from mist_ds.search.plans import plan_from_candidate
from mist_ds.search.space import layout_settings


def _request(space=SearchSpace(), model="llama-7b", nodes=2, gpus=4, batch=32):
    return TuneRequest(model=resolve_model(model), cluster=ClusterSpec(num_nodes=nodes, gpus_per_node=gpus),
                       global_batch_size=batch, seq_len=2048, space=space)


def _uniform_candidate(request, layout, act=0.0):
    num, layers = layout.num_stages, request.model.num_layers
    split = tuple(layers * (i + 1) // num - layers * i // num for i in range(num))
    offloaded = tuple(int(act * (n - min(1, n))) for n in split)
    part = Partition(1.0, split, tuple(min(1, n) for n in split), (1.0,) * num, (0.0,) * num, offloaded)
    return Candidate(layout, part, 1.0)


STOCK = SearchSpace(executors=("deepspeed",))


def test_every_layout_is_a_valid_plan_with_a_ds_config():
    request = _request(STOCK)
    layouts = enumerate_layouts(request)
    assert len(layouts) > 100
    assert {lay.num_stages for lay in layouts} == {1, 2, 4, 8}
    assert {lay.zero_stage for lay in layouts} == {0, 1, 2, 3}
    assert any(0 < lay.offload_optimizer < 1 for lay in layouts)
    for layout in layouts:
        plan = plan_from_candidate(request, _uniform_candidate(request, layout, act=0.5))  # validates
        config = build_ds_config(plan)
        assert config["train_micro_batch_size_per_gpu"] == layout.micro_batch


def test_layouts_respect_divisibility_and_node_boundaries():
    request = _request(STOCK, model="llama-70b", nodes=2, gpus=8, batch=24)
    for lay in enumerate_layouts(request):
        assert lay.num_stages * lay.dp * lay.tp == 16
        assert 8 % lay.tp == 0 and 64 % lay.tp == 0 and 8 % lay.tp == 0
        assert lay.micro_batch * lay.dp * lay.grad_accum == 24
        if lay.num_stages > 1:
            assert lay.zero_stage <= 1


@pytest.mark.parametrize("space, check", [
    (SearchSpace(pipeline=False), lambda lay: lay.num_stages == 1),
    (SearchSpace(max_pp=2), lambda lay: lay.num_stages <= 2),
    (SearchSpace(tensor_parallel=False), lambda lay: lay.tp == 1),
    (SearchSpace(max_tp=2), lambda lay: lay.tp <= 2),
    (SearchSpace(zero_stages=(1, 3)), lambda lay: lay.zero_stage in (1, 3)),
    (SearchSpace(offload_weights=False, offload_gradients=False, offload_optimizer=False,
                 offload_activations=False),
     lambda lay: lay.offload_weights == lay.offload_optimizer == lay.offload_gradients == 0),
    # stock DeepSpeed couples gradient and optimizer offload; mistpipe switches each kind
    (SearchSpace(offload_gradients=False),
     lambda lay: (lay.offload_optimizer if lay.executor == "deepspeed" else lay.offload_gradients) == 0),
    (SearchSpace(max_micro_batch=2), lambda lay: lay.micro_batch <= 2),
])
def test_switches_shrink_the_space(space, check):
    full = enumerate_layouts(_request())
    small = enumerate_layouts(_request(space))
    assert small and len(small) <= len(full)
    # a per-stage-memory layout (mistpipe) is every setting its stages may pick
    effective = [replace(lay, zero_stage=z, offload_weights=w, offload_gradients=g, offload_optimizer=o)
                 for lay in small for z, w, g, o in layout_settings(_request(space), lay)]
    assert sum(map(len, (layout_settings(_request(space), lay) for lay in small))) < \
        sum(map(len, (layout_settings(_request(), lay) for lay in full)))
    assert all(check(lay) for lay in effective)
    assert set(small) <= set(full)


def test_mesh_predicates_follow_deepspeed():
    model = resolve_model("llama-70b")  # 64 heads, 8 kv heads
    assert ok.tp_divides_heads(model, 8) and not ok.tp_divides_heads(model, 16)
    assert ok.tp_within_node(ClusterSpec(num_nodes=2, gpus_per_node=4), 4)
    assert not ok.tp_within_node(ClusterSpec(num_nodes=2, gpus_per_node=4), 8)
    assert not ok.batch_divides(24, 4, 4) and ok.batch_divides(24, 3, 4)


BOTH = SearchSpace(executors=("deepspeed", "mistpipe"))


def test_both_executors_are_the_default_and_the_stock_only_space_is_stock_only():
    assert {lay.executor for lay in enumerate_layouts(_request(nodes=1, gpus=2))} == {"deepspeed", "mistpipe"}
    assert {lay.executor for lay in enumerate_layouts(_request(STOCK, nodes=1, gpus=2))} == {"deepspeed"}
    # mistpipe trains in bf16 only: an fp16 request searches stock DeepSpeed alone
    fp16 = _request(nodes=1, gpus=2).model_copy(update={"dtype": "fp16"})
    assert {lay.executor for lay in enumerate_layouts(fp16)} == {"deepspeed"}


def test_mistpipe_layouts_leave_memory_to_the_stages():
    request = _request(BOTH, nodes=1, gpus=2)
    layouts = enumerate_layouts(request)
    stock = [lay for lay in layouts if lay.executor == "deepspeed"]
    mist = [lay for lay in layouts if lay.executor == "mistpipe"]
    meshes = {(lay.num_stages, lay.tp, lay.dp, lay.micro_batch, lay.grad_accum) for lay in stock}
    assert {(lay.num_stages, lay.tp, lay.dp, lay.micro_batch, lay.grad_accum) for lay in mist} == meshes
    assert all(lay.zero_stage == 0 and lay.offload_optimizer == 0 and lay.per_stage_memory for lay in mist)
    for lay in mist:
        settings = layout_settings(request, lay)
        # one data-parallel rank: only ZeRO-0 (ZeRO-1/2 run its code there, ZeRO-3 only adds slots)
        assert {z for z, *_ in settings} == ({0} if lay.dp == 1 else {0, 1, 3})
        assert len(settings) == (45 if lay.dp == 1 else 135)
    assert "mistpipe" in mist[0].describe() and "memory per stage" in mist[0].short()
    assert all(lay.executor == "deepspeed" for lay in enumerate_layouts(request, ("deepspeed",)))


def test_fp16_requests_search_only_stock_deepspeed():
    request = _request(BOTH, nodes=1, gpus=2).model_copy(update={"dtype": "fp16"})
    assert {lay.executor for lay in enumerate_layouts(request)} == {"deepspeed"}


def test_a_candidate_with_per_stage_settings_becomes_a_mistpipe_plan():
    request = _request(BOTH, nodes=1, gpus=2)
    layout = next(lay for lay in enumerate_layouts(request) if lay.executor == "mistpipe" and lay.num_stages == 2)
    part = Partition(1.0, (20, 12), (4, 0), (1.0, 1.0), (0.0, 0.0), (2, 0),
                     memory=((0, 0.5, 0.0, 0.75), (0, 0.0, 0.5, 0.25)))
    plan = plan_from_candidate(request, Candidate(layout, part, 1.0))
    assert plan.executor == "mistpipe" and plan.stages[0].memory is None  # the plan's memory is stage 0's
    assert plan.stage_memory(0).offload_weights_ratio == 0.5 and plan.stage_memory(0).offload_optimizer_ratio == 0.75
    assert plan.stage_memory(1).offload_gradients_ratio == 0.5 and plan.stage_memory(1).offload_optimizer_ratio == 0.25
    assert plan.stages[0].num_offloaded_layers == 2
    assert build_ds_config(plan)["mistpipe"]["stages"][1]["offload_gradients_ratio"] == 0.5
    same = Partition(1.0, (20, 12), (4, 0), (1.0, 1.0), (0.0, 0.0), (0, 0), memory=((0, 0.0, 0.0, 0.5),) * 2)
    plan = plan_from_candidate(request, Candidate(layout, same, 1.0))
    assert all(s.memory is None for s in plan.stages) and plan.memory.offload_optimizer_ratio == 0.5
