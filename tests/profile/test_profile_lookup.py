"""hw_lookup: collective extrapolation, GEMM-grid interpolation, attention and kernel lookups."""

from __future__ import annotations

import math

import pytest

from mist_ds.config import AttentionSample, CollectiveFit, MatmulSample, MemoryKernelSample
from mist_ds.config.hw_lookup import (
    attention_time_s,
    bus_factor,
    collective_fit,
    matmul_tflops_at,
    matmul_time_s,
    memory_kernel_gbps,
    ring_steps,
)
from mist_ds.config.profiles import load_hardware

BASE = load_hardware("h200")  # any valid profile: the tests replace the fields they look at


def _with(**fields):
    return BASE.model_copy(update=fields)


def test_bus_factor_and_steps():
    assert bus_factor("all_reduce", 4) == 1.5
    assert bus_factor("all_gather", 4) == 0.75
    assert bus_factor("p2p", 8) == 1.0
    assert ring_steps("all_reduce", 8) == 14 and ring_steps("reduce_scatter", 8) == 7 and ring_steps("p2p", 8) == 1


def test_collective_extrapolates_latency_by_ring_steps_and_keeps_bandwidth():
    hw = _with(collectives=(CollectiveFit(kind="all_reduce", scope="intra_node", group_size=2,
                                          latency_s=10e-6, bus_bandwidth_gbps=300.0, fit_rel_error=0.05),))
    measured = collective_fit(hw, "all_reduce", "intra_node", 2)
    assert measured.fit_rel_error == 0.05
    big = collective_fit(hw, "all_reduce", "intra_node", 8)
    assert big.latency_s == pytest.approx(10e-6 * 14 / 2)
    assert big.bus_bandwidth_gbps == 300.0 and big.fit_rel_error is None
    with pytest.raises(ValueError, match="no inter_node"):
        collective_fit(hw, "all_reduce", "inter_node", 2)
    with pytest.raises(ValueError):
        collective_fit(hw, "all_reduce", "intra_node", 1)


def test_collective_uses_nearest_measured_size():
    fits = tuple(CollectiveFit(kind="all_gather", scope="intra_node", group_size=g, latency_s=g * 1e-6,
                               bus_bandwidth_gbps=100.0 * g) for g in (2, 8))
    hw = _with(collectives=fits)
    assert collective_fit(hw, "all_gather", "intra_node", 16).bus_bandwidth_gbps == 800.0  # largest
    assert collective_fit(hw, "all_gather", "intra_node", 3).bus_bandwidth_gbps == 200.0   # nearest (log)


def _grid(rate):
    return tuple(MatmulSample(m=m, n=n, k=k, tflops=rate(m, n, k))
                 for m in (1024, 4096) for n in (1024, 4096) for k in (1024, 4096))


def test_matmul_interpolates_in_log_space_and_clamps():
    hw = _with(matmul_samples=_grid(lambda m, n, k: 100.0 if m == 1024 else 400.0))
    assert matmul_tflops_at(hw, 1024, 2048, 2048) == pytest.approx(100.0)
    assert matmul_tflops_at(hw, 2048, 2048, 2048) == pytest.approx(200.0)  # geometric midpoint
    assert matmul_tflops_at(hw, 65536, 99999, 7) == pytest.approx(400.0)   # clamped
    assert matmul_time_s(hw, 4096, 4096, 4096) == pytest.approx(2 * 4096**3 / 400e12)


def test_matmul_with_holes_uses_nearest_and_scalar_without_grid():
    samples = _grid(lambda m, n, k: 100.0 + m / 100)[:-1]
    hw = _with(matmul_samples=samples)
    assert matmul_tflops_at(hw, 1024, 1024, 1024) == pytest.approx(110.24)
    assert 110.0 <= matmul_tflops_at(hw, 2048, 2048, 2048) <= 141.0
    assert matmul_tflops_at(_with(matmul_samples=()), 1, 1, 1) == BASE.matmul_tflops


