"""The independent baseline: HF config mapping, the grid's pruning, and a 2-rank CPU run of two grid
points end to end (skipped without transformers: `pip install .[hf]`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.baseline.grid import (Config, Workload, grid, model_states_bytes, next_config, run_report, skip_reason,
                                 unpack, untried)
from mist_ds.config import get_preset, model_spec_from_hf_config
from tests.helpers import child_pythonpath
from tests.runtime.plans import LLAMA

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["llama-7b", "llama3-8b", "gpt-1.3b", "mistral-nemo-12b", "qwen3-4b"])
def test_hf_models_have_exactly_the_presets_parameters(name):
    pytest.importorskip("transformers")
    import torch

    from bench.baseline.hf_model import build_model

    # mistral-nemo-12b: a config.json whose 32 heads of 128 are not its width 5120 (ModelSpec.head_dim_override);
    # qwen3-4b: per-head q/k norms too (a Qwen3ForCausalLM)
    folder = ROOT / "tests" / "data" / "hf_configs" / name
    spec = model_spec_from_hf_config(folder) if folder.is_dir() else get_preset(name)
    with torch.device("meta"):
        model = build_model(spec, torch.bfloat16)
    assert sum(p.numel() for p in model.parameters()) == spec.num_params
    assert model.config._attn_implementation == "sdpa"
    if spec.family == "llama":
        assert model.config.num_key_value_heads == spec.num_kv_heads
        assert model.config.tie_word_embeddings is spec.tie_embeddings
        assert getattr(model.config, "mlp_bias", False) is False and model.config.head_dim == spec.head_dim


def test_shapes_hf_cannot_express_are_refused():
    pytest.importorskip("transformers")
    from bench.baseline.hf_model import hf_config

    with pytest.raises(ValueError, match="GPT2Config"):
        hf_config(get_preset("gpt-1.3b").model_copy(update={"tie_embeddings": False}))


def test_model_states_follow_deepspeeds_estimate():
    n = 1_000_000
    assert model_states_bytes(n, 0, 2, False) == 20 * n
    assert model_states_bytes(n, 1, 2, False) == 4 * n + 8 * n
    assert model_states_bytes(n, 2, 2, False) == 2 * n + 1 * n + 8 * n
    assert model_states_bytes(n, 3, 2, False) == 10 * n
    assert model_states_bytes(n, 3, 2, True) == 2 * n


def test_grid_prunes_infeasible_and_oom_dominated_configs():
    w = Workload("llama-7b", 2, 78, 4096, 32)
    configs = grid(w)
    assert configs[0] == Config(0, 1, False) and len(configs) == 2 * 4 * 4
    assert "model states" in skip_reason(w, Config(0, 1, False), {})
    assert skip_reason(w, Config(3, 2, True), {}) is None
    oom = {"z3-mb2-ckpt": {"status": "oom", "baseline_config": {"zero": 3, "checkpointing": True,
                                                                 "offload_optimizer": False, "micro_batch": 2}}}
    assert "dominated" in skip_reason(w, Config(3, 4, True), oom)
    assert "dominated" not in skip_reason(w, Config(3, 4, False), oom)  # skipped, by its estimate instead
    assert skip_reason(w, Config(2, 4, True), oom) is None
    skipped = {}
    # ZeRO-0 (model states) and ZeRO-1/2 without checkpointing (states + activations) are skipped
    assert next_config(w, configs, oom, skipped) == Config(1, 1, True)
    assert set(skipped) == {"z0-mb1-nockpt", "z0-mb2-nockpt", "z0-mb4-nockpt", "z0-mb8-nockpt", "z1-mb1-nockpt",
                            "z1-mb2-nockpt", "z1-mb4-nockpt", "z1-mb8-nockpt", "z2-mb1-nockpt", "z2-mb2-nockpt",
                            "z2-mb4-nockpt", "z2-mb8-nockpt", "z0-mb1-ckpt", "z0-mb2-ckpt", "z0-mb4-ckpt",
                            "z0-mb8-ckpt"}
    assert all(("model states exceed" in r) == (c.startswith("z0")) for c, r in skipped.items())
    assert all("Korthikanti" in r for c, r in skipped.items() if not c.startswith("z0"))


def host_kill(zero: int, micro_batch: int) -> dict:
    """A committed ZeRO-Offload point killed by signal 9 before its first step."""
    config = {"zero": zero, "checkpointing": True, "offload_optimizer": True, "micro_batch": micro_batch}
    return {f"z{zero}-mb{micro_batch}-ckpt-offload": {"status": "killed", "signal": 9, "iteration_times_s": [],
                                                        "baseline_config": config}}


def test_a_host_kill_dominates_the_offload_stage_at_every_micro_batch():
    w = Workload("llama-7b", 1, 78, 4096, 16)
    killed = host_kill(2, 8)
    assert "kill of micro-batch 8" in skip_reason(w, Config(2, 2, True, True), killed)
    assert skip_reason(w, Config(3, 2, True, True), killed) is None  # ZeRO-3 keeps less host state
    after_steps = {"z2-mb8-ckpt-offload": {**killed["z2-mb8-ckpt-offload"], "iteration_times_s": [9.0]}}
    assert skip_reason(w, Config(2, 2, True, True), after_steps) is None  # killed mid-run: not the host state
    other_signal = {"z2-mb8-ckpt-offload": {**killed["z2-mb8-ckpt-offload"], "signal": 15}}
    assert skip_reason(w, Config(2, 2, True, True), other_signal) is None


def test_a_zero3_host_kill_dominates_zero2_offload_too():
    w = Workload("llama3-8b", 1, 78, 4096, 16)
    killed = host_kill(3, 8)
    assert "kill of ZeRO-3 + CPU Adam at micro-batch 8" in skip_reason(w, Config(2, 1, True, True), killed)
    assert "kill" not in skip_reason(w, Config(2, 1, True), killed)  # no offload: skipped for its GPU memory only
    assert untried(w, killed) == []


def test_offload_is_the_fallback_grid():
    w = Workload("llama-7b", 2, 40, 4096, 32)
    assert next_config(w, grid(w), {}, {}) is None  # nothing fits without offload
    offload = grid(w, offload=True)
    assert {c.zero for c in offload} == {2, 3} and all(c.offload and c.checkpointing for c in offload)
    assert next_config(w, offload, {}, {}) == Config(2, 1, True, True)


@pytest.mark.distributed
def test_two_grid_points_on_two_cpu_ranks(tmp_path):
    pytest.importorskip("transformers")
    LLAMA.save(tmp_path / "tiny.json")
    workload = {"model": str(tmp_path / "tiny.json"), "num_gpus": 2, "cap_gib": None, "seq_len": 32,
                "global_batch": 8}
    env = {**os.environ, "DS_ACCELERATOR": "cpu", "OMP_NUM_THREADS": "1", "PYTHONPATH": child_pythonpath(ROOT),
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run([sys.executable, "bench/baseline/grid.py", "run", "--workload-json", json.dumps(workload),
                           "--name", "tiny", "--out", str(tmp_path / "out"), "--zero-stages", "1,3",
                           "--micro-batches", "4", "--checkpointing", "on", "--steps", "3", "--warmup", "1",
                           "--results", str(tmp_path / "results"), "--early-stop-ratio", "1e-6"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    bundle = json.loads((tmp_path / "out" / "baseline_tiny.json").read_text())
    assert [run["config"] for run in bundle["runs"]] == ["z1-mb4-ckpt", "z3-mb4-ckpt"]
    # the second point runs with --stop-above-s 1e-6 x the first's median: it stops after its first timed step
    for run, steps in zip(bundle["runs"], (3, 2)):
        result = run["result"]
        assert result["status"] == "ok", run["log_tail"][-2000:]
        assert result["baseline_config"]["checkpointing"] and result["num_gpus"] == 2
        report = run_report(result)
        assert report.median_iteration_time_s > 0 and len(report.losses) == steps and report.gpu_name == "cpu"
    first = bundle["runs"][0]["result"]
    assert "stopped_early_above_s" not in first
    assert bundle["runs"][1]["result"]["stopped_early_above_s"] == pytest.approx(
        1e-6 * first["median_iteration_time_s"], abs=1e-3)
    # the second point's budget is its estimate scaled by the first point's wall / estimate in this call
    one, two = bundle["runs"]
    assert one["budgeted_s"] == one["expected_s"]
    assert two["budgeted_s"] == pytest.approx(two["expected_s"] * one["wall_s"] / one["expected_s"], rel=0.01, abs=0.1)
    lines = unpack(bundle, tmp_path / "results")
    assert len(lines) == 2 and (tmp_path / "results" / "tiny" / "z3-mb4-ckpt.json").exists()
