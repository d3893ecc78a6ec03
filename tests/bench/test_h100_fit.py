"""bench/accuracy/h100_fit.py: the donor terms it starts from, leave-one-out scoring, the table."""

from __future__ import annotations

from bench.accuracy import h100_fit as hf
from mist_ds.calibration import load_pairs
from mist_ds.config.profiles import load_hardware


def _start():
    return hf.start_profile("h100-sxm-80gb")


def test_the_start_carries_the_terms_the_shipped_profile_carries():
    shipped = load_hardware("h100-1gpu-node")
    assert all(getattr(_start(), term) == getattr(shipped, term) for term in hf.CARRIED)


def test_the_fitting_and_held_out_runs_are_the_batches_committed_runs():
    fitting, held, later = (hf.batch_runs(batches) for batches in (hf.FITTING, hf.HELD_OUT, hf.LATER))
    assert len(fitting) == 12 and len(held) == 3 and len(later) >= 10
    assert not set(fitting) & set(held + later) and not set(held) & set(later)
    assert all(p.name.startswith("h100") and p.exists() for p in fitting + held + later)


def test_leave_one_out_scores_each_run_by_a_fit_it_was_not_in():
    hw = _start()
    pairs = load_pairs(hf.batch_runs(hf.FITTING)[:3], None, hw)
    terms = ("host_microbatch_overhead_s",)
    loo = hf.leave_one_out(hw, pairs, terms)
    in_sample = hf.errors(hf.calibrate(hw, pairs, only=terms).profile, pairs)
    assert len(loo) == 3 and loo != in_sample
    assert sum(e * e for e in in_sample) <= sum(e * e for e in loo)      # the fit sees its own runs


def test_render():
    text = hf.render([("fit x", "x 1", "3.0% / 9.0% (signed median -1.0%)", "-", "-")], "h100-sxm-80gb", "today")
    assert "| fit x | x 1 | 3.0% / 9.0% (signed median -1.0%) | - | - |" in text and "on today" in text
    assert "pageable_h2d_bandwidth_gbps from h200-1gpu-node" in text and "| b49-b53, held out |" in text


def test_an_unknown_start_profile_is_one_line_and_exit_2(capsys):
    assert hf.main(["--start", "no-such-profile"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown hardware profile 'no-such-profile'")
