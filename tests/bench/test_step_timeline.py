"""bench/engine/step_timeline.py: the phases of a synthetic mistpipe iteration (passes, reduce up to
the fp32 norm all-reduce, update after it), copy directions at once and idle time, and the committed
S5 'optimizer' digest against the numbers STEP_TIMELINE.md quotes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.engine import step_timeline as st

ROOT = Path(__file__).resolve().parents[2]
S5 = ROOT / "bench" / "results" / "engine" / "s5_trace_digests" / "offload"


def _digest() -> dict:
    """Compute stream '7': a GEMM 0-100 us, another 200-300 (the passes, with a 100 us gap); a
    1 GB d2h 300-400 (reduce), the norm all-reduce 400-410; then a fused Adam 410-430, an h2d
    410-510 and a d2h 460-560 (50 us of both at once), nothing 560-600, a last kernel 600-610."""
    ev = [["7", 0, 100, "kernel", None, "nvjet_gemm"], ["7", 200, 100, "kernel", None, "nvjet_gemm"],
          ["61", 300, 100, "gpu_memcpy", 10**9, "Memcpy DtoH (Device -> Pinned)"],
          ["7", 400, 10, "kernel", None, "ncclDevKernel_AllReduce_Sum_f32_RING_LL"],
          ["7", 410, 20, "kernel", None, "multi_tensor_apply_kernel"],
          ["57", 410, 100, "gpu_memcpy", 2 * 10**9, "Memcpy HtoD (Pinned -> Device)"],
          ["61", 460, 100, "gpu_memcpy", 3 * 10**9, "Memcpy DtoH (Device -> Pinned)"],
          ["7", 600, 10, "kernel", None, "elementwise"], ["cpu", 0, 900, "cpu_op", None, "aten::to"]]
    return {"copy_overlap": {"compute_stream": 7}, "events": ev}


def test_phases_of_a_synthetic_iteration():
    tl = st.timeline(_digest())
    assert tl["span_ms"] == pytest.approx(0.61)
    assert tl["passes"]["wall_ms"] == pytest.approx(0.3) and tl["passes"]["idle_ms"] == pytest.approx(0.1)
    assert tl["reduce"]["d2h_ms"] == pytest.approx(0.1) and tl["reduce"]["d2h_gb"] == pytest.approx(1.0)
    up = tl["update"]
    assert up["wall_ms"] == pytest.approx(0.2) and up["adam_ms"] == pytest.approx(0.02)
    assert up["h2d_ms"] == pytest.approx(0.1) and up["d2h_ms"] == pytest.approx(0.1)
    assert up["h2d_and_d2h_ms"] == pytest.approx(0.05)
    assert up["idle_ms"] == pytest.approx(0.04)  # 560-600: nothing on the GPU
    assert up["h2d_gbps"] == pytest.approx(2e4) and up["d2h_gb"] == pytest.approx(3.0)  # 2 GB in 100 us
    assert tl["step_ms"] == pytest.approx(0.31)


def test_the_committed_swap_step():
    """S5 'optimizer' (gpu_swap, 355.8M offloaded elements per rank), rank 0: the update is the
    swap's copies, h2d-bound, with both directions at once for most of it."""
    path = S5 / "optimizer" / "optimizer_rank0.digest.json.gz"
    with gzip.open(path, "rt") as handle:
        tl = st.timeline(json.load(handle))
    up = tl["update"]
    assert up["h2d_gb"] == pytest.approx(5.69, abs=0.01)  # 16 B/element in
    assert up["d2h_gb"] == pytest.approx(4.27, abs=0.01)  # 12 B/element out
    assert 150 < up["wall_ms"] < 156 and up["h2d_ms"] > 0.9 * up["wall_ms"]
    assert up["h2d_and_d2h_ms"] > 0.55 * up["wall_ms"]
    assert tl["reduce"]["d2h_gb"] == pytest.approx(1.42, abs=0.01)  # the early fp32 gradients
