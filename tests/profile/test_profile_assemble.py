"""Raw measurements -> HardwareProfile, against synthetic data with known answers."""

from __future__ import annotations

import json

import pytest

from mist_ds.config import HardwareProfile
from mist_ds.config.hw_lookup import collective_fit, collective_time_s, interference_slowdowns
from mist_ds.config.profiles import load_hardware
from mist_ds.profile.assemble import assemble_profile, attention_fwd_flops
from profile_synthetic import ALPHA, BUS_GBPS, PCIE_GBPS, PCIE_LAT, TRUE_TFLOPS, synthetic_raw

FALLBACK = load_hardware("h100-sxm-80gb")


def test_assembles_measured_values():
    hw = assemble_profile(synthetic_raw(), "test-node", FALLBACK)
    assert hw.name == "test-node"
    assert hw.provenance.source == "measured"
    assert hw.provenance.group_sizes_covered == (2,)
    assert hw.num_gpus_per_node == 2 and hw.host_cpu_cores == 32
    assert hw.matmul_tflops == pytest.approx(TRUE_TFLOPS)
    assert len(hw.matmul_samples) == 8
    assert hw.attention_tflops == pytest.approx(400.0)
    assert hw.attention_bwd_tflops == pytest.approx(300.0)
    assert hw.memory_bandwidth_gbps == pytest.approx(2800.0)  # median of the three, adam excluded
    assert hw.gpu_adam_params_per_s == pytest.approx(1e10)
    assert hw.h2d_bandwidth_gbps == pytest.approx(PCIE_GBPS / 2, rel=1e-6)  # both GPUs copying
    assert hw.pcie_latency_s == pytest.approx(PCIE_LAT, rel=1e-4)
    assert [s.num_threads for s in hw.cpu_adam] == [1, 2, 4, 8, 16, 32]


def test_collectives_fitted_and_fallback_kept_for_inter_node():
    hw = assemble_profile(synthetic_raw(), "n", FALLBACK)
    fit = collective_fit(hw, "all_reduce", "intra_node", 2)
    assert fit.latency_s == pytest.approx(ALPHA, rel=1e-6)
    assert fit.bus_bandwidth_gbps == pytest.approx(BUS_GBPS, rel=1e-6)
    assert fit.fit_rel_error == pytest.approx(0.0, abs=1e-9)
    intra_sizes = {f.group_size for f in hw.collectives if f.scope == "intra_node"}
    assert intra_sizes == {2}  # unmeasured intra sizes are extrapolated, not copied from the datasheet
    inter = [f for f in hw.collectives if f.scope == "inter_node"]
    assert inter and all(f.fit_rel_error is None for f in inter)
    assert "inter-node collectives" in hw.provenance.notes


def test_interference_stored_clamped_and_model_error_noted():
    hw = assemble_profile(synthetic_raw(), "n", FALLBACK)
    assert len(hw.interference) == 4
    assert interference_slowdowns(hw, ["h2d", "compute"]) == {"h2d": 1.0, "compute": 1.0}  # 0.99 clamped
    assert interference_slowdowns(hw, ["compute", "nccl", "h2d"])["nccl"] == pytest.approx(1.5)
    assert "pairwise-product model median error" in hw.provenance.notes


def test_single_gpu_raw_uses_fallback_collectives():
    hw = assemble_profile(synthetic_raw(num_gpus=1, interference=False), "one", FALLBACK)
    assert hw.collectives == FALLBACK.collectives
    assert hw.provenance.group_sizes_covered == ()
    assert "collectives" in hw.provenance.notes
    assert hw.h2d_bandwidth_gbps == pytest.approx(PCIE_GBPS, rel=1e-6)


def test_empty_raw_is_all_fallback_and_says_so():
    raw = {"meta": {}, "errors": {"matmul": "RuntimeError: boom"}, "cpu_adam": []}
    hw = assemble_profile(raw, "empty", FALLBACK)
    assert hw.matmul_tflops == FALLBACK.matmul_tflops
    assert "matmul_tflops" in hw.provenance.notes and "boom" in hw.provenance.notes


def test_host_sections_alone_keep_the_cards_tables():
    """`--sections cpu_adam,copies` on another node of the same card: the GEMM, attention, memory-kernel
    tables, GPU Adam rate and interference come from the fallback, and the notes say so."""
    raw = synthetic_raw(num_gpus=1, interference=False)
    host_only = {k: raw[k] for k in ("meta", "copies", "cpu_adam")}
    hw = assemble_profile(host_only, "host", FALLBACK)
    assert hw.matmul_samples == FALLBACK.matmul_samples and hw.matmul_samples
    assert hw.attention_samples == FALLBACK.attention_samples and hw.attention_samples
    assert hw.attention_bwd_tflops == FALLBACK.attention_bwd_tflops
    assert hw.memory_kernels == FALLBACK.memory_kernels and hw.memory_kernels
    assert hw.gpu_adam_params_per_s == FALLBACK.gpu_adam_params_per_s
    assert hw.interference == FALLBACK.interference
    assert [s.num_threads for s in hw.cpu_adam] == [1, 2, 4, 8, 16, 32]  # measured, not the fallback's
    for field in ("matmul_samples", "attention_samples", "memory_kernels", "interference"):
        assert field in hw.provenance.notes


