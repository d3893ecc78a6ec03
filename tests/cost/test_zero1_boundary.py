"""ZeRO-1's boundary backward (cost/memory.py boundary_partition, first_reduction_freed; cost/stage.py
phase_parts): when ZeRO-1 accumulates, the last micro-batch's backward allocates the 16-bit gradient
partition at its first bucket reduction (stage_1_and_2.py copy_grads_in_partition) while the gradients
not yet reduced are still whole. The 1-GPU and 2-GPU ZeRO-1 runs it explains: bench/results/accuracy.md
(-2.8 .. -6.0% allocated before, +0.8 .. +1.1% after). ZeRO-2 accumulating allocates a fresh partition at
the same point of every later backward, beside its accumulator partition (session 72: its 1-GPU runs'
allocated peaks +2.1 .. +4.4% over before, -0.1 .. +1.0% after)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from bench.accuracy.schema import Knobs, to_plan
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.activations import head_saved_bytes
from mist_ds.cost.shapes import layer_shapes
from mist_ds.cost.stage import StageCostModel, phase_parts
from mist_ds.cost.stage_args import plan_stage_args
from mist_ds.cost.symbols import b

BUCKET = STOCK_DEEPSPEED.constants.reduce_bucket_elements
LLAMA7B_Z1 = Knobs(model="llama-7b", num_gpus=2, dp=2, cap_gib=78, seq_len=4096, global_batch=16, micro_batch=1,
                   zero=1)   # the parity runs' plan: grad accumulation 8
GPT13B_Z1 = Knobs(model="gpt-1.3b", num_gpus=1, cap_gib=40, seq_len=2048, global_batch=8, micro_batch=2, zero=1)


def terms(knobs: Knobs) -> dict[str, float]:
    plan = to_plan(knobs)
    model = StageCostModel(plan.model, load_hardware("h200"), plan.seq_len, plan.dtype)
    return {k: float(np.asarray(v).ravel()[0]) for k, v in model.terms(plan_stage_args(plan, 0)).items()}


def test_the_partition_arrives_beside_the_accumulated_gradients_less_the_first_bucket():
    t = terms(LLAMA7B_Z1)
    assert t["boundary_partition"] == pytest.approx(2 * t["params"] / 2 - 2 * BUCKET)
    fb, _, _ = phase_parts(t, zero_init=False)
    assert fb["gradients"] == pytest.approx(t["accumulated_gradients"] + t["boundary_partition"])


def test_what_the_first_bucket_frees_follows_the_backward_order():
    # llama-7b's untied head (131M elements) fills most of the bucket: no block finishes before it
    # is reduced, only the head's saved inputs are gone; gpt-1.3b's tied embedding gets its gradient
    # last, so 3 of its 50M-element blocks run their backward first
    plan = to_plan(LLAMA7B_Z1)
    head_saved = head_saved_bytes(plan.model, plan.seq_len).subs(b, 1)
    assert terms(LLAMA7B_Z1)["first_reduction_freed"] == pytest.approx(float(head_saved))
    gpt = to_plan(GPT13B_Z1).model
    shapes = layer_shapes(gpt)
    blocks = math.floor(BUCKET / (shapes.sharded_params + shapes.replicated_params))
    t = terms(GPT13B_Z1)
    assert blocks == 3
    assert t["first_reduction_freed"] == pytest.approx(
        3 * t["layer_saved"] + float(head_saved_bytes(gpt, 2048).subs(b, 2)))


@pytest.mark.parametrize("change", [dict(global_batch=2), dict(zero=2, global_batch=2), dict(offload_optimizer=1.0),
                                    dict(zero=2, offload_optimizer=1.0), dict(pp=2, dp=1), dict(zero=0)],
                         ids=["no-accumulation", "zero2-no-accumulation", "offload", "zero2-offload", "pipeline",
                              "zero0"])
def test_only_accumulating_zero12_stages_with_the_optimizer_on_the_gpu_have_the_boundary(change):
    assert terms(dataclasses.replace(LLAMA7B_Z1, **change))["boundary_partition"] == 0.0


def test_an_accumulating_zero2_backward_adds_a_fresh_partition_beside_its_accumulator_at_the_first_reduction():
    t = terms(dataclasses.replace(LLAMA7B_Z1, zero=2))
    partition = 2 * t["params"] / 2
    assert t["boundary_partition"] == pytest.approx(partition)
    assert t["accumulated_gradients"] == 0.0 and t["gradients"] == pytest.approx(partition)
    assert t["passing_buckets"] < partition           # not charged from the start of the backward any more
    fb, _, _ = phase_parts({**t, "first_reduction_freed": 0.0}, zero_init=False)
    assert fb["gradients"] == pytest.approx(2 * partition)


def test_the_boundary_sets_the_peak_only_where_it_exceeds_the_start_of_the_backward():
    t = terms(LLAMA7B_Z1)
    fb, _, _ = phase_parts(t, zero_init=False)
    small = {**t, "boundary_partition": 1.0}   # a partition smaller than the logits it outlives
    start, _, _ = phase_parts(small, zero_init=False)
    assert sum(fb.values()) > sum(start.values())
    assert start["gradients"] == max(t["gradients"], t["accumulated_gradients"])
    assert start["activations"] == t["activations"]
