"""`python -m mist_ds.predict`: JSON keys, tables, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset
from mist_ds.predict import main


@pytest.fixture
def plan_path(tmp_path):
    model = get_preset("llama-1.3b")
    half = model.num_layers // 2
    stages = tuple(StagePlan(layer_start=a, layer_end=b, micro_batch_size=1, dp=2, tp=1,
                             zero_stage=1, num_recompute_layers=2) for a, b in ((0, half),
                                                                               (half, model.num_layers)))
    plan = Plan(model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=4), global_batch_size=16,
                seq_len=2048, grad_accum_steps=8, stages=stages)
    path = tmp_path / "plan.json"
    plan.save(path)
    return path


def test_json_output_has_the_issue_keys(plan_path, capsys):
    assert main([str(plan_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["iteration_time_s"] > 0 and out["throughput_tokens_per_s"] > 0 and 0 < out["mfu"] < 1
    assert len(out["stages"]) == 2
    for stage in out["stages"]:
        assert set(stage["memory_breakdown_bytes"]) == {
            "weights", "gradients", "optimizer_states", "activations", "buffers"}
        assert sum(stage["memory_breakdown_bytes"].values()) == stage["peak_memory_bytes"]
        assert {"compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s",
                "pipeline_s"} <= set(stage["time_breakdown_s"])
        assert stage["cpu_memory_bytes"] == 0
    assert out["hardware_name"] == "h100-sxm-80gb"


def test_hardware_flag_and_tables(plan_path, capsys):
    assert main([str(plan_path), "--hardware", "h200"]) == 0
    text = capsys.readouterr().out
    assert "h200" in text and "iteration" in text and "per-GPU memory" in text


@pytest.mark.parametrize("content,fragment", [
    (None, "does not exist"),
    ("{", "not valid JSON"),
    ('{"model": 3}', "invalid plan"),
])
def test_bad_plans_are_one_line_errors(tmp_path, capsys, content, fragment):
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    assert main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert fragment in captured.err and captured.err.count("\n") == 1


def test_unknown_hardware_is_a_one_line_error(plan_path, capsys):
    assert main([str(plan_path), "--hardware", "h300"]) == 2
    err = capsys.readouterr().err
    assert "unknown hardware profile" in err and err.count("\n") == 1


def test_module_entry_point(plan_path):
    proc = subprocess.run([sys.executable, "-m", "mist_ds.predict", str(plan_path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stages"][0]["peak_memory_bytes"] > 0
