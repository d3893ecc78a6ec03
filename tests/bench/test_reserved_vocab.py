"""bench/accuracy/reserved_vocab.py on the committed accuracy report: its samples rebuild the report's own
reserved predictions, its 'vocab' model fitted on every stage is the shipped VOCAB_HOLE, and it scores held out."""

from __future__ import annotations

import json

import pytest

from bench.accuracy import reserved_vocab as rv
from mist_ds.cost.reserved import VOCAB_HOLE


@pytest.fixture(scope="module")
def stages():
    return rv.samples(json.loads(rv.ACCURACY.read_text()))


def test_the_shipped_coefficient_scores_the_stages_as_the_report_does(stages):
    report = json.loads(rv.ACCURACY.read_text())
    expected = {(run["name"], stage["stage"]): stage["predicted_reserved_bytes"] / stage["reserved_bytes"] - 1
                for run in report["runs"] for stage in run["memory"] if stage["reserved_bytes"]}
    shipped = lambda s: VOCAB_HOLE * s["V"]  # noqa: E731
    names = {s["name"] for s in stages}
    rows = [(k, v) for k, v in expected.items() if k[0] in names]
    assert len(stages) >= 80 and len(rows) == len(stages)
    errors = sorted(rv.error(s, shipped) for s in stages)
    assert errors == pytest.approx(sorted(v for _, v in rows), abs=1e-6)
    fitted = rv.fit_model("vocab", stages)
    assert fitted(stages[0]) == pytest.approx(VOCAB_HOLE * stages[0]["V"], rel=0.02)  # the fit rounds to 0.01


def test_models_fit_on_one_half_score_the_other_and_a_stage_at_its_cap_gives_no_sample(stages, capsys):
    assert any(s["at_cap"] for s in stages) and all(s["V"] > 0 for s in stages)
    for kind in rv.KINDS:
        assert len(rv.held_out(stages, kind)) == len(stages)
    at_cap = [dict(s, R=s["cap"], P=s["P"] / 2) for s in stages if s["at_cap"]]   # a huge "gap": ignored
    assert rv.fit_model("vocab", stages + at_cap)(stages[0]) == rv.fit_model("vocab", stages)(stages[0])
    with pytest.raises(ValueError, match="unknown hole model"):
        rv.fit_model("median", stages)
    assert rv.main([]) == 0 and "| vocab |" in capsys.readouterr().out


def test_an_unreadable_report_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"runs": [{"status": "ok"}]}')
    for path in (tmp_path / "missing.json", tmp_path / "bad.json"):
        assert rv.main(["--accuracy", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
