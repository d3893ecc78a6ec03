"""ZeRO-3's per-parameter-tensor host work (config/hardware.py zero3_param_overhead_s, cost/work.py
z3_param_passes): counted per tensor of each block pass, so a GPT block (biases, LayerNorm) costs twice
a Llama block's, and nothing without ZeRO-3."""

from __future__ import annotations

import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.shapes import block_tensors
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args

LAYERS, RECOMPUTE = 8, 4


def _fetch_host_s(preset: str, zero_stage: int, per_tensor_s: float) -> float:
    hw = load_hardware("h200").model_copy(update={"zero3_param_overhead_s": per_tensor_s,
                                                  "zero3_fetch_overhead_s": 0.0})
    model = StageCostModel(get_preset(preset), hw, 1024, gpus_per_node=2)
    args = stage_args(stage_index=1, num_stages=3, num_layers=LAYERS, micro_batch=1, dp=2, tp=1, grad_accum=2,
                      zero_stage=zero_stage, offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0,
                      num_recompute=RECOMPUTE, num_offloaded=0)
    return float(model.time_parts(args)["zero3_fetch_mb"])


@pytest.mark.parametrize("preset, tensors", [("gpt-1.3b", 12), ("llama-1.3b", 6)])
def test_every_tensor_of_every_block_pass_pays_once(preset, tensors):
    assert len(block_tensors(get_preset(preset))) == tensors
    # a middle pipeline stage: blocks only, forward + backward + the recomputed forwards
    assert _fetch_host_s(preset, 3, 1e-3) == pytest.approx((2 * LAYERS + RECOMPUTE) * tensors * 1e-3)
    assert _fetch_host_s(preset, 3, 0.0) == 0.0


def test_nothing_without_zero3():
    assert _fetch_host_s("gpt-1.3b", 1, 1e-3) == 0.0
