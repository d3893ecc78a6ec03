"""bench/accuracy/reserved_activation.py on the committed accuracy report: its samples rebuild the report's own
reserved predictions, and with no activation term it is today's model."""

from __future__ import annotations

import json

import pytest

from bench.accuracy import reserved_activation as ra
from mist_ds.cost.reserved import HOLES


@pytest.fixture(scope="module")
def stages():
    return ra.samples(json.loads(ra.ACCURACY.read_text()))


def test_without_the_activation_term_the_samples_score_as_the_report_does(stages):
    report = json.loads(ra.ACCURACY.read_text())
    expected = [stage["predicted_reserved_bytes"] / stage["reserved_bytes"] - 1
                for run in report["runs"] for stage in run["memory"] if stage["reserved_bytes"]]
    errors = [ra.error(s, HOLES, 0.0, "max") for s in stages]
    assert len(stages) >= 100 and all(min(abs(e - x) for x in expected) < 1e-9 for e in errors)
    assert ra.fit(stages, 0.0, "max") == HOLES   # the shipped coefficients are this fit (test_reserved)


def test_an_activation_term_adds_holes_and_the_nested_rows_choose_b_per_half(stages, capsys):
    big = max(stages, key=lambda s: s["act"])
    assert ra.hole(big, HOLES, 0.3, "sum") > ra.hole(big, HOLES, 0.0, "sum") > 0
    errors, chosen = ra.nested(stages, "max")
    assert len(errors) == len(stages) and len(chosen) == 2 and all(b in ra.B_GRID for b in chosen)
    assert ra.main([]) == 0 and "b fitted on the other half" in capsys.readouterr().out


def test_a_logits_term_counts_the_last_stages_logits_and_its_nested_rows_choose_from_its_grid(stages):
    """The logits candidate (session 60): only a last stage has logits, b x them adds to its hole, and each half
    chooses b from LOGITS_GRID."""
    assert any(s["logits"] > 0 for s in stages) and all(s["logits"] >= 0 for s in stages)
    big = max(stages, key=lambda s: s["logits"])
    assert ra.hole(big, HOLES, 1.0, "sum", "logits") - ra.hole(big, HOLES, 0.0, "sum", "logits") \
        == pytest.approx(big["logits"])
    errors, chosen = ra.nested(stages, "max", "logits")
    assert len(errors) == len(stages) and all(b in ra.LOGITS_GRID for b in chosen)
