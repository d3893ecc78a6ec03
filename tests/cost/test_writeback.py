"""cost/writeback.py: ZeRO-3's cross-device write-back priced the way it runs (config/writeback.py). Under
offload_param the 'device' way moves 2 bytes an element at the pinned rate instead of 4 at the pageable rate, keeps
no pageable temporary on the host and one 16-bit chunk on the GPU; CPU masters over GPU partitions go at the probed
staged rate through two pinned chunks; plans that write nothing back across devices do not move."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mist_ds.config import Plan
from mist_ds.config.profiles import load_hardware
from mist_ds.config.writeback import WRITEBACK_CHUNK_ELEMENTS
from mist_ds.cost import RunConditions
from mist_ds.cost.memory import ELEM
from mist_ds.cost.plan_predict import predict_plan
from mist_ds.cost.rates import Rates
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import plan_stage_args
from mist_ds.cost.writeback import STAGING_BYTES, with_writeback_cast

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"
GPU_OPTIMIZER = "h100-l321b-1g-c78-s4096-b16-z3-w1-mb4"      # every weight offloaded, optimizer on the GPU
HALF_OPTIMIZER = "h100-l321b-1g-c78-s4096-b16-z3-w1-off05-mb4"
NO_WRITEBACK = "h100-l321b-1g-c78-s4096-b16-z3-w1-off1-mb4"   # every fp32 master on the CPU


def plan_of(name: str) -> Plan:
    return Plan.load_checked(ACCURACY / f"{name}.plan.json", "plan").without_prediction()


def stage_terms(name: str, way: str) -> tuple[dict, StageCostModel]:
    plan = plan_of(name)
    model = StageCostModel(plan.model, load_hardware("h100-1gpu-node"), plan.seq_len,
                           conditions=RunConditions(writeback_cast=way))
    return model.terms(plan_stage_args(plan, 0)), model


def test_the_host_way_leaves_the_terms_and_prices_no_pinned_write_back():
    terms = {"pageable_d2h_bytes": np.array([8.0, 0.0]), "pageable_h2d_bytes": np.array([0.0, 6.0]),
             "host_writeback_temp": np.array([4.0, 0.0]), "step_buffers": np.array([1.0, 1.0])}
    out = with_writeback_cast(terms, "host")
    assert out["pageable_d2h_bytes"] is terms["pageable_d2h_bytes"]
    assert out["pageable_h2d_bytes"] is terms["pageable_h2d_bytes"]
    assert not out["writeback_pinned_bytes"].any() and not out["staged_h2d_bytes"].any()


@pytest.mark.parametrize("name", [GPU_OPTIMIZER, HALF_OPTIMIZER])
def test_the_device_way_moves_half_the_bytes_pinned_and_keeps_one_chunk_on_the_gpu(name):
    host, _ = stage_terms(name, "host")
    device, model = stage_terms(name, "device")
    assert host["pageable_d2h_bytes"] > 0 and host["host_writeback_temp"] > 0
    assert device["pageable_d2h_bytes"] == 0 and device["host_writeback_temp"] == 0
    assert device["writeback_pinned_bytes"] == pytest.approx(host["pageable_d2h_bytes"] / 2)
    chunk = ELEM * min(WRITEBACK_CHUNK_ELEMENTS, host["host_writeback_temp"] / 4)
    assert device["step_buffers"] - host["step_buffers"] == pytest.approx(chunk)
    rates = Rates(model.hw, 1)
    saved = rates.pageable_d2h_s(host["pageable_d2h_bytes"]) - rates.d2h_s(device["writeback_pinned_bytes"])
    host_step = predict_plan(plan_of(name), model.hw, RunConditions(writeback_cast="host")).stages[0].step_s
    device_step = predict_plan(plan_of(name), model.hw, RunConditions(writeback_cast="device")).stages[0].step_s
    assert host_step - device_step == pytest.approx(float(saved), rel=1e-6)


def test_the_device_way_lowers_the_host_peak_by_the_pageable_temporary():
    plan, hw = plan_of(GPU_OPTIMIZER), load_hardware("h100-1gpu-node")
    host, _ = stage_terms(GPU_OPTIMIZER, "host")
    memory = {way: predict_plan(plan, hw, RunConditions(writeback_cast=way)).stages[0].cpu_memory_bytes
              for way in ("host", "device")}
    assert memory["host"] - memory["device"] == pytest.approx(float(host["host_writeback_temp"]))


def test_a_plan_that_writes_nothing_back_is_priced_the_same_either_way():
    plan, hw = plan_of(NO_WRITEBACK), load_hardware("h100-1gpu-node")
    host, device = (predict_plan(plan, hw, RunConditions(writeback_cast=way)) for way in ("host", "device"))
    assert host.iteration_time_s == device.iteration_time_s
    assert host.stages[0].peak_memory_bytes == device.stages[0].peak_memory_bytes
    assert host.stages[0].cpu_memory_bytes == device.stages[0].cpu_memory_bytes


def test_an_unknown_way_is_refused():
    with pytest.raises(ValueError, match="writeback cast must be one of host, device"):
        RunConditions(writeback_cast="gpu")


UPLOAD = "h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk"   # half the optimizer offloaded, weights on the GPU


def test_the_device_way_stages_cpu_masters_at_the_probed_rate():
    """Optimizer offload without offload_param: the CPU masters' 2 bytes an element move from the pageable rate
    to the profile's staged_h2d_bandwidth_gbps, the step shortens by exactly that, and the two pinned staging
    chunks are the host's only write-back memory."""
    host, model = stage_terms(UPLOAD, "host")
    device, _ = stage_terms(UPLOAD, "device")
    assert host["pageable_h2d_bytes"] > 0 and host["pageable_d2h_bytes"] == 0 and host["host_writeback_temp"] == 0
    assert device["pageable_h2d_bytes"] == 0 and device["staged_h2d_bytes"] == host["pageable_h2d_bytes"]
    assert device["host_writeback_temp"] == STAGING_BYTES and device["step_buffers"] == host["step_buffers"]
    rates = Rates(model.hw, 1)
    saved = rates.pageable_h2d_s(host["pageable_h2d_bytes"]) - rates.staged_h2d_s(device["staged_h2d_bytes"])
    assert float(saved) > 0
    plan, hw = plan_of(UPLOAD), model.hw
    steps = {way: predict_plan(plan, hw, RunConditions(writeback_cast=way)).stages[0].step_s
             for way in ("host", "device")}
    assert steps["host"] - steps["device"] == pytest.approx(float(saved), rel=1e-6)


