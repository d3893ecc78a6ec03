"""`python -m mist_ds.autotune` end to end: the output folder, determinism, --json, exit 3. Calls
`main(argv)` in-process (fast); one run goes through the real `python -m` entry in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mist_ds import gpuinfo
from mist_ds.autotune import main
from tests.helpers import run_in_process

ROOT = Path(__file__).resolve().parents[1]
TUNE = ["--model", "llama-7b", "--nodes", "1", "--gpus-per-node", "4", "--global-batch", "64",
        "--seq-len", "4096", "--hardware", "h100-sxm-80gb"]  # `make tune`
FILES = {"plan.json", "ds_config.json", "hostfile", "launch.sh", "report.md", "plan.png", "fallback", "hf"}


def autotune_subprocess(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mist_ds.autotune", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def autotune(args, cwd):
    """mist_ds.autotune.main(args) in this process, in `cwd`."""
    return run_in_process(main, args, cwd)


@pytest.fixture(scope="module")
def tuned_twice(tmp_path_factory):
    # the first through `python -m mist_ds.autotune` (the real entry), the second in-process
    base = tmp_path_factory.mktemp("tune")
    runs = [autotune_subprocess([*TUNE, "--out", str(base / "a")], cwd=base),
            autotune([*TUNE, "--out", str(base / "b")], cwd=base)]
    return base, runs


def test_make_tune_writes_the_folder(tuned_twice):
    base, runs = tuned_twice
    assert runs[0].returncode == 0, runs[0].stderr
    from mist_ds.config import Plan
    from mist_ds.emit.hf import hf_trainer_blocker

    expressible = hf_trainer_blocker(Plan.load(base / "a" / "plan.json")) is None   # hf/ only where the Trainer can run it
    assert {p.name for p in (base / "a").iterdir()} == (FILES if expressible else FILES - {"hf"})
    assert "top" in runs[0].stdout and "llama-7b" not in runs[0].stderr
    launch = (base / "a" / "launch.sh").read_text()
    assert "--no_ssh_check" in launch and "--module mist_ds.train --plan plan.json" in launch
    assert (base / "a" / "hostfile").read_text() == "localhost slots=4\n"


def test_same_input_gives_byte_identical_plan(tuned_twice):
    base, _ = tuned_twice
    for name in ("plan.json", "ds_config.json", "report.md", "hostfile"):
        assert (base / "a" / name).read_bytes() == (base / "b" / name).read_bytes(), name


def test_json_lists_the_top_k(tmp_path):
    result = autotune(["--model", "gpt-1.3b", "--gpus-per-node", "2", "--global-batch", "32",
                       "--seq-len", "2048", "--top", "3", "--json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    plans = summary["plans"]
    assert [p["rank"] for p in plans] == [1, 2, 3]
    assert plans[0]["plan"]["prediction"]["iteration_time_s"] == pytest.approx(plans[0]["iteration_time_s"])
    assert summary["out"] is None and not any(tmp_path.iterdir())


def test_hostfile_cluster(tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node-a slots=2\nnode-b slots=2\n")
    out = tmp_path / "out"
    result = autotune(["--model", "gpt-1.3b", "--hostfile", str(hostfile), "--global-batch", "32",
                       "--seq-len", "2048", "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "hostfile").read_text() == "node-a slots=2\nnode-b slots=2\n"
    assert "--no_ssh_check" not in (out / "launch.sh").read_text()


def test_impossible_request_exits_3_with_the_memory_floor(tmp_path):
    out = tmp_path / "out"
    result = autotune(["--model", "llama-70b", "--gpus-per-node", "1", "--global-batch", "8",
                       "--seq-len", "4096", "--no-offload", "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "smallest per-GPU memory any plan needs" in lines[0] and "over the cap" in lines[0]
    assert "pp1 x dp1 x tp1" in lines[0]
    assert not out.exists()


def test_impossible_request_json_gives_the_floor(tmp_path):
    result = autotune(["--model", "llama-70b", "--gpus-per-node", "1", "--global-batch", "8",
                       "--seq-len", "4096", "--no-offload", "--json"], cwd=tmp_path)
    assert result.returncode == 3
    summary = json.loads(result.stdout)
    assert summary["status"] == "infeasible" and summary["plans"] == []
    assert summary["floor"]["over_cap_bytes"] > 0 and summary["floor"]["layers_per_stage"] == [80]


def test_nodes_without_hostfile_get_placeholder_hosts(tmp_path):
    out = tmp_path / "out"
    result = autotune(["--model", "gpt-1.3b", "--nodes", "2", "--gpus-per-node", "2", "--global-batch", "32",
                       "--seq-len", "2048", "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "placeholder" in result.stderr
    lines = (out / "hostfile").read_text().splitlines()
    assert lines[0].startswith("#") and lines[1:] == ["worker-0 slots=2", "worker-1 slots=2"]


@pytest.mark.parametrize("args, needle", [(["--top", "0"], "--top"), (["--max-micro-batch", "0"], "max_micro_batch")])
def test_bad_flags_exit_2(tmp_path, args, needle):
    result = autotune([*TUNE, *args, "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert result.returncode == 2 and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_sequence_past_the_models_attention_window_exits_2(tmp_path):
    """Mistral-7B's config.json sets sliding_window 4096; mist_ds trains full causal attention only."""
    mistral = str(Path(__file__).resolve().parent / "data" / "hf_configs" / "mistral-7b")
    result = autotune(["--model", mistral, "--gpus-per-node", "1", "--global-batch", "8", "--seq-len", "8192",
                       "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert result.returncode == 2 and "sliding attention window of 4096 tokens" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


AUTO = ["--model", "gpt-1.3b", "--gpus-per-node", "1", "--global-batch", "8", "--seq-len", "2048",
        "--hardware", "auto"]


@pytest.mark.parametrize("cores, profile", [(16, "h200-1gpu-node"), (32, "h200")])
def test_hardware_auto_tunes_on_this_nodes_profile(tmp_path, monkeypatch, cores, profile):
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: cores)
    table = autotune(AUTO, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert f"plans on {profile} (" in table.stdout and "auto" not in table.stdout
    summary = json.loads(autotune([*AUTO, "--json"], cwd=tmp_path).stdout)
    assert {p["plan"]["prediction"]["hardware_name"] for p in summary["plans"]} == {profile}


@pytest.mark.parametrize("gpu, fragment", [(None, "no GPU visible"), ("Tesla T4", "'Tesla T4'")])
def test_hardware_auto_without_a_shipped_profile_exits_2(tmp_path, monkeypatch, gpu, fragment):
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: gpu)
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: 16)
    result = autotune([*AUTO, "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr and "python -m mist_ds.profile" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_fused_head_loss_is_weighed_unless_switched_off(tmp_path):
    """Where the logits bind memory (GPT-125M, 2 GPUs, 1.4 GiB) the search's winner computes the head and its loss
    chunk by chunk (Plan.head_loss 'fused', the default SearchSpace.fused_head_loss); --no-fused-head-loss keeps
    every plan on the logits path."""
    small = ["--model", "gpt-125m", "--gpus-per-node", "2", "--global-batch", "16", "--seq-len", "2048",
             "--memory-gb", "1.4", "--memory-margin", "0", "--no-offload-activations", "--hardware", "h100-sxm-80gb"]
    heads = {}
    for name, extra in (("weighed", []), ("off", ["--no-fused-head-loss"])):
        assert autotune([*small, *extra, "--out", str(tmp_path / name)], cwd=tmp_path).returncode == 0
        plans = [tmp_path / name / "plan.json", *sorted((tmp_path / name / "fallback").glob("*/plan.json"))]
        heads[name] = [json.loads(p.read_text()).get("head_loss", "logits") for p in plans]
    assert heads["weighed"][0] == "fused"
    assert set(heads["off"]) == {"logits"}
