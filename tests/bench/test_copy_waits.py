"""bench/accuracy/copy_waits.py: compute kernels launched the moment a side-stream copy ended, per forward block."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.accuracy import copy_waits as cw
from bench.accuracy.trace_kernels import Kernel

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "bench" / "results" / "runtime"


def _k(name, start, dur, stream=7, category="gemm"):
    return Kernel(name, start, start + dur, stream, category)


def test_only_the_idle_a_copy_covers_before_a_kernel_starting_at_its_end_is_blocked():
    fwd = "cudnn_sdpa_flash_fprop"
    kernels = [_k(fwd, 0.0, 100.0, category="attention"),
               _k("Memcpy HtoD (Pinned -> Device)", 150.0, 1000.0, stream=24, category="side_stream"),
               _k("gemm_a", 400.0, 100.0),        # launched while the copy ran: no wait
               _k("norm", 1155.0, 10.0),           # 5 us after the copy's end: blocked from 500 (gemm_a's end)
               _k("gemm_b", 1500.0, 100.0),        # a gap with no copy ending before it: the host's own work
               _k(fwd, 2000.0, 100.0, category="attention")]
    (block,) = cw.block_waits(sorted(kernels, key=lambda k: k.start))
    assert block["blocked"] == pytest.approx(650.0)
    assert block["h2d"] == pytest.approx(1000.0) and block["span"] == pytest.approx(2000.0)


def test_committed_traces_the_per_submodule_llama_waits_on_its_copies_the_block_fetch_twin_does_not():
    # session 20's and 24's GPU-side digests of llama-2.7b with every weight offloaded, 1 GPU (bench/accuracy/
    # WEIGHT_OFFLOAD.md section 8): about 1.3 ms of each 6.5 ms forward block waits on the gate|up copy
    live = cw.summary(cw.block_waits(cw.load_kernels(RUNTIME / "l27w1_trace_S20" / "l27w1live.rank0.digest.json.gz")))
    blk = cw.summary(cw.block_waits(cw.load_kernels(RUNTIME / "w1_blk_trace_S24" / "l27w1blk.rank0.digest.json.gz")))
    assert 1.0 < live["blocked"] < 1.5 and blk["blocked"] == 0.0
    assert live["h2d"] == pytest.approx(blk["h2d"], rel=0.02)  # the same copies, waited on or not


def test_an_unreadable_trace_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("not json")
    out = subprocess.run([sys.executable, "bench/accuracy/copy_waits.py", str(bad)], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
