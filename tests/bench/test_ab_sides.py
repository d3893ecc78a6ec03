"""The A/B side scripts under bench/engine/ change exactly what they say, where launch/train.py's code looks
it up (a patch the runtime never sees would make an A/B measure nothing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "engine" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restore(monkeypatch):
    """Every attribute the scripts patch, and the allocator setting they default, put back after the test."""
    import mist_ds.runtime.mistpipe.engine as engine
    import mist_ds.runtime.mistpipe.optimizer as optimizer
    import mist_ds.runtime.mistpipe.streams as streams
    import mist_ds.runtime.mistpipe.swapadam as swapadam
    import mist_ds.runtime.mistpipe.unit as unit
    import mist_ds.runtime.reporting as reporting

    monkeypatch.setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # what their setdefault writes
    monkeypatch.setattr(engine, "build_mistpipe_engine", engine.build_mistpipe_engine)
    monkeypatch.setattr(swapadam, "even_chunk", swapadam.even_chunk)
    for module in (optimizer, streams, swapadam, unit):
        monkeypatch.setattr(module, "host_buffer", module.host_buffer)
    monkeypatch.setattr(optimizer.UnitShard, "__init__", optimizer.UnitShard.__init__)
    monkeypatch.setattr(reporting, "recorded_host_buffers", reporting.recorded_host_buffers)
    monkeypatch.setattr(reporting, "recorded_swap_gradients", reporting.recorded_swap_gradients)
    monkeypatch.setattr(reporting, "recorded_fused_wgrad", reporting.recorded_fused_wgrad)
    monkeypatch.setattr(reporting, "recorded_fused_head_loss", reporting.recorded_fused_head_loss)
    return engine, swapadam, optimizer, reporting


def test_unfused_wgrad_train_builds_every_engine_without_the_fusion_and_says_so(restore):
    engine, reporting = restore[0], restore[3]
    load("unfused_wgrad_train").unfuse_weight_gradients()
    from mist_ds.runtime.mistpipe import build_mistpipe_engine  # what runtime/build.py calls

    assert build_mistpipe_engine.keywords == {"fused_wgrad": False}
    assert build_mistpipe_engine is engine.build_mistpipe_engine
    assert reporting.recorded_fused_wgrad(type("P", (), {"executor": "mistpipe", "head_loss": "logits"})()) is False
    assert reporting.recorded_fused_wgrad(type("P", (), {"executor": "deepspeed", "head_loss": "logits"})()) is None


def test_swap_via_host_train_takes_every_swapped_gradient_through_the_host(restore):
    load("swap_via_host_train").route_swap_gradients_via_host()
    from mist_ds.runtime.mistpipe import build_mistpipe_engine

    assert build_mistpipe_engine.keywords == {"swap_gradients": "host"}


def test_fused_head_loss_train_builds_every_engine_with_it_and_says_so(restore):
    reporting = restore[3]
    load("fused_head_loss_train").fuse_head_and_loss()
    from mist_ds.runtime.mistpipe import build_mistpipe_engine

    assert build_mistpipe_engine.keywords == {"fused_head_loss": True}
    assert reporting.recorded_fused_head_loss(type("P", (), {"executor": "mistpipe", "head_loss": "logits"})()) is True
    assert reporting.recorded_fused_head_loss(type("P", (), {"executor": "deepspeed", "head_loss": "logits"})()) is None


def test_fixed_chunks_train_cuts_at_the_limit(restore):
    swapadam = restore[1]
    assert swapadam.even_chunk(9, 4) == 3
    load("fixed_chunks_train").cut_at_the_limit()
    assert swapadam.even_chunk(9, 4) == 4


def test_torch_pinned_train_pins_through_torch_with_full_gradient_tails(restore):
    _, swapadam, optimizer, reporting = restore
    load("torch_pinned_train").pin_through_torch()
    for module in (optimizer, swapadam):
        assert module.host_buffer.__name__ == "torch_pinned_buffer"
    assert reporting.recorded_host_buffers(type("P", (), {"executor": "mistpipe"})()) == "torch_pinned"
