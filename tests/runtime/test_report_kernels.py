"""RunReport.kernels: the runtime records the kernels and loss it resolved (2-rank CPU runs of a
SwiGLU + RoPE model: the mist_ds sides of the parity run, tests/shared_runs.py), the resolution is the
one the modules run, old run files without the record still load, and compare prints the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mist_ds import compare
from mist_ds.config import Plan, RunReport, kernel_picks
from mist_ds.config.run_report import KERNEL_KEYS
from mist_ds.gpuinfo import host_cpu_cores, host_cpu_model, host_l3_bytes
from mist_ds.runtime import build, kernels as K, loss as L
from mist_ds.runtime.reporting import merge_kernels

from tests.shared_runs import PARITY_CONFIGS
from .plans import CASES
from .test_loss_equivalence import ROOT

LLAMA = CASES["llama_tp1"]   # SwiGLU + RoPE: every recorded op runs
GPT = CASES["zero1"]         # GELU, learned positions


@pytest.fixture(scope="module")
def cpu_runs(parity_cpu_run) -> dict[str, tuple[Plan, Path, Path, int]]:
    """The mist_ds sides of tests/shared_runs.py's parity run (made once for this file and
    tests/bench/test_parity.py): 2-rank CPU (gloo) launches of launch/train.py (bench/runtime/
    traced_train.py: launch/train.py with one step profiled) of a 2-layer tiny Llama, ZeRO-3 +
    recompute and a 2-stage pipeline. Config name -> (plan, plan file, RunReport file, steps run)."""
    pairs = json.loads((parity_cpu_run / "parity.json").read_text())["pairs"]
    runs = {}
    for name, pair in zip(PARITY_CONFIGS, pairs, strict=True):
        plan_path = parity_cpu_run / "plans" / f"{name}.plan.json"
        runs[name] = (Plan.load(plan_path), plan_path, parity_cpu_run / "reports" / f"{name}.mist.run.json",
                      pair["steps"])
    return runs


@pytest.mark.distributed
@pytest.mark.parametrize("name", PARITY_CONFIGS)
def test_a_cpu_run_records_what_the_runtime_resolved(cpu_runs, name):
    plan, _, run_path, steps = cpu_runs[name]
    assert plan.model.activation == "swiglu" and plan.model.position_embedding == "rope"  # every op runs
    report = RunReport.load(run_path)
    assert report.status == "ok" and report.num_steps == steps
    expected = {**K.resolved(K.runtime_kernels(plan.attention), on_cuda=False),
                "attention": K.resolve_attention(plan.attention, torch.zeros(1, dtype=torch.float32)),
                "loss": L.resolve_loss("auto", on_cuda=False, tp=plan.tp)}
    assert report.kernels == expected
    # the CPU path is the eager set and the chunked loss whatever config/kernel_picks.py picks for CUDA
    assert report.kernels == {"norm": "torch", "activation": "torch", "rope": "torch",
                              "attention": "sdpa", "loss": "chunked"}
    assert list(json.loads(run_path.read_text())["kernels"]) == list(KERNEL_KEYS)
    # the allocator setting the processes saw: the default launch/train.py sets before torch loads
    assert report.cuda_alloc_conf == "expandable_segments:True"
    # the node it ran on, counted as a hardware profile counts it (which node kind's profile re-predicts it)
    assert report.host_cpu_cores == host_cpu_cores()
    assert (report.host_cpu_model, report.host_l3_bytes) == (host_cpu_model(), host_l3_bytes())


@pytest.mark.distributed
def test_compare_shows_the_recorded_kernels(cpu_runs, capsys):
    _, plan_path, run_path, _ = cpu_runs[PARITY_CONFIGS[0]]
    assert compare.main([str(plan_path), str(run_path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("kernels:")]
    assert lines == ["kernels: norm torch, activation torch, rope torch, attention sdpa, loss chunked"]
    assert compare.main([str(plan_path), str(run_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kernels"] == RunReport.load(run_path).kernels


def test_an_old_run_file_without_the_record_still_loads(capsys):
    runs = sorted((ROOT / "bench" / "results" / "accuracy").glob("*.run.json"))
    old = next((r for r in runs if "kernels" not in json.loads(r.read_text())), None)
    assert old is not None, "the suite keeps runs made before RunReport.kernels"
    run = RunReport.load(old)
    assert run.kernels == {} and compare.kernel_summary(run.kernels) == "not recorded"
    plan = old.with_name(old.name.replace(".run.json", ".plan.json"))
    assert compare.main([str(plan), str(old), "--stored"]) == 0
    assert "kernels:" not in capsys.readouterr().out


def test_a_partial_record_is_refused():
    with pytest.raises(ValueError, match="kernels must name every one"):
        RunReport(status="ok", plan_hash="x", gpu_name="cpu", num_gpus=1, torch_version="t",
                  deepspeed_version="d", num_steps=1, num_warmup_steps=0, kernels={"norm": "torch"})


@pytest.mark.parametrize("fastest", [False, True])
@pytest.mark.parametrize("on_cuda", [False, True])
def test_the_record_is_what_the_modules_run(monkeypatch, fastest, on_cuda):
    """The modules get the concrete names; their per-call resolution (kernels._resolve,
    attention_for, resolve_loss on tensors of the run's device) keeps each one, also with the
    fastest CUDA set (config/kernel_picks.py AUTO_USES_FASTEST flipped)."""
    monkeypatch.setattr(K, "liger_installed", lambda: False)  # as on CPU machines: Liger's SwiGLU pick falls back
    monkeypatch.setattr(K, "elementwise_impl", lambda op, cuda, liger_installed=True:
                        kernel_picks.elementwise_impl(op, cuda, fastest, liger_installed))
    monkeypatch.setattr(L, "loss_impl", lambda cuda, tp, liger: kernel_picks.loss_impl(cuda, tp, liger, fastest))
    for plan in (LLAMA, CASES["llama_tp2"]):
        concrete, loss, record = build.resolve_kernels(plan, on_cuda, torch.bfloat16)
        assert record["loss"] == loss == L.resolve_loss("auto", on_cuda, plan.tp)
        assert record == {**K.resolved(K.runtime_kernels(plan.attention), on_cuda),
                          "attention": K.attention_for(plan.attention, on_cuda, True), "loss": loss}
        for op in ("norm", "activation", "rope"):
            assert K._resolve(op, getattr(concrete, op), on_cuda) == record[op]
        assert K.attention_for(concrete.attention, on_cuda, True) == record["attention"]
        assert L.resolve_loss(loss, on_cuda, plan.tp) == loss
    if fastest and on_cuda:
        assert record["activation"] == "compile" and record["loss"] == "chunked_compile"  # tp 2


def test_ops_a_model_lacks_are_recorded_as_such():
    _, _, record = build.resolve_kernels(GPT, on_cuda=False, dtype=torch.float32)
    assert record["activation"] == "torch" and record["rope"] == "none"  # GELU, learned positions


def test_ranks_that_differ_are_each_named():
    same = {"norm": "torch", "activation": "torch", "rope": "torch", "attention": "sdpa", "loss": "liger"}
    other = {**same, "loss": "chunked_compile"}
    assert merge_kernels([same, same]) == same
    merged = merge_kernels([same, same, other, other])
    assert merged["loss"] == "liger on ranks 0,1; chunked_compile on ranks 2,3"
    assert merged["norm"] == "torch" and merge_kernels([same, {}]) == {}
