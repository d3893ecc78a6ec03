"""How the stock model prices gradient accumulation under ZeRO-0/1 (cost/work.py), against DeepSpeed 0.19.8's
code paths: ZeRO-1 reduces once per step (stage_1_and_2.py reduce_ready_partitions_and_remove_grads: only at the
accumulation boundary when it does not partition gradients; a pipeline after its last backward), autograd adds
each fresh gradient into .grad on every micro-batch but the step's first, and BF16_Optimizer (pipelined ZeRO-0)
zeroes .grad before every backward and adds it into its own buffer after. n: the stage's parameters."""

from __future__ import annotations

import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args

MODEL = StageCostModel(get_preset("gpt-1.3b"), load_hardware("h200"), 2048)


def terms(zero: int, grad_accum: int, stages: int = 1, dp: int = 1, offload: float = 0.0) -> dict[str, float]:
    args = stage_args(stage_index=0, num_stages=stages, num_layers=12, micro_batch=1, dp=dp, tp=1,
                      grad_accum=grad_accum, zero_stage=zero, offload_weights=0.0, offload_gradients=0.0,
                      offload_optimizer=offload, num_recompute=0, num_offloaded=0)
    return {name: float(value) for name, value in MODEL.terms(args).items()}


def copy_bytes_per_step(zero: int, grad_accum: int, stages: int = 1, dp: int = 1, offload: float = 0.0) -> float:
    t = terms(zero, grad_accum, stages, dp, offload)
    return grad_accum * t["mb_copy_bytes"] + t["step_copy_bytes"]


@pytest.mark.parametrize("stages", [1, 2])
def test_zero1_adds_into_grad_on_every_micro_batch_but_the_first_and_reduces_once(stages):
    n = terms(1, 1, stages)["gpu_adam_params"]  # dp 1: the whole stage
    for dp in (1, 2):
        one, four = (copy_bytes_per_step(1, g, stages, dp) for g in (1, 4))
        assert four - one == pytest.approx(3 * 6 * n)  # micro-batches 2-4: read 2 + 2, write 2
        t = terms(1, 4, stages, dp)
        assert t["dp_ar_mb_bytes"] == 0.0 and t["dp_ar_step_bytes"] == pytest.approx(2 * n)
    # one pass of bucket copies, divides and partition accumulation a step, as ZeRO-2 does every micro-batch:
    # without accumulation the two do the same passes
    assert copy_bytes_per_step(1, 1, stages, 2) == pytest.approx(copy_bytes_per_step(2, 1, stages, 2))


def test_zero1_with_its_optimizer_offloaded_still_adds_into_grad():
    n = terms(1, 1)["gpu_adam_params"]
    one, four = (copy_bytes_per_step(1, g, dp=2, offload=1.0) for g in (1, 4))
    assert four - one == pytest.approx(3 * 6 * n)


def test_zero2_reduces_every_micro_batch():
    """(ZeRO-2 with pipelines is refused by DeepSpeed, so one stage.)"""
    t = terms(2, 4, dp=2)
    assert t["dp_ar_mb_bytes"] > 0 and t["dp_ar_step_bytes"] == 0.0
    n = terms(1, 1)["gpu_adam_params"]
    assert t["mb_copy_bytes"] == pytest.approx(8 * n + 6 * n / 2)


def test_bf16_optimizer_zeroes_adds_and_accumulates_every_micro_batch():
    n = terms(1, 1, stages=2)["gpu_adam_params"]
    one, four = (copy_bytes_per_step(0, g, stages=2) for g in (1, 4))
    assert four - one == pytest.approx(3 * 14 * n)  # zero .grad 2, add into it 6, add into hp 6
    assert one - terms(0, 1, stages=2)["step_copy_bytes"] == pytest.approx(6 * n)  # the first: hp only


def test_zero0_without_a_pipeline_accumulates_in_grad():
    n = terms(1, 1)["gpu_adam_params"]
    one, four = (copy_bytes_per_step(0, g) for g in (1, 4))
    assert four - one == pytest.approx(3 * 6 * n)


def test_step_passes_per_optimizer_path():
    """Per step without accumulation: ZeRO-1/2's 42 bytes a partition element (its gradient norm in fp64:
    stage_1_and_2.py get_grad_norm_direct, zero/utils.py get_norm_dtype) + ZeRO-1's one pass of bucket
    copies; the DDP path's 28 + the bucket flatten and copy back (8); BF16_Optimizer's 28 (fp32 norm)."""
    n = terms(1, 1)["gpu_adam_params"]
    assert terms(2, 1, dp=2)["step_copy_bytes"] == pytest.approx(42 * n / 2)
    assert terms(1, 1, dp=2)["step_copy_bytes"] == pytest.approx(42 * n / 2 + 8 * n + 6 * n / 2)
    assert terms(0, 1)["step_copy_bytes"] == pytest.approx(36 * n)
    n = terms(1, 1, stages=2)["gpu_adam_params"]  # the first of two stages
    assert terms(0, 1, stages=2)["step_copy_bytes"] == pytest.approx(28 * n + 2 * n)  # + zero hp (clear_hp_grads)
