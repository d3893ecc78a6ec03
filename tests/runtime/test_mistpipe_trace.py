"""The copy-overlap analysis of profiler traces (pure, synthetic traces)."""

from __future__ import annotations

import json

import pytest

from mist_ds.runtime.mistpipe.trace import copy_overlap, kernel_overlap, trace_overlap


def ev(cat, name, ts, dur, stream):
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "args": {"stream": stream}}


def test_copies_under_compute_count_once_and_nccl_is_not_compute():
    events = [ev("kernel", "gemm", 0, 100, 7), ev("kernel", "gemm", 150, 50, 7),
              ev("kernel", "ncclDevKernel_AllGather", 100, 50, 30),  # comm: not compute
              ev("kernel", "tiny", 0, 5, 9),  # another stream, less time: not the compute stream
              ev("gpu_memcpy", "Memcpy HtoD (Pinned -> Device)", 80, 40, 13),  # 20 hidden
              ev("gpu_memcpy", "Memcpy DtoH (Device -> Pinned)", 90, 20, 14),  # overlaps the first
              ev("gpu_memcpy", "Memcpy DtoD (Device -> Device)", 0, 500, 7)]  # not host-device
    got = copy_overlap(events)
    assert got["compute_stream"] == 7 and got["copy_streams"] == [13, 14]
    assert got["copy_time_us"] == 40 and got["hidden_us"] == 20
    assert got["hidden_fraction"] == pytest.approx(0.5) and got["side_stream_copy_fraction"] == 1.0


def test_copies_on_the_compute_stream_are_not_side_stream_copies(tmp_path):
    events = [ev("kernel", "gemm", 0, 100, 7), ev("gpu_memcpy", "Memcpy HtoD", 100, 10, 7)]
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"traceEvents": events + [{"ph": "M", "name": "meta"}]}))
    got = trace_overlap(path)
    assert got["hidden_us"] == 0 and got["side_stream_copy_fraction"] == 0.0
    assert copy_overlap([])["hidden_fraction"] is None
    small = ev("gpu_memcpy", "Memcpy DtoH", 0, 5, 7)
    small["args"]["bytes"] = 4
    assert copy_overlap(events + [small], min_bytes=1024)["copy_time_us"] == 10


def test_kernels_by_name_against_the_compute_stream():
    events = [ev("kernel", "gemm", 0, 100, 7), ev("kernel", "FusedAdamMath", 50, 80, 20),
              ev("kernel", "multi_tensor_apply<Adam>", 200, 10, 7)]
    got = kernel_overlap(events, "adam")
    assert got["compute_stream"] == 7 and got["streams"] == [7, 20]
    assert got["time_us"] == 90 and got["overlap_us"] == 50 and got["num_kernels"] == 2
