"""bench/runtime/host_speed_log.py: a pinned sidecar's lines, and bad input in one line with exit 2."""

from __future__ import annotations

import os

import pytest

from bench.runtime.host_speed_log import core_mhz, main


def test_samples_are_appended_one_line_each_with_time_core_probe_and_mhz(tmp_path):
    out = tmp_path / "speed.log"
    core = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    try:
        assert main(["--core", str(core), "--interval", "0.01", "--samples", "2", "--out", str(out)]) == 0
    finally:
        os.sched_setaffinity(0, before)  # main pins the calling process
    lines = out.read_text().splitlines()
    assert len(lines) == 2
    stamp, logged_core, probe, mhz = lines[0].split()
    assert float(stamp) > 1e9 and int(logged_core) == core and 0 < float(probe) < 5
    assert mhz == "-" or float(mhz) > 0
    main(["--core", str(core), "--interval", "0.01", "--samples", "1", "--out", str(out)])
    os.sched_setaffinity(0, before)
    assert len(out.read_text().splitlines()) == 3  # appended, not replaced


@pytest.mark.parametrize("argv", [["--core", "100000", "--samples", "1"], ["--core", "0", "--interval", "0"],
                                  ["--core", "0", "--samples", "-1"]])
def test_bad_input_exits_2(tmp_path, argv, capsys):
    before = os.sched_getaffinity(0)
    with pytest.raises(SystemExit) as exit_:
        main(argv + ["--out", str(tmp_path / "x.log")])
    os.sched_setaffinity(0, before)
    assert exit_.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "x.log").exists()


def test_core_mhz_is_a_positive_number_or_none():
    mhz = core_mhz(min(os.sched_getaffinity(0)))
    assert mhz is None or mhz > 0
    assert core_mhz(100000) is None
