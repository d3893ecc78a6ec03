"""bench/accuracy/backward_streams.py: a backward's compute and side streams, from a synthetic digest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.accuracy import backward_streams as bs
from bench.engine.trace_digest import digest

FPROP, BPROP = "cudnn_sdpa_flash_fprop_kernel", "cudnn_sdpa_flash_bprop_kernel"


def _event(name: str, ts: float, dur: float, stream: int = 7, cat: str = "kernel") -> dict:
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "tid": stream, "args": {"stream": stream}}


def _step() -> list[dict]:
    """Two micro-batches of two blocks (ms as us x 1000): forward 2 x (gemm 10 + attention 5); backward
    2 x (attention 10 + gemm 20) on the compute stream, and on stream 28 a 40 ms copy from 10 ms into
    each backward (all of it beside compute); the host waits in one 25 ms event synchronize per
    backward; 1 ms between micro-batches; then an Adam kernel 5 ms after the last event."""
    ms, events, t = 1000.0, [], 0.0
    for _ in range(2):
        for _ in range(2):
            events += [_event("nvjet_gemm", t, 10 * ms), _event(FPROP, t + 10 * ms, 5 * ms)]
            t += 15 * ms
        start = t
        for _ in range(2):
            events += [_event(BPROP, t, 10 * ms), _event("nvjet_gemm_bwd", t + 10 * ms, 20 * ms)]
            t += 30 * ms
        events.append(_event("Memcpy DtoH (Device -> Pinned)", start + 10 * ms, 40 * ms, stream=28, cat="gpu_memcpy"))
        events.append(_event("cudaEventSynchronize", start + 5 * ms, 25 * ms, stream=0, cat="cuda_runtime"))
        t = max(t, start + 50 * ms) + 1 * ms
    events.append(_event("multi_tensor_apply_kernel_adam", t + 5 * ms, 2 * ms))
    return events


def test_each_backward_is_split_into_compute_side_both_and_host_waits(tmp_path):
    path = tmp_path / "t.digest.json.gz"
    path.write_bytes(gzip.compress(json.dumps(digest(_step())).encode()))
    rows = bs.backward_streams(path, 2)
    assert len(rows) == 2
    first, last = rows[0]["backward"], rows[1]["backward"]
    assert rows[0]["forward"]["wall"] == pytest.approx(20.0)   # first forward to first backward attention
    # to the next micro-batch's first attention kernel: its first GEMM (10 ms) and a 1 ms gap fall in it
    assert first["wall"] == pytest.approx(71.0)
    assert first["compute"] == pytest.approx(70.0) and first["side"] == pytest.approx(40.0)
    assert first["both"] == pytest.approx(40.0) and first["union"] == pytest.approx(70.0)
    assert first["event_waits"] == pytest.approx(25.0) and first["stream_waits"] == 0.0
    assert last["wall"] == pytest.approx(60.0)           # ends at its last event before the Adam kernel
    assert last["compute"] == pytest.approx(60.0) and last["both"] == pytest.approx(40.0)
    assert "| 0 | 20.0 | 71.0 | 70.0 | 40.0 | 40.0 | 70.0 | 25.0 | 0.0 |" in bs.table(rows)


def test_a_trace_that_does_not_cut_into_its_layers_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "t.digest.json.gz"
    path.write_bytes(gzip.compress(json.dumps(digest(_step())).encode()))
    assert bs.main([str(path), "--layers", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert bs.main([str(Path(tmp_path / "missing.json")), "--layers", "2"]) == 2
