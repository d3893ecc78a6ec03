"""bench/runtime/trace_summary.py launch_rows: GPU work and the host calls that issued it, paired by correlation id."""

from __future__ import annotations

from bench.runtime.trace_summary import launch_rows


def test_a_copy_and_its_host_call_share_a_correlation_and_times_start_at_the_first_gpu_event():
    events = [
        {"cat": "cuda_runtime", "name": "cudaMemcpyAsync", "ts": 90.0, "dur": 4.0, "args": {"correlation": 7}},
        {"cat": "gpu_memcpy", "name": "Memcpy HtoD (Pinned -> Device)", "ts": 100.0, "dur": 900.0,
         "args": {"correlation": 7, "stream": 36}},
        {"cat": "kernel", "name": "gemm", "ts": 150.0, "dur": 50.0, "args": {"correlation": 8, "stream": 7}},
        {"cat": "cpu_op", "name": "aten::mm", "ts": 95.0, "dur": 3.0},
        {"ph": "M", "name": "process_name"},
    ]
    rows = launch_rows(events)
    assert [r[0] for r in rows] == ["cuda_runtime", "gpu_memcpy", "kernel"]
    call, copy, _ = rows
    assert call[4] == copy[4] == 7 and copy[5] == 36
    assert (call[2], copy[2]) == (-10.0, 0.0)  # the host issued the copy 10 us before it ran
