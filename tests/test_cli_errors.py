"""User errors on the CLIs: exactly one stderr line, exit code 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mist_ds.autotune import main as autotune_main
from tests.helpers import run_in_process

ROOT = Path(__file__).resolve().parents[1]
BASE = ["--gpus-per-node", "2", "--global-batch", "32", "--seq-len", "2048"]


def run_autotune(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """mist_ds.autotune.main in-process (test_every_cli_reports_usage_errors_in_one_line below runs
    each CLI's real entry in a subprocess)."""
    return run_in_process(autotune_main, args, cwd)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "gpt-13bb", *BASE], "did you mean gpt-13b"),
        (["--model", "gpt-1.3b", "--gpus-per-node", "2", "--global-batch", "32",
          "--seq-len", "4096"], "exceeds"),
        (["--model", "gpt-1.3b", "--hostfile", "missing-hostfile", "--global-batch", "32",
          "--seq-len", "2048"], "hostfile missing-hostfile does not exist"),
        (["--model", "gpt-1.3b", "--global-batch", "32", "--seq-len", "2048"], "--gpus-per-node"),
        (["--model", "gpt-1.3b", "--gpus-per-node", "two", "--global-batch", "32",
          "--seq-len", "2048"], "invalid int value"),
        (["--model", "gpt-1.3b", *BASE, "--hardware", "tpu-v9"], "unknown hardware profile"),
        (["--model", "gpt-1.3b", *BASE, "--memory-gb", "-4"], "--memory-gb must be positive"),
        (["--model", "gpt-1.3b", *BASE, "--zero-stages", "1,5"], "--zero-stages"),
        (["--model", "no/such/config.json", *BASE], "does not exist"),
        (["--model", "gpt-1.3b", "--gpus-per-node", "0", "--global-batch", "32",
          "--seq-len", "2048"], "gpus_per_node"),
        (["--model", "gpt-1.3b", "--nodes", "0", *BASE], "num_nodes"),
        # Phi-3-mini-4k's sliding_window 2047: 2048 tokens are no longer full causal attention (2047 plans)
        (["--model", str(ROOT / "tests/data/hf_configs/phi-3-mini-4k"), *BASE],
         "seq_len 2048 exceeds Phi-3-mini-4k-instruct's sliding attention window of 2047 tokens"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    result = run_autotune([*args, "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_hostfile_disagreeing_with_flags(tmp_path: Path) -> None:
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("a slots=4\nb slots=4\n")
    result = run_autotune(["--model", "gpt-1.3b", "--hostfile", str(hostfile), "--nodes", "3",
                           "--global-batch", "32", "--seq-len", "2048"], cwd=tmp_path)
    assert result.returncode == 2
    assert "lists 2 hosts" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "mist_ds.predict"],
        ["-m", "mist_ds.predict", "plan.json", "--bogus"],
        ["-m", "mist_ds.compare", "plan.json"],
        ["-m", "mist_ds.profile", "--bogus"],
        [str(ROOT / "launch" / "train.py"), "--plan", "plan.json", "--steps", "0"],
        [str(ROOT / "profiling" / "calibrate.py"), "--profile", "no-such", "--memory-probe", "x"],
    ],
)
def test_every_cli_reports_usage_errors_in_one_line(tmp_path: Path, command: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, *command], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
