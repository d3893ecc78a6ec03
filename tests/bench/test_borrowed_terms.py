"""bench/accuracy/borrowed_terms.py: a donor's run-derived terms on a target's tables, each committed run of a
batch predicted as it ran on both."""

from __future__ import annotations

from bench.accuracy import borrowed_terms
from mist_ds.cli import exit_code
from mist_ds.config.hardware import RUN_DERIVED_FIELDS
from mist_ds.config.profiles import load_hardware


def test_borrowed_takes_every_run_derived_term_and_nothing_else():
    target, donor = load_hardware("h100-sxm-80gb"), load_hardware("h200-1gpu-node")
    mixed = borrowed_terms.borrowed(target, donor)
    assert all(getattr(mixed, f) == getattr(donor, f) for f in RUN_DERIVED_FIELDS)
    assert mixed.matmul_samples == target.matmul_samples and mixed.gpu_name == target.gpu_name
    assert mixed.prices_host_thread and not target.prices_host_thread


def test_the_terms_move_the_predictions_of_the_h100_runs():
    shipped = borrowed_terms.batch_errors("b46-1gpu-h100", load_hardware("h100-sxm-80gb"))
    node = borrowed_terms.batch_errors("b46-1gpu-h100", borrowed_terms.borrowed(
        load_hardware("h100-sxm-80gb"), load_hardware("h200-1gpu-node")))
    assert len(shipped) == len(node) == 6
    assert all(n >= s for s, n in zip(shipped, node) if abs(n - s) > 1e-9)  # host time only adds
    assert any(n - s > 0.01 for s, n in zip(shipped, node))


def test_bad_batch_or_profile_is_one_line_exit_2(capsys):
    assert exit_code(borrowed_terms.main, ["--batches", "b0-none"]) == 2
    assert exit_code(borrowed_terms.main, ["--donors", "no-such", "--batches", "b46-1gpu-h100"]) == 2
    assert exit_code(borrowed_terms.main, ["--target", "h100-1gpu-node", "--family", "no-such"]) == 2
    assert all(line.startswith("error:") for line in capsys.readouterr().err.strip().splitlines())


def test_a_family_takes_every_scored_run_of_it_on_the_target():
    """--family: every finished mistpipe run the report scores on h100-1gpu-node, repeats included; the H200 node's
    mistpipe host terms only add time (S59: they mend the streamed small-block plans and overshoot GPT-1.3B)."""
    shipped = borrowed_terms.family_errors("h100-1gpu-node", "mistpipe", load_hardware("h100-1gpu-node"))
    donor = borrowed_terms.borrowed(load_hardware("h100-1gpu-node"), load_hardware("h200-1gpu-node"),
                                    ("mistpipe_microbatch_overhead_s", "mistpipe_layer_overhead_s",
                                     "mistpipe_streamed_layer_overhead_s"))
    node = borrowed_terms.family_errors("h100-1gpu-node", "mistpipe", donor)
    assert len(shipped) == len(node) >= 80
    assert all(n >= s - 1e-9 for s, n in zip(shipped, node)) and max(n - s for s, n in zip(shipped, node)) > 0.2
