"""bench/runtime/memory_gate.py --read: memory kernels ungated against gated, per kernel, from a GPU log."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_log(path, passes):
    lines = ["# NVIDIA H200, torch x"]
    for gate, times in passes:
        lines.append(json.dumps({"gate_s": gate, "kernels": [{"kernel": k, "num_bytes": 1, "time_s": t, "spread": 0}
                                                              for k, t in times.items()]}))
    path.write_text("\n".join(lines) + "\n")


def read(log, *extra):
    return subprocess.run([sys.executable, "bench/runtime/memory_gate.py", "--read", str(log), *extra], cwd=ROOT,
                          capture_output=True, text=True)


def test_each_timing_is_the_median_of_its_passes_and_the_profiles_sample_sits_beside(tmp_path):
    log = tmp_path / "m.log"
    write_log(log, [(0.0, {"copy": 300e-6}), (0.005, {"copy": 280e-6}), (0.0, {"copy": 310e-6}),
                    (0.005, {"copy": 290e-6}), (0.0, {"copy": 900e-6}), (0.005, {"copy": 285e-6})])
    out = read(log, "--profile", "h200-1gpu-node")
    assert out.returncode == 0, out.stderr
    row = next(r for r in out.stdout.splitlines() if r.startswith("| copy |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:4] == ["310.0", "285.0", f"{285 / 310:.3f}"]  # the 900 us glitch is outvoted
    assert float(cells[4]) > 0  # the shipped profile times 'copy'


def test_a_log_without_an_ungated_pass_is_one_line_and_exit_2(tmp_path):
    log = tmp_path / "m.log"
    write_log(log, [(0.005, {"copy": 280e-6})])
    out = read(log)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "ungated" in out.stderr


def test_a_missing_log_is_one_line_and_exit_2(tmp_path):
    out = read(tmp_path / "none.log")
    assert out.returncode == 2 and "no such file" in out.stderr
