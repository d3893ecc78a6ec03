"""bench/runtime/attention_intercept.py: the fixed share of a profile's attention samples."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.runtime.attention_intercept import fit_line, forward_flops, rows
from mist_ds.config.hardware import AttentionSample

ROOT = Path(__file__).resolve().parents[2]


def test_the_line_recovers_a_known_intercept_and_rate():
    flops = [1e9, 4e9, 2e10, 8e10]
    intercept, rate = fit_line(flops, [80e-6 + f / 5e14 for f in flops])
    assert intercept == pytest.approx(80e-6) and rate == pytest.approx(5e14)


def test_causal_attention_counts_half_the_flops():
    full = AttentionSample(batch=2, num_heads=4, num_kv_heads=4, seq_len=1024, head_dim=64, causal=False,
                           fwd_time_s=1e-3, bwd_time_s=2e-3)
    assert forward_flops(full) == 4.0 * 2 * 4 * 1024 ** 2 * 64
    assert forward_flops(full.model_copy(update={"causal": True})) == forward_flops(full) / 2


def test_each_head_dim_of_a_shipped_profile_gets_a_row():
    table = rows("h100-1gpu-node")
    assert [row.split("|")[2].strip() for row in table] == ["64", "128"]


def test_an_unknown_profile_gets_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "bench/runtime/attention_intercept.py", "no-such-profile"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
