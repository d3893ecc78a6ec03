"""bench/accuracy/loss_kernels.py: per GPU, the median bytes per logit of Liger's kernels over aligned steps."""

from __future__ import annotations

import pytest

from bench.accuracy.loss_kernels import main, summary


def _row(gpu: str, liger: float, aligned: bool = True, scale: float | None = 4.0) -> dict:
    return {"gpu": gpu, "aligned": aligned, "liger_bytes_per_logit": liger, "scale_bytes_per_logit": scale,
            "liger_gelu_fwd_bytes_per_logit": liger / 2, "scale_gelu_fwd_bytes_per_logit": None}


def test_the_summary_takes_each_gpus_median_and_leaves_unaligned_vocabularies_out():
    rows = [_row("A", 5.0), _row("A", 7.0), _row("A", 6.0, scale=None), _row("A", 30.0, aligned=False),
            _row("B", 4.0, scale=3.0)]
    out = summary(rows)
    assert out["A"] == {"steps": 3, "liger_bytes_per_logit": 6.0, "scale_bytes_per_logit": pytest.approx(4.0),
                        "liger_gelu_fwd_bytes_per_logit": 3.0}   # a rate no step has is left out
    assert out["B"] == {"steps": 1, "liger_bytes_per_logit": 4.0, "scale_bytes_per_logit": 3.0,
                        "liger_gelu_fwd_bytes_per_logit": 2.0}


def test_a_write_into_a_missing_directory_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--write", str(tmp_path / "no" / "such.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such directory" in err
