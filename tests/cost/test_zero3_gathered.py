"""ZeRO-3's gathered parameters at the turn from forward to backward (cost/memory.py 'gathered',
gathered_elements): what DeepSpeed's reuse rule (partitioned_param_coordinator.py __params_to_release)
keeps, what its prefetcher keeps up to stage3_max_live_parameters, and none at dp 1 without parameter
offload (partition_parameters.py NoGatherHandle: the partition is the parameter). DeepSpeed's own
coordinator against gathered_elements: tests/runtime/test_zero3_gathered_cpu.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.accuracy.schema import Knobs, to_plan
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.memory import gathered_elements, reuse_set_elements, zero3_reuse_set
from mist_ds.cost.reserved import stage_num_params
from mist_ds.cost.shapes import layer_shapes
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import plan_stage_args
from mist_ds.cost.symbols import numeric

DS = STOCK_DEEPSPEED.constants
LLAMA7B_Z3 = Knobs(model="llama-7b", num_gpus=2, dp=2, cap_gib=78, seq_len=4096, global_batch=32,
                   micro_batch=2, zero=3, recompute=(32,))


def gathered(knobs: Knobs, **plan_fields) -> float:
    plan = to_plan(knobs).model_copy(update=plan_fields)
    model = StageCostModel(plan.model, load_hardware("h200"), plan.seq_len, plan.dtype)
    return float(np.asarray(model.terms(plan_stage_args(plan, 0))["gathered"]).ravel()[0])


def test_llama_7b_reuse_rule_keeps_its_last_two_blocks_and_the_head():
    # a block's reuse (its backward) lies 2 x (blocks after it) + 2 x head elements of fetches ahead:
    # block 31 at 2 x 131M, block 30 at 2 x 202M + 2 x 131M = 667M, block 29 at 1.07G, past the
    # default 1e9 stage3_max_reuse_distance, so blocks 30 and 31 stay gathered beside the head in use;
    # the reuse set counts the prefetch bucket in flight, which a binding max_live stops
    plan = to_plan(LLAMA7B_Z3)
    model, shapes = plan.model, layer_shapes(plan.model)
    block, head = shapes.sharded_params + shapes.replicated_params, model.vocab_size * model.hidden_size
    assert 2 * block + 2 * head < DS.stage3_max_reuse_distance < 2 * 2 * block + 2 * head
    ends, params = head + model.norm_params, stage_num_params(model, plan, 0)
    kept = 2 * block + ends
    assert numeric(reuse_set_elements(block, model.num_layers, ends)) == kept + DS.stage3_prefetch_elements
    assert numeric(gathered_elements(block, model.num_layers, ends, params, max_live=0)) == kept
    assert zero3_reuse_set(model, 1, model.num_layers) == kept + DS.stage3_prefetch_elements


def test_bounding_max_live_to_the_reuse_set_keeps_only_the_reuse_set_gathered():
    plan = to_plan(LLAMA7B_Z3)
    bounded = gathered(LLAMA7B_Z3, zero3_max_live="reuse_set")
    assert bounded == 2 * zero3_reuse_set(plan.model, plan.tp, plan.model.num_layers)
    assert gathered(LLAMA7B_Z3) - bounded == pytest.approx(2 * (1e9 - 585_842_816), rel=1e-9)   # 0.77 GiB


def test_llama_7b_prefetcher_keeps_max_live_parameters_gathered():
    # the reuse set (585M elements) is below stage3_max_live_parameters (1e9), which the prefetcher fills
    assert gathered(LLAMA7B_Z3) == pytest.approx(2 * DS.stage3_max_live_parameters, rel=1e-9)


def test_a_model_within_the_reuse_distance_stays_gathered_whole():
    knobs = dataclasses.replace(LLAMA7B_Z3, model="gpt-350m", seq_len=2048, recompute=(0,))
    plan = to_plan(knobs)
    assert 2 * stage_num_params(plan.model, plan, 0) < DS.stage3_max_reuse_distance
    assert gathered(knobs) == pytest.approx(2 * stage_num_params(plan.model, plan, 0), rel=1e-9)


def test_one_rank_gathers_nothing_unless_its_parameters_are_offloaded():
    one = dataclasses.replace(LLAMA7B_Z3, num_gpus=1, dp=1, global_batch=16)
    assert gathered(one) == 0.0
    offloaded = dataclasses.replace(one, offload_weights=1.0, offload_optimizer=1.0)
    assert gathered(offloaded) == pytest.approx(gathered(LLAMA7B_Z3), rel=1e-9)


def test_other_zero_stages_gather_nothing():
    assert gathered(dataclasses.replace(LLAMA7B_Z3, zero=2)) == 0.0
