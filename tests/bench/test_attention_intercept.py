"""bench/runtime/attention_intercept.py: the fixed share of a profile's attention samples."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.runtime.attention_intercept import fit_line, rows

ROOT = Path(__file__).resolve().parents[2]


def test_the_line_recovers_a_known_intercept_and_rate():
    flops = [1e9, 4e9, 2e10, 8e10]
    intercept, rate = fit_line(flops, [80e-6 + f / 5e14 for f in flops])
    assert intercept == pytest.approx(80e-6) and rate == pytest.approx(5e14)


def test_each_head_dim_of_a_shipped_profile_gets_a_row():
    table = rows("h100-1gpu-node")
    assert [row.split("|")[2].strip() for row in table] == ["64", "128"]


def test_an_unknown_profile_gets_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "bench/runtime/attention_intercept.py", "no-such-profile"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
