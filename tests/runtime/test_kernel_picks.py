"""The runtime's default kernels follow the committed measurement (mist_ds/config/kernel_picks.py),
and 'auto' resolves to them on CUDA and to eager torch on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.runtime import picks_check
from mist_ds.config import kernel_picks
from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model
from mist_ds.runtime import kernels as K
from mist_ds.runtime import loss as runtime_loss
from mist_ds.runtime.blocks import TransformerBlock

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_fastest_measured():
    result = picks_check.committed_measurement(ROOT)
    picks = picks_check.measured_picks(result)
    # every op the defaults name was measured, and the measured fastest is the default
    assert {"rmsnorm", "layernorm", "swiglu", "rope", "loss_tp1", "loss_tp2"} <= set(picks)
    assert picks_check.disagreements(result) == []
    # hand check of the two closest calls in the ops file (ms, fwd + bwd, llama-7b, mb 1):
    # SwiGLU liger 0.542 < compile 0.813 < torch 0.840; RMSNorm torch 0.179 < liger 0.685 < compile 0.705
    mb1 = result["ops"]["llama-7b"]["mb1"]
    assert mb1["swiglu"]["liger"]["time_ms"] < mb1["swiglu"]["compile"]["time_ms"] < mb1["swiglu"]["torch"]["time_ms"]
    assert mb1["rmsnorm"]["torch"]["time_ms"] < mb1["rmsnorm"]["liger"]["time_ms"]


def test_a_faster_measured_kernel_is_reported():
    result = picks_check.committed_measurement(ROOT)
    for mb in ("mb1", "mb2", "mb4"):
        result["ops"]["llama-7b"][mb]["rmsnorm"]["liger"] = {"time_ms": 0.01}
    assert picks_check.disagreements(result) == [
        "rmsnorm: measured fastest 'liger', default 'torch'"]


def test_a_liger_pick_falls_back_to_its_runner_up_without_liger_kernel(monkeypatch):
    assert kernel_picks.elementwise_impl("activation", True, fastest=True) == "liger"
    assert kernel_picks.elementwise_impl("activation", True, fastest=True, liger_installed=False) == "compile"
    assert kernel_picks.elementwise_impl("rope", True, fastest=True, liger_installed=False) == "compile"
    monkeypatch.setattr(K, "liger_installed", lambda: False)
    assert K.resolved(K.DEFAULT_KERNELS, on_cuda=True)["activation"] == (
        "compile" if kernel_picks.AUTO_USES_FASTEST else "torch")


def test_auto_resolves_to_the_picks_on_cuda_only_when_switched_on_and_torch_on_cpu(monkeypatch):
    monkeypatch.setattr(K, "liger_installed", lambda: True)  # as on the GPU machines (the wheelhouse)
    eager = dict.fromkeys(kernel_picks.ELEMENTWISE_OPS, "torch")
    on_cuda = kernel_picks.CUDA_ELEMENTWISE if kernel_picks.AUTO_USES_FASTEST else eager
    assert K.resolved(K.DEFAULT_KERNELS, on_cuda=True) == on_cuda
    assert {op: kernel_picks.elementwise_impl(op, True, fastest=True) for op in eager} == kernel_picks.CUDA_ELEMENTWISE
    assert kernel_picks.loss_impl(True, 1, fastest=True) == "liger"
    assert kernel_picks.loss_impl(True, 1, fastest=False) == "chunked"
    assert K.resolved(K.DEFAULT_KERNELS, on_cuda=False) == dict.fromkeys(kernel_picks.ELEMENTWISE_OPS, "torch")
    assert K.resolved(K.Kernels(rope="liger"), on_cuda=True)["rope"] == "liger"
    assert K.runtime_kernels("sdpa") == K.Kernels(attention="sdpa")
    with pytest.raises(ValueError, match="element-wise op"):
        kernel_picks.elementwise_impl("softmax", True)


def test_auto_loss_resolution(monkeypatch):
    monkeypatch.setattr(kernel_picks, "AUTO_USES_FASTEST", True)
    monkeypatch.setattr(kernel_picks.loss_impl, "__defaults__", (True, True))  # fastest=True
    monkeypatch.setattr(runtime_loss, "liger_available", lambda: True)
    assert runtime_loss.resolve_loss("auto", on_cuda=True, tp=1) == "liger"
    assert runtime_loss.resolve_loss("auto", on_cuda=True, tp=2) == "chunked_compile"
    assert runtime_loss.resolve_loss("auto", on_cuda=False, tp=1) == "chunked"
    assert runtime_loss.resolve_loss("liger", on_cuda=False, tp=1) == "chunked"
    monkeypatch.setattr(runtime_loss, "liger_available", lambda: False)
    assert runtime_loss.resolve_loss("auto", on_cuda=True, tp=1) == "chunked_compile"
    monkeypatch.setattr(kernel_picks.loss_impl, "__defaults__", (True, False))  # the committed default
    assert runtime_loss.resolve_loss("auto", on_cuda=True, tp=1) == "chunked"


@pytest.mark.parametrize("name", ["gpt", "llama", "neox-partial-rope-parallel"])
def test_default_block_on_cpu_is_the_eager_block(name):
    spec = tiny_model(**ARCHITECTURE_VARIANTS[name])
    x = torch.randn(2, 8, spec.hidden_size)
    outs = []
    for kernels in (K.DEFAULT_KERNELS, K.EAGER_KERNELS):
        xi = x.clone().requires_grad_(True)
        out = TransformerBlock(spec, layer_index=1, kernels=kernels)(xi)
        out.square().sum().backward()
        outs.append((out.detach(), xi.grad))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