def test_an_unprobed_staged_rate_is_the_pinned_rate():
    hw = load_hardware("h100-1gpu-node")
    nbytes = 6.7e9
    assert float(Rates(hw, 1).staged_h2d_s(nbytes)) == pytest.approx(
        hw.pcie_latency_s + nbytes / (hw.staged_h2d_bandwidth_gbps * 1e9))
    unprobed = Rates(hw.model_copy(update={"staged_h2d_bandwidth_gbps": None}), 1)
    assert float(unprobed.staged_h2d_s(nbytes)) == float(unprobed.h2d_s(nbytes))


def test_compare_shows_and_prices_the_way_the_run_wrote_back(capsys):
    """mist_ds.compare on the A/B's runs of one plan: each line names its way and each prediction follows it."""
    import json

    from mist_ds.compare import main as compare_main

    plan = ACCURACY / f"{GPU_OPTIMIZER}.plan.json"
    repeats = ACCURACY / "repeats"
    predicted = {}
    for way in ("host", "device"):
        assert compare_main([str(plan), str(repeats / f"{GPU_OPTIMIZER}.S66-1-{way}-a.run.json")]) == 0
        text = capsys.readouterr().out
        assert "ZeRO-3 write-back across the bus: " + ("DeepSpeed's copy" if way == "host" else "by DMA") in text
        assert compare_main([str(plan), str(repeats / f"{GPU_OPTIMIZER}.S66-1-{way}-a.run.json"), "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["writeback_cast"] == way
        predicted[way] = result["iteration_time"]["predicted_s"]
    assert predicted["device"] < predicted["host"] / 3
