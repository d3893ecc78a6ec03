"""ZeRO-3 offload_param + a partial optimizer offload: the GPU sub-groups' blocking fp32 -> 16-bit
CPU write-back (cost/work.py pageable_d2h_bytes; bench/accuracy/WEIGHT_OFFLOAD.md)."""

from __future__ import annotations

import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.rates import Rates
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args

HW = load_hardware("h200")


def _parts(weights: float, ratio: float):
    model = StageCostModel(get_preset("llama-7b"), HW, 4096, gpus_per_node=2)
    args = stage_args(stage_index=0, num_stages=1, num_layers=32, micro_batch=1, dp=2, tp=1, grad_accum=2,
                      zero_stage=3, offload_weights=weights, offload_gradients=ratio, offload_optimizer=ratio,
                      num_recompute=32, num_offloaded=0)
    return model.terms(args), model.time_parts(args)


def test_gpu_share_is_written_back_as_fp32_only_under_weight_offload():
    t, p = _parts(1.0, 0.5)
    gpu_share = float(t["gpu_adam_params"])
    assert gpu_share > 1e9
    assert float(t["pageable_d2h_bytes"]) == pytest.approx(4 * gpu_share)
    rates = Rates(HW, gpus_per_node=2)
    assert float(p["step_transfers"]) == pytest.approx(
        float(rates.d2h_s(t["opt_d2h_bytes"])) + float(rates.pageable_h2d_s(4 * gpu_share)))
    for weights, ratio in ((0.0, 0.5), (1.0, 1.0)):   # weights on the GPU, or no GPU sub-group
        assert float(_parts(weights, ratio)[0]["pageable_d2h_bytes"]) == 0.0


def test_the_write_back_makes_the_partial_plan_slower_than_without_it():
    # the step's CPU side grows by the copy: the GPU share's write-back outweighs the CPU Adam it saves
    # only when the copy is slower per element than CPU Adam (true at h200's calibrated rates)
    full, half = _parts(1.0, 1.0)[1], _parts(1.0, 0.5)[1]
    assert float(half["cpu_adam"]) < float(full["cpu_adam"])
    assert float(half["cpu_adam"] + half["step_transfers"]) > float(full["cpu_adam"] + full["step_transfers"])
