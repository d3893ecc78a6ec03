"""GPU measurements on a real card (skipped without CUDA): each section on a tiny grid, then the
CLI end to end. Checks plausibility (positive, finite, below the card's peak), not speed goals."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from mist_ds.config import HardwareProfile
from mist_ds.config.profiles import load_hardware
from mist_ds.profile.assemble import assemble_profile
from mist_ds.profile.grids import make_grids

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def dev():
    import torch

    return torch.device("cuda", 0)


@pytest.fixture(scope="module")
def tiny():
    return dataclasses.replace(make_grids(quick=True), matmul_m=(1024, 4096), matmul_nk=(1024, 4096),
                               memory_numel=16 * 2**20, copy_bytes=(2**20, 2**24), repeats=3, warmup=1)


def test_sections_give_plausible_records(dev, tiny):
    from mist_ds.profile import comm, compute
    from mist_ds.profile.interference import interference

    raw = {"meta": {}, "errors": {}}
    raw["matmul"] = compute.matmul_grid(tiny, dev, lambda: None)
    raw["attention"] = compute.attention(tiny, dev, lambda: None)
    raw["memory"], raw["gpu_adam"] = compute.memory_kernels(tiny, dev, lambda: None)
    raw["copies"] = comm.copies(tiny, dev, 1, lambda: None)
    raw["interference"] = interference(dev, False, 0.005, 1, lambda: None)
    assert len(raw["matmul"]) == 8 and all(r["time_s"] > 0 for r in raw["matmul"])
    assert {r["backend"] for r in raw["attention"]} and len(raw["attention"]) == len(tiny.attention)
    assert {tuple(r["channels"]) for r in raw["interference"]} == {
        ("compute", "h2d"), ("compute", "d2h"), ("h2d", "d2h"), ("compute", "h2d", "d2h")}
    hw = assemble_profile(raw, "gpu-test", load_hardware("h100-sxm-80gb"))
    assert 10 < hw.matmul_tflops < 2 * hw.peak_bf16_tflops
    assert 100 < hw.memory_bandwidth_gbps < 10_000
    assert 1 < hw.h2d_bandwidth_gbps < 200


def test_a_gated_sample_times_the_kernels_not_the_hosts_way_to_them(dev):
    import time

    import torch

    from mist_ds.profile.timing import time_region

    x = torch.zeros(1024, device=dev)

    def late_kernel():
        time.sleep(0.002)  # the host's way to the launch, as SDPA's and autograd's are (compute.ATTENTION_GATE_S)
        x.add_(1)

    open_ = min(time_region(late_kernel, warmup=1, repeats=3))
    gated = max(time_region(late_kernel, warmup=1, repeats=3, gate_s=0.005))
    assert open_ >= 0.0019 and gated < 0.0005, (open_, gated)


def test_the_start_up_copy_probe_gives_a_pair_and_frees_its_memory(dev):
    import torch

    from mist_ds.runtime.copy_probe import measured_pair

    reserved = torch.cuda.memory_reserved(dev)
    h2d, d2h = measured_pair(dev)
    assert 0.8 < h2d < 4.0 and 0.8 < d2h < 4.0  # beside the other direction: not faster, not stalled
    assert torch.cuda.memory_reserved(dev) <= reserved  # its blocks went back
    assert torch.cuda.max_memory_allocated(dev) == torch.cuda.memory_allocated(dev)  # its peak is forgotten


def test_layer_times_of_the_runtime_block(dev):
    from mist_ds.profile.layers import QUICK_SHAPES, layer_times

    rows = layer_times(True, dev, 3, 1, lambda: None)
    assert [r["preset"] for r in rows] == [p for p, _, _ in QUICK_SHAPES]
    assert all(0 < r["fwd_time_s"] < r["bwd_time_s"] < 1.0 for r in rows)  # backward does ~2x the work
    # measured as the runtime runs it: the CUDA picks of config/kernel_picks.py, the plan's attention
    from mist_ds.config.kernel_picks import CUDA_ELEMENTWISE

    assert all(r["kernels"] == {**CUDA_ELEMENTWISE, "attention": "sdpa"} for r in rows)


def test_cli_end_to_end_single_gpu(tmp_path):
    out = tmp_path / "node.json"
    cmd = [sys.executable, "-m", "mist_ds.profile", "--quick", "--gpus", "1", "--out", str(out),
           "--sections", "matmul,memory,copies"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    hw = HardwareProfile.load(out)
    assert hw.provenance.source == "measured" and hw.provenance.card
    assert (tmp_path / "raw" / "node.raw.json").is_file()


def test_the_host_step_beside_every_gpus_d2h():
    """Adam + cast (here a CPU copy standing in) alone and beside copies from every visible GPU: a record
    with positive times, one lane per GPU, the copies still running when the step ended."""
    import torch

    from mist_ds.profile.cpu_adam import step_beside_d2h

    a, b = torch.randn(2**24), torch.empty(2**24)
    record = step_beside_d2h(lambda: b.copy_(a), 2**24, 3)
    assert record["gpus"] == torch.cuda.device_count() and record["outlasted"]
    assert record["alone_s"] > 0 and record["beside_s"] > 0 and record["d2h_gbps_alone"] > 1


def test_the_writeback_section_times_the_runtimes_staged_upload(dev):
    from mist_ds.profile.writeback import staged_upload

    records = staged_upload(dev, 1, 2, 2, lambda: None, elements=64 * 2**20)
    assert [(r["concurrent_gpus"], r["rank"]) for r in records] == [(1, 0)]
    assert 1 < records[0]["gbps"] < 200  # host conversion + pinned DMA: below the bus, not stalled
