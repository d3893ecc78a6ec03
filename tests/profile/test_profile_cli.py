"""The profiler CLI on a CPU: one-line user errors with exit 2, re-assembly from raw, CPU Adam."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from mist_ds.config import HardwareProfile
from mist_ds.profile import cpu_adam
from mist_ds.profile.__main__ import main
from profile_synthetic import synthetic_raw


@pytest.mark.parametrize("argv, message", [
    (["--out", "x.txt"], "must name a .json"),
    (["--out", "x.json", "--sections", "matmul,bogus"], "unknown section"),
    (["--out", "x.json", "--from-raw", "/nonexistent.json"], "no such file"),
    (["--out", "x.json", "--fallback", "no-such-profile"], "unknown hardware profile"),
    (["--out", "x.json", "--gpus", "0"], "--gpus"),
])
def test_user_errors_exit_2_and_write_nothing(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA refusal")
def test_gpu_sections_refused_without_cuda(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "p.json")]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_from_raw_assembles_a_profile(tmp_path):
    raw = tmp_path / "r.json"
    raw.write_text(json.dumps(synthetic_raw()))
    out = tmp_path / "node.json"
    assert main(["--from-raw", str(raw), "--out", str(out)]) == 0
    hw = HardwareProfile.load(out)
    assert hw.name == "node" and hw.provenance.source == "measured"


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "mist_ds.profile", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "--quick" in result.stdout


def test_cpu_adam_rate_without_deepspeed_build():
    ticks = []
    records, beside = cpu_adam.cpu_adam(2**16, 2, 3, None, lambda: ticks.append(1))
    assert [r["num_threads"] for r in records] == [1, 2] == cpu_adam.thread_counts(2)
    assert all(r["params_per_s"] > 0 and r["impl"] == "torch-adam-foreach" for r in records)
    assert all(r["cast_params_per_s"] > 0 for r in records)
    assert beside is None  # no GPU here: nothing streams beside the host's step
    assert len(ticks) == 2
    assert cpu_adam.thread_counts(12) == [1, 2, 4, 8, 12]
