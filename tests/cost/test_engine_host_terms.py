"""The stock engine's host terms by ZeRO stage (sessions 70, 72): the per-tensor walk of the ZeRO-0 step and of
ZeRO-1/2's with the optimizer on the GPU (host_step_tensor_overhead_s, cost/stage_time.py step_walks_tensors) and
ZeRO-3's own per-micro-batch term (zero3_microbatch_overhead_s, falling back to host_microbatch_overhead_s when
unset)."""

from __future__ import annotations

import pytest

from bench.accuracy.schema import Knobs, to_plan
from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.plan_predict import predict_plan
from mist_ds.cost.shapes import stage_tensor_count

BASE = load_hardware("h200-1gpu-node").model_copy(update={"host_step_tensor_overhead_s": 0.0,
                                                          "zero3_microbatch_overhead_s": None})


def _plan(model: str, zero: int, offload_optimizer: float = 0.0):
    return to_plan(Knobs(model=model, num_gpus=1, cap_gib=None, seq_len=2048, global_batch=8, micro_batch=2,
                         zero=zero, offload_optimizer=offload_optimizer))


def _step(plan, **update) -> float:
    return predict_plan(plan, BASE.model_copy(update=update)).stages[0].step_s


@pytest.mark.parametrize("zero", [0, 1, 2])
def test_a_step_with_the_optimizer_on_the_gpu_pays_the_per_tensor_term_for_every_parameter_tensor(zero):
    for name, per_block in (("llama-1.3b", 6), ("gpt-1.3b", 12)):   # GPT blocks: biases and LayerNorms
        spec = get_preset(name)
        tensors = stage_tensor_count(spec, spec.num_layers, 1, float(not spec.tie_embeddings), 1)
        assert tensors > spec.num_layers * per_block
        plan = _plan(name, zero)
        added = _step(plan, host_step_tensor_overhead_s=1e-4) - _step(plan)
        assert added == pytest.approx(tensors * 1e-4, rel=1e-9)


@pytest.mark.parametrize("zero, offload_optimizer", [(1, 1.0), (2, 1.0), (3, 0.0), (3, 1.0)])
def test_zero3_and_offloaded_zero12_steps_do_not_walk_the_tensors(zero, offload_optimizer):
    plan = _plan("llama-1.3b", zero, offload_optimizer)
    assert _step(plan, host_step_tensor_overhead_s=1e-4) == pytest.approx(_step(plan), rel=1e-12)


def test_zero3_stages_take_their_own_micro_batch_term_and_the_shared_one_when_unset():
    def time(zero: int, **update) -> float:
        return predict_plan(_plan("llama-1.3b", zero), BASE.model_copy(update=update)).iteration_time_s

    for zero in (0, 3):   # unset: the same as the shared term
        assert time(zero, zero3_microbatch_overhead_s=BASE.host_microbatch_overhead_s) == pytest.approx(time(zero))
    assert time(3, zero3_microbatch_overhead_s=1.0) > time(3) + 1.0      # 4 micro-batches of it, on the host path
    assert time(0, zero3_microbatch_overhead_s=1.0) == pytest.approx(time(0))
