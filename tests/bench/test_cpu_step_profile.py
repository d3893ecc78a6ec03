"""bench/accuracy/cpu_step_profile.py: the shipped H100 node profile is what its raw files give, and a change shows."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "accuracy" / "cpu_step_profile.py"
PROFILE = ROOT / "mist_ds" / "profiles" / "h100-1gpu-node.json"
RAWS = [str(ROOT / "profiling" / "profiles" / "raw" / "h100-1gpu-node.raw.json"),
        *sorted(glob.glob(str(ROOT / "bench" / "results" / "runtime" / "h100_cpu_step_S47" / "*.raw.json")))]


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_shipped_profile_matches_its_raw_files():
    assert len(RAWS) == 8
    result = _run("--check", PROFILE, *RAWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_writing_is_what_check_accepts_and_a_moved_field_is_reported(tmp_path):
    copy = tmp_path / "p.json"
    shutil.copy(PROFILE, copy)
    data = json.loads(copy.read_text())
    data["cpu_step_d2h_slowdown"] = 1.0
    copy.write_text(json.dumps(data))
    result = _run("--check", copy, *RAWS)
    assert result.returncode == 1 and "cpu_step_d2h_slowdown" in result.stdout
    assert _run(copy, *RAWS).returncode == 0
    assert _run("--check", copy, *RAWS).returncode == 0
    assert json.loads(copy.read_text())["provenance"]["notes"].count("cpu_step_profile.py") == 1


def test_raw_files_without_the_beside_record_are_refused(tmp_path):
    raw = tmp_path / "r.json"
    raw.write_text(json.dumps({"cpu_adam": [{"num_threads": 1, "params_per_s": 1e9}]}))
    result = _run("--check", PROFILE, raw)
    assert result.returncode == 2 and "step_beside_d2h" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_missing_profile_is_one_line_and_exit_2(tmp_path):
    result = _run("--check", tmp_path / "absent.json", *RAWS)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "absent.json" in result.stderr
