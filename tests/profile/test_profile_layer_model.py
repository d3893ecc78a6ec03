"""Kernel-sum layer prediction (pure) against hand counts."""

from __future__ import annotations

import pytest

from mist_ds.config import MatmulSample, get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.profile.layer_model import linears, predict_layer

FLAT = load_hardware("h200").model_copy(update={
    "matmul_samples": tuple(MatmulSample(m=m, n=n, k=k, tflops=500.0)
                            for m in (256, 65536) for n in (256, 65536) for k in (256, 65536)),
    "attention_samples": (), "memory_kernels": ()})


@pytest.mark.parametrize("preset", ["gpt-1.3b", "llama-7b", "llama3-8b"])
def test_linears_cover_the_block_weights(preset):
    spec = get_preset(preset)
    weights = sum(o * i for o, i in linears(spec))
    biases = (spec.layer_params - 2 * spec.norm_params) - weights
    assert 0 <= biases < 20 * spec.hidden_size  # only bias vectors are left over


def test_gemm_part_matches_6_flops_per_param_token():
    spec = get_preset("llama-7b")
    b, s = 1, 4096
    weights = sum(o * i for o, i in linears(spec))
    fwd, bwd = predict_layer(FLAT, spec, b, s)
    gemm_fwd = 2 * b * s * weights / 500e12
    assert fwd > gemm_fwd and bwd > 2 * gemm_fwd
    assert fwd < 1.5 * gemm_fwd  # attention and element-wise are the smaller part at this shape
    assert bwd - 2 * gemm_fwd == pytest.approx((fwd - gemm_fwd) * 2.3, rel=0.5)


def test_time_grows_with_batch_and_sequence():
    spec = get_preset("gpt-1.3b")
    one = predict_layer(FLAT, spec, 1, 2048)
    two = predict_layer(FLAT, spec, 2, 2048)
    longer = predict_layer(FLAT, spec, 1, 4096)
    assert two[0] == pytest.approx(2 * one[0], rel=1e-6)  # flat rates: linear in batch
    assert longer[0] > two[0]  # attention is quadratic in sequence
