"""bench/runtime/launch_timeline.py: host-bound idle from launch times, forward block spans with the copies beside
them, and the committed launch-lag trace of session 61 read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.runtime import launch_timeline as lt

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "bench" / "results" / "runtime" / "launch_lag_S61" / "q17launch.rank0.launches.json.gz"


def _kernel(name, ts, dur, corr, stream=7):
    return ["kernel", name, ts, dur, corr, stream]


def _launch(ts, dur, corr):
    return ["cuda_runtime", "cudaLaunchKernel", ts, dur, corr, None]


def test_idle_is_host_bound_only_where_the_launch_came_after_the_previous_kernel():
    rows = [_kernel("a", 0.0, 100.0, 1), _launch(-10.0, 5.0, 1),
            _kernel("b", 150.0, 100.0, 2), _launch(20.0, 5.0, 2),      # launched early: a 50 us gap, GPU-side
            _kernel("c", 300.0, 100.0, 3), _launch(270.0, 20.0, 3),    # launch ended at 290: 40 of 50 us host-bound
            _kernel("d", 430.0, 100.0, 4), ["cuda_driver", "cuLaunchKernelEx", 400.0, 25.0, 4, None]]  # cuDNN's: 25
    (w,) = lt.windows(rows, window_us=1000.0)
    assert w["busy"] == pytest.approx(0.4)
    assert w["idle"] == pytest.approx(0.13)
    assert w["host_bound"] == pytest.approx(0.065)


def test_block_spans_count_the_copies_beside_each_block_and_skip_long_gaps():
    rows = [_kernel("flash_fprop_x", 0.0, 600.0, 1), _kernel("mlp", 600.0, 300.0, 2),
            _kernel("flash_fprop_x", 1000.0, 600.0, 3), _kernel("flash_fprop_x", 9000.0, 600.0, 4),
            ["gpu_memcpy", "Memcpy HtoD (Pinned -> Device)", 100.0, 950.0, 5, 36]]
    blocks = lt.block_spans(rows)
    assert len(blocks) == 1  # the 8 ms gap to the third is no block
    assert blocks[0]["span"] == pytest.approx(1.0)
    assert blocks[0]["busy"] == pytest.approx(0.9)
    assert blocks[0]["h2d"] == pytest.approx(0.9)


def test_block_spans_count_the_hosts_waits_between_the_two_attention_launches():
    rows = [_kernel("flash_fprop_x", 1000.0, 600.0, 1), _launch(100.0, 5.0, 1),
            _kernel("flash_fprop_x", 2000.0, 600.0, 2), _launch(1500.0, 5.0, 2),
            ["cuda_runtime", "cudaStreamSynchronize", 300.0, 400.0, 9, None],   # inside: 0.4 ms
            ["cuda_runtime", "cudaEventSynchronize", 1400.0, 200.0, 10, None],  # 100 of it before the launch
            ["cuda_runtime", "cudaMemcpyAsync", 800.0, 300.0, 11, None]]        # no wait
    (block,) = lt.block_spans(rows)
    assert block["host_wait"] == pytest.approx(0.5)


def test_pace_reads_the_hosts_spacing_from_the_launches_and_the_gpus_from_the_kernels():
    rows = [_kernel("flash_fprop", 1000.0, 500.0, 1), ["cuda_driver", "cuLaunchKernelEx", 100.0, 5.0, 1, None],
            _kernel("flash_fprop", 2000.0, 500.0, 2), ["cuda_driver", "cuLaunchKernelEx", 1300.0, 5.0, 2, None],
            _kernel("flash_bprop", 3000.0, 500.0, 3), ["cuda_driver", "cuLaunchKernelEx", 1400.0, 5.0, 3, None]]
    p = lt.pace(rows)
    assert set(p) == {"FF", "FB"}
    assert p["FF"]["host"] == pytest.approx(1.2) and p["FF"]["gpu"] == pytest.approx(1.0)
    assert p["FF"]["lag"] == pytest.approx(0.7)  # the second kernel started 0.7 ms after its launch
    assert p["FB"]["host"] == pytest.approx(0.1) and p["FB"]["lag"] == pytest.approx(1.6)


def test_committed_streamed_forward_is_paced_by_its_fills_not_the_host():
    rows = lt.load(str(COMMITTED))
    blocks = lt.block_medians(lt.block_spans(rows))
    middle = blocks[1:-1]
    assert all(b["span"] < 1.2 and b["h2d"] > b["busy"] for b in middle)
    first = lt.windows(rows, 50e3)[1:30]  # forward and backward, before the optimizer step's tail
    assert sum(w["host_bound"] for w in first) < 0.01 * sum(w["busy"] for w in first)
    p = lt.pace(rows)  # the host's forward pass is slower than the GPU's, its lead from the backward hides it
    assert p["FF"]["host"] > p["FF"]["gpu"] and p["BB"]["host"] < p["BB"]["gpu"] and p["FF"]["lag"] > 10


def test_a_file_that_is_no_launch_rows_gets_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "x.json.gz"
    bad.write_text("not gzip")
    assert lt.main([str(bad)]) == 2
    assert lt.main([str(tmp_path / "missing.json.gz")]) == 2
    assert capsys.readouterr().err.count("\n") == 2
