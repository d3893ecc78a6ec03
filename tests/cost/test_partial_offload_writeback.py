"""ZeRO-3 offload_param with all or part of the optimizer on the GPU: the GPU sub-groups' blocking fp32 -> 16-bit
CPU write-back (cost/work.py pageable_d2h_bytes, step_serial; bench/accuracy/WEIGHT_OFFLOAD.md), as DeepSpeed writes
it back ('host', config/writeback.py); the runtime's 'device' way: tests/cost/test_writeback.py."""

from __future__ import annotations

import numpy as np
import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions
from mist_ds.cost.rates import Rates
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args
from mist_ds.cost.stage_time import time_fields

HW = load_hardware("h200")


def _parts(weights: float, ratio: float):
    model = StageCostModel(get_preset("llama-7b"), HW, 4096, gpus_per_node=2,
                           conditions=RunConditions(writeback_cast="host"))
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
        float(rates.d2h_s(t["opt_d2h_bytes"])) + float(rates.pageable_d2h_s(4 * gpu_share)))
    for weights, ratio in ((0.0, 0.5), (1.0, 1.0)):   # weights on the GPU, or no GPU sub-group
        assert float(_parts(weights, ratio)[0]["pageable_d2h_bytes"]) == 0.0


def test_without_offload_optimizer_the_whole_partition_is_written_back():
    # offload_param alone puts the 16-bit partition on the CPU and every fp32 master on the GPU (stage3.py
    # _create_fp32_partitions): every element crosses; before session 42 none was charged
    t, _ = _parts(1.0, 0.0)
    assert float(t["cpu_adam_params"]) == 0.0
    assert float(t["pageable_d2h_bytes"]) == pytest.approx(4 * float(t["gpu_adam_params"]))


def test_the_write_back_uses_its_own_rate_and_falls_back_to_the_mirror_copy():
    rates = Rates(HW, gpus_per_node=2)
    nbytes = 4e9
    assert float(rates.pageable_d2h_s(nbytes)) == pytest.approx(
        HW.pcie_latency_s + nbytes / (HW.pageable_d2h_bandwidth_gbps * 1e9))
    uncalibrated = Rates(HW.model_copy(update={"pageable_d2h_bandwidth_gbps": None}), gpus_per_node=2)
    assert float(uncalibrated.pageable_d2h_s(nbytes)) == float(uncalibrated.pageable_h2d_s(nbytes))


def test_under_weight_offload_the_gpu_and_cpu_parts_of_the_step_add_up():
    # each GPU sub-group's write-back blocks the host thread, so the step loop runs GPU and CPU sub-groups one
    # after another (stage3.py step); with the weights on the GPU they overlap (Twin-Flow: the larger of the two)
    t, p = _parts(1.0, 0.5)
    assert bool(p["step_serial"]) and not bool(_parts(0.0, 0.5)[1]["step_serial"])
    gpu, cpu = float(p["gpu_adam"] + p["step_copies"]), float(p["cpu_adam"] + p["step_transfers"])
    assert gpu > 0 and cpu > 0
    serial = time_fields(p, 2)
    overlapped = time_fields({**p, "step_serial": np.zeros_like(p["step_serial"])}, 2)
    assert float(serial["delta_time_s"] - overlapped["delta_time_s"]) == pytest.approx(min(gpu, cpu))
    # the breakdown keeps the sum: the GPU part joins the optimizer time, the transfers the offload time
    assert float(serial["optimizer_s"]) == pytest.approx(gpu + float(p["cpu_adam"]))


def test_the_write_back_makes_the_partial_plan_slower_than_without_it():
    # the step's CPU side grows by the copy: the GPU share's write-back outweighs the CPU Adam it saves
    # only when the copy is slower per element than CPU Adam (true at h200's calibrated rates)
    full, half = _parts(1.0, 1.0)[1], _parts(1.0, 0.5)[1]
    assert float(half["cpu_adam"]) < float(full["cpu_adam"])
    assert float(half["cpu_adam"] + half["step_transfers"]) > float(full["cpu_adam"] + full["step_transfers"])
