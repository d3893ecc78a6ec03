"""bench/runtime/clocks.py: per-run SM clock and power from a call's nvidia-smi log (the numbers
bench/accuracy/FUSED_CREDIT.md quotes for S9-4 are re-derived from the committed files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.runtime import clocks

FOLDER = Path(__file__).resolve().parents[2] / "bench" / "results" / "runtime" / "fastest_1g"


def test_s9_4_clocks_per_run(tmp_path):
    shutil.copy(FOLDER / "clocks_S9-4.csv", tmp_path / "clocks.csv")
    shutil.copy(FOLDER / "runs_S9-4.txt", tmp_path / "runs.txt")
    out = tmp_path / "table.json"
    assert clocks.main([str(tmp_path), "--json", str(out)]) == 0
    table = json.loads(out.read_text())
    assert list(table) == ["fastest-a", "eager-a", "fastest-b", "eager-b"]
    assert [table[k]["sm_mhz_median"] for k in table] == [1665, 1755, 1680, 1755]
    assert all(0.96 < row["reason_share"]["sw power cap"] < 0.98 for row in table.values())
    assert all(row["busy_samples"] > 50 for row in table.values())


def test_missing_log_is_a_one_line_error(tmp_path, capsys):
    assert clocks.main([str(tmp_path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