def test_attention_lookup_scales_flops_at_the_nearest_rate():
    sample = AttentionSample(batch=1, num_heads=32, num_kv_heads=8, seq_len=4096, head_dim=128, causal=True,
                             fwd_time_s=1e-3, bwd_time_s=3e-3, backend="sdpa-flash")
    hw = _with(attention_samples=(sample,))
    fwd, bwd = attention_time_s(hw, 1, 32, 4096, 128)
    assert fwd == pytest.approx(1e-3) and bwd == pytest.approx(3e-3)
    fwd2, _ = attention_time_s(hw, 2, 32, 4096, 128)  # twice the work at the same rate
    assert fwd2 == pytest.approx(2e-3)
    f0, b0 = attention_time_s(_with(attention_samples=()), 1, 32, 4096, 128)
    flops = 4 * 32 * 4096**2 * 128 / 2
    assert f0 == pytest.approx(flops / (BASE.attention_tflops * 1e12))
    assert b0 == pytest.approx(2.5 * f0 * BASE.attention_tflops / (BASE.attention_bwd_tflops or BASE.attention_tflops))


def test_memory_kernel_lookup():
    hw = _with(memory_kernels=(MemoryKernelSample(kernel="add", num_bytes=100, time_s=1e-9, bandwidth_gbps=100.0),))
    assert memory_kernel_gbps(hw, "add") == 100.0
    assert memory_kernel_gbps(hw, "gelu_fwd") == hw.memory_bandwidth_gbps
    assert math.isfinite(memory_kernel_gbps(BASE, "add"))


def test_attention_lookup_tells_heads_from_batch():
    def sample(batch, heads, fwd):
        return AttentionSample(batch=batch, num_heads=heads, num_kv_heads=heads, seq_len=2048, head_dim=128,
                               causal=True, fwd_time_s=fwd, bwd_time_s=3 * fwd, backend="sdpa-cudnn")
    hw = _with(attention_samples=(sample(4, 8, 2e-3), sample(1, 32, 1e-3)))
    fwd, _ = attention_time_s(hw, 1, 32, 2048, 128)  # same batch*heads as both samples
    assert fwd == pytest.approx(1e-3, rel=1e-3)


def test_a_head_dim_between_tiles_costs_the_next_tile():
    """cuDNN's flash kernels compute head dim 80 in 128-wide work (hw_lookup.ATTENTION_HEAD_DIM_TILE:
    the profiled llama-2.7b steps ran what the profile predicts at 128)."""
    from mist_ds.config.hw_lookup import tiled_head_dim

    assert [tiled_head_dim(d) for d in (32, 64, 80, 96, 128, 160)] == [64, 64, 128, 128, 128, 192]
    hw = load_hardware("h200")
    assert attention_time_s(hw, 2, 32, 4096, 80) == attention_time_s(hw, 2, 32, 4096, 128)
    assert attention_time_s(hw, 2, 32, 4096, 64) < attention_time_s(hw, 2, 32, 4096, 80)


def test_a_batch_beyond_the_samples_reads_the_largest_sampled_batchs_rate():
    """More sequences never lower fused attention's FLOP rate (bench/results/runtime/attention_batch_S27: the
    time per sequence falls with the batch in every series), so a batch beyond the samples at its sequence
    length takes the largest sampled batch's rate, not a mean that borrows shorter sequences' slower rates."""
    def sample(batch, seq, fwd):
        return AttentionSample(batch=batch, num_heads=32, num_kv_heads=8, seq_len=seq, head_dim=64, causal=True,
                               fwd_time_s=fwd, bwd_time_s=3 * fwd, backend="sdpa-cudnn")
    long_seq = sample(2, 4096, 4e-4)
    hw = _with(attention_samples=(long_seq, sample(8, 1024, 1e-4), sample(16, 1024, 2e-4)))
    fwd, bwd = attention_time_s(hw, 8, 32, 4096, 64)
    assert fwd == pytest.approx(4 * 4e-4) and bwd == pytest.approx(4 * 3 * 4e-4)
