"""The after-the-fact clock emulation of bench/accuracy/gemm_share.py: the power balance of S29-2's sweep."""

from __future__ import annotations

import pytest

from bench.accuracy.gemm_share import F_LOOP, F_MAX, T_A, T_B, clock_factor, faster_gemms
from mist_ds.config.hw_lookup import matmul_time_s
from mist_ds.config.profiles import load_hardware


def test_gemms_alone_run_at_the_loops_clock_and_idle_gaps_lift_it_to_the_cards():
    assert clock_factor(1.0, 0.0, 0.0) == (F_LOOP, 1.0)
    mhz, factor = clock_factor(0.3, 0.0, 0.7)
    assert mhz == F_MAX and factor == pytest.approx((T_A + T_B / F_MAX) / (T_A + T_B / F_LOOP))
    assert 0.8 < factor < 0.9  # the sweep: 9.71 ms at 1980 MHz against 11.55 at the loop's clock


def test_bandwidth_bound_kernels_lift_the_clock_less_than_idle_time():
    idle, _ = clock_factor(0.8, 0.0, 0.2)
    memory, _ = clock_factor(0.8, 0.2, 0.0)
    assert F_LOOP < memory < idle < F_MAX


def test_faster_gemms_scales_every_matmul_price():
    hw = load_hardware("h200")
    assert matmul_time_s(faster_gemms(hw), 4096, 4096, 4096) == pytest.approx(
        matmul_time_s(hw, 4096, 4096, 4096) / 1.1)


def test_a_missing_or_empty_report_is_one_line_and_exit_2(tmp_path, capsys):
    from bench.accuracy.gemm_share import main

    assert main(["--accuracy", str(tmp_path / "none.json")]) == 2
    (tmp_path / "empty.json").write_text('{"runs": []}')
    assert main(["--accuracy", str(tmp_path / "empty.json")]) == 2
    assert all(line.startswith("error: ") for line in capsys.readouterr().err.splitlines())
