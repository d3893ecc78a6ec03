"""`python -m mist_ds.compare PLAN RUN --plot FILE.png` on a committed GPU run (issue 12)."""

from __future__ import annotations

from pathlib import Path

from mist_ds.compare import main

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "bench" / "results" / "accuracy" / "l7-2g-c78-pp2-16x16-z1-rc0x6"


def test_plot_writes_a_png_beside_the_table(tmp_path, capsys):
    out = tmp_path / "compare.png"
    assert main([f"{CASE}.plan.json", f"{CASE}.run.json", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "iteration time (s)" in capsys.readouterr().out
