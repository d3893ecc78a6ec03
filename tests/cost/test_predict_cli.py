"""`python -m mist_ds.predict`: JSON keys, tables, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mist_ds import gpuinfo
from mist_ds.config import Plan, get_preset
from mist_ds.emit.outputs import OUTPUT_FILES
from mist_ds.predict import main
from tests.helpers import make_plan


def _plan(cap_gib=None) -> Plan:
    model = get_preset("llama-1.3b")
    half = model.num_layers // 2
    return make_plan(model, [{"end": half, "num_recompute_layers": 2},
                             {"end": model.num_layers, "num_recompute_layers": 2}],
                     dp=2, micro_batch=1, global_batch=16, seq_len=2048,
                     gpu_memory_cap_bytes=None if cap_gib is None else int(cap_gib * 2**30))


@pytest.fixture
def plan_path(tmp_path):
    path = tmp_path / "plan.json"
    _plan().save(path)
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


def test_hardware_auto_predicts_on_this_nodes_profile(plan_path, capsys, monkeypatch):
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: 16)
    assert main([str(plan_path), "--hardware", "auto", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hardware_name"] == "h200-1gpu-node"
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: None)
    assert main([str(plan_path), "--hardware", "auto"]) == 2
    err = capsys.readouterr().err
    assert "no GPU visible" in err and err.count("\n") == 1


def test_unknown_hardware_is_a_one_line_error(plan_path, capsys):
    assert main([str(plan_path), "--hardware", "h300"]) == 2
    err = capsys.readouterr().err
    assert "unknown hardware profile" in err and err.count("\n") == 1


def test_a_plan_tuned_on_a_profile_file_asks_for_that_file(plan_path, tmp_path, capsys):
    from mist_ds.config import Plan
    from mist_ds.config.profiles import load_hardware

    calibrated = tmp_path / "my-node.json"
    calibrated.write_text(load_hardware("h200").model_copy(update={"name": "my-node"}).model_dump_json())
    assert main([str(plan_path), "--hardware", str(calibrated), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert Plan.load(tmp_path / "out" / "plan.json").prediction.hardware_name == "my-node"
    assert main([str(tmp_path / "out" / "plan.json")]) == 2
    err = capsys.readouterr().err
    assert "predicted on profile 'my-node'" in err and "--hardware PATH" in err and err.count("\n") == 1
    assert main([str(tmp_path / "out" / "plan.json"), "--hardware", str(calibrated)]) == 0


def test_module_entry_point(plan_path):
    proc = subprocess.run([sys.executable, "-m", "mist_ds.predict", str(plan_path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stages"][0]["peak_memory_bytes"] > 0


def test_out_renders_the_autotune_folder_for_a_hand_written_plan(plan_path, tmp_path, capsys):
    out = tmp_path / "rendered"
    assert main([str(plan_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    written = Plan.load(out / "plan.json")
    assert written.without_prediction() == Plan.load(plan_path)
    assert written.prediction is not None
    assert "## Plan" in (out / "report.md").read_text()


def test_a_plan_over_its_cap_exits_3_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "plan.json"
    _plan(cap_gib=1).save(path)
    out = tmp_path / "rendered"
    assert main([str(path), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GiB over the 1.00 GiB cap" in err
    assert not out.exists()


def test_a_seq_len_beyond_the_model_is_refused_like_autotune(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text(_plan().model_copy(update={"seq_len": 10**6}).to_json())
    assert main([str(path)]) == 2
    assert "exceeds" in capsys.readouterr().err
