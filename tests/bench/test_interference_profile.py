"""bench/accuracy/interference_profile.py and median_fields.py: the shipped H100 node profile's interference is the
median of its raw files, a change shows, and each script replaces only its own provenance sentence."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench.accuracy.interference_profile import combined
from bench.accuracy.median_fields import MARKS, replace_sentence

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "accuracy" / "interference_profile.py"
STEP_SCRIPT = ROOT / "bench" / "accuracy" / "cpu_step_profile.py"
PROFILE = ROOT / "mist_ds" / "profiles" / "h100-1gpu-node.json"
NODE_RAW = str(ROOT / "profiling" / "profiles" / "raw" / "h100-1gpu-node.raw.json")
RAWS = [NODE_RAW, *sorted(glob.glob(str(ROOT / "bench" / "results" / "runtime" / "h100_interference_S48" / "*.raw.json")))]
STEP_RAWS = [NODE_RAW, *sorted(glob.glob(str(ROOT / "bench" / "results" / "runtime" / "h100_cpu_step_S47" / "*.raw.json")))]


def _run(script, *args):
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_shipped_profile_matches_its_raw_files():
    assert len(RAWS) == 4
    result = _run(SCRIPT, "--check", PROFILE, *RAWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_slowdown_is_the_median_of_the_files_that_measured_its_set():
    raws = [{"interference": [{"channels": ["h2d", "d2h"], "slowdowns": [s, 1.1]}]} for s in (1.5, 1.2, 1.3)]
    raws.append({"interference": [{"channels": ["compute", "h2d"], "slowdowns": [0.99, 1.02]}]})
    factors = {f.channels: f.slowdowns for f in combined(raws)[0]["interference"]}
    assert factors == {("h2d", "d2h"): (1.3, 1.1), ("compute", "h2d"): (1.0, 1.02)}  # floored at 1 like one run's


def test_writing_is_what_check_accepts_and_keeps_the_host_step_sentence(tmp_path):
    copy = tmp_path / "p.json"
    shutil.copy(PROFILE, copy)
    data = json.loads(copy.read_text())
    data["interference"][0]["slowdowns"] = [1.0, 1.5]
    copy.write_text(json.dumps(data))
    result = _run(SCRIPT, "--check", copy, *RAWS)
    assert result.returncode == 1 and "interference" in result.stdout
    assert _run(SCRIPT, copy, *RAWS).returncode == 0 and _run(SCRIPT, "--check", copy, *RAWS).returncode == 0
    assert _run(STEP_SCRIPT, copy, *STEP_RAWS).returncode == 0                # the other script writes after it
    notes = json.loads(copy.read_text())["provenance"]["notes"]
    assert all(notes.count(mark) == 1 for mark in MARKS)
    assert _run(SCRIPT, "--check", copy, *RAWS).returncode == 0 and _run(STEP_SCRIPT, "--check", copy, *STEP_RAWS).returncode == 0


def test_replace_sentence_keeps_the_other_marks_sentence_on_either_side():
    a, b = MARKS
    assert replace_sentence("x.", a, a + " new.") == "x." + a + " new."
    assert replace_sentence("x." + a + " old." + b + " keep.", a, a + " new.") == "x." + a + " new." + b + " keep."
    assert replace_sentence("x." + b + " keep." + a + " old.", a, a + " new.") == "x." + b + " keep." + a + " new."


def test_raw_files_without_interference_or_of_another_shape_and_a_missing_profile_are_one_line_and_exit_2(tmp_path):
    raw = tmp_path / "r.json"
    raw.write_text(json.dumps({"cpu_adam": []}))
    result = _run(SCRIPT, "--check", PROFILE, raw)
    assert result.returncode == 2 and "interference" in result.stderr and len(result.stderr.splitlines()) == 1
    raw.write_text(json.dumps({"interference": [{"channels": ["h2d", "d2h"]}]}))  # no slowdowns
    result = _run(SCRIPT, "--check", PROFILE, raw)
    assert result.returncode == 2 and "KeyError" in result.stderr and len(result.stderr.splitlines()) == 1
    result = _run(SCRIPT, "--check", tmp_path / "absent.json", *RAWS)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "absent.json" in result.stderr