def test_profile_round_trips_through_json(tmp_path):
    hw = assemble_profile(synthetic_raw(), "n", FALLBACK)
    path = tmp_path / "n.json"
    hw.save(path)
    again = HardwareProfile.load(path)
    assert again == hw
    assert json.loads(path.read_text())["provenance"]["card"] == "NVIDIA H100 80GB HBM3"


def test_attention_flops_counting():
    s = {"batch": 2, "num_heads": 4, "seq_len": 8, "head_dim": 16, "causal": False}
    assert attention_fwd_flops(s) == 4 * 2 * 4 * 64 * 16
    assert attention_fwd_flops({**s, "causal": True}) == 2 * 2 * 4 * 64 * 16


def test_collective_time_uses_bus_factor():
    hw = assemble_profile(synthetic_raw(), "n", FALLBACK)
    t = collective_time_s(hw, "all_gather", "intra_node", 2, 2**30)
    assert t == pytest.approx(ALPHA + 2**30 * 0.5 / (BUS_GBPS * 1e9))
    assert collective_time_s(hw, "all_reduce", "intra_node", 1, 2**30) == 0.0


def test_rebuilding_from_raw_keeps_the_run_derived_terms():
    # the shipped h200 profile's calibrated terms come from training runs, not from any raw file: a
    # profile rebuilt from raw measurements (profile --from-raw) must keep them (issue 12)
    from mist_ds.config.hardware import RUN_DERIVED_FIELDS

    calibrated = load_hardware("h200")
    assert calibrated.allocator_overhead_fraction > 0 and calibrated.host_process_base_bytes > 0
    rebuilt = assemble_profile(synthetic_raw(), "rebuilt", calibrated)
    for field in RUN_DERIVED_FIELDS:
        assert getattr(rebuilt, field) == getattr(calibrated, field), field


def test_host_step_fields_from_the_cpu_adam_sections_beside_record():
    """cpu_step_per_adam is Adam + cast alone over Adam alone at the largest thread count; the slowdown is
    beside / alone; without the record both come from the fallback."""
    raw = synthetic_raw()
    raw["cpu_adam"] = [{"num_threads": 1, "params_per_s": 1e9}, {"num_threads": 16, "params_per_s": 5e9}]
    raw["cpu_step_beside_d2h"] = {"numel": 10**9, "alone_s": 0.28, "beside_s": 0.392, "outlasted": True}
    fallback = load_hardware("h100-1gpu-node")  # measured values of its own: a kept one shows
    assert fallback.cpu_step_per_adam is not None and fallback.cpu_step_d2h_slowdown is not None
    prof = assemble_profile(raw, "x", fallback)
    assert prof.cpu_step_per_adam == pytest.approx(0.28 / 0.2)
    assert prof.cpu_step_d2h_slowdown == pytest.approx(1.4)
    del raw["cpu_step_beside_d2h"]
    bare = assemble_profile(raw, "x", fallback)
    assert (bare.cpu_step_per_adam, bare.cpu_step_d2h_slowdown) == (fallback.cpu_step_per_adam,
                                                                    fallback.cpu_step_d2h_slowdown)


def test_a_beside_record_whose_copies_ended_early_gives_no_slowdown():
    """outlasted false: some repeat ran partly alone, so beside / alone understates the slowdown."""
    from mist_ds.profile.assemble import cpu_step_fields

    raw = {"cpu_adam": [{"num_threads": 16, "params_per_s": 5e9}],
           "cpu_step_beside_d2h": {"numel": 10**9, "alone_s": 0.28, "beside_s": 0.3, "outlasted": False}}
    assert cpu_step_fields(raw) == (pytest.approx(1.4), None)


def test_the_notes_say_how_attention_was_timed():
    raw = synthetic_raw()
    old = assemble_profile(raw, "old-raw", FALLBACK).provenance.notes
    raw["meta"]["attention_gate_s"] = 0.005
    gated = assemble_profile(raw, "gated", FALLBACK).provenance.notes
    raw.pop("attention")
    none = assemble_profile(raw, "host-only", FALLBACK).provenance.notes
    assert "from an idle GPU" in old and "behind a 5 ms GPU hold" in gated
    assert "Attention samples timed" not in none
