"""ZeRO-3's first bucket reduction as a peak phase (cost/memory.py 'z3_reduction', cost/stage.py
phase_parts): the reduce-scatter's flat copy of a bucket and, with the optimizer offloaded, the first
bucket's largest gradient partition on the GPU beside its fp64 norm copy (stage3.py partition_grads,
_offload_grad_partition_at_boundary), with the blocks whose backward filled the bucket freed."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from bench.accuracy.schema import Knobs, to_plan
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.memory import NORM_CHUNK_ELEMENTS
from mist_ds.cost.shapes import block_largest_matrix
from mist_ds.cost.stage import StageCostModel, phase_parts
from mist_ds.cost.stage_args import plan_stage_args

BUCKET = 2 * STOCK_DEEPSPEED.constants.reduce_bucket_elements
L27_W1 = Knobs(model="llama-2.7b", num_gpus=1, cap_gib=24, seq_len=2048, global_batch=8, micro_batch=2, zero=3,
               offload_weights=1.0, offload_optimizer=1.0)


def terms(knobs: Knobs) -> dict[str, float]:
    plan = to_plan(knobs)
    model = StageCostModel(plan.model, load_hardware("h200"), plan.seq_len, plan.dtype)
    return {k: float(np.ravel(v)[0]) for k, v in model.terms(plan_stage_args(plan, 0)).items()}


def test_offloaded_optimizer_adds_the_untied_heads_partition_and_its_fp64_copy():
    # llama-2.7b's head, 32000 x 2560 = 81.9M elements, is the first bucket's largest tensor
    head = 32000 * 2560
    assert terms(L27_W1)["z3_reduction"] == BUCKET + (2 + 8) * head


def test_a_tied_model_reduces_a_blocks_largest_matrix_first():
    knobs = dataclasses.replace(L27_W1, model="gpt-1.3b")
    largest = block_largest_matrix(to_plan(knobs).model)
    assert largest == 4 * 2048 * 2048
    assert terms(knobs)["z3_reduction"] == BUCKET + (2 + 8) * largest


def test_the_norm_copy_is_one_chunk_and_data_parallelism_divides_the_partition():
    two = dataclasses.replace(L27_W1, num_gpus=2, dp=2, global_batch=16)
    assert terms(two)["z3_reduction"] == BUCKET + (2 + 8) * 32000 * 2560 / 2
    stage3 = pytest.importorskip("deepspeed.runtime.zero.stage3")
    norm2 = inspect.signature(stage3.DeepSpeedZeroOptimizer_Stage3._constant_buffered_norm2)
    assert NORM_CHUNK_ELEMENTS == norm2.parameters["buffer_size"].default   # the installed DeepSpeed's


def test_without_offload_only_the_flat_copy_and_without_zero3_nothing():
    assert terms(dataclasses.replace(L27_W1, offload_weights=0.0, offload_optimizer=0.0))["z3_reduction"] == BUCKET
    assert terms(dataclasses.replace(L27_W1, zero=2, offload_weights=0.0))["z3_reduction"] == 0.0


def test_llama_2_7b_weight_offload_peaks_at_its_first_reduction():
    # S18-5 (bench/results/runtime/zero3_offload_peak_S18/): 31 of 32 blocks' activations, the flat copy,
    # the head's partition and its fp64 copy live at the allocated peak, past the start of the backward
    t = terms(L27_W1)
    fb, _, _ = phase_parts({k: np.asarray(v) for k, v in t.items()}, True)
    start = t["weights"] + t["optimizer"] + t["gradients"] + t["activations"] + t["buckets"] + t["gathered"] + max(
        t["logits"], t["passing_buckets"])
    peak = sum(float(v) for v in fb.values())
    assert peak > start
    assert peak == pytest.approx(start - max(t["logits"], t["passing_buckets"]) - t["first_reduction_freed"]
                                 + t["z3_reduction"], rel=1e-12)
