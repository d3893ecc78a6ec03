"""runtime/reporting.py timed_step_max: RunReport.step_alloc_retries, per timed step the most over ranks."""

from __future__ import annotations

from mist_ds.runtime.reporting import timed_step_max


def test_warm_up_steps_are_left_out_and_ranks_take_the_most():
    assert timed_step_max([[3, 0, 1, 0], [0, 2, 0, 0]], warmup=1, timed=3) == (2, 1, 0)


def test_a_rank_that_did_not_count_every_step_gives_nothing():
    assert timed_step_max([[0, 1, 0], [0, 1]], warmup=1, timed=2) == ()
    assert timed_step_max([], warmup=0, timed=2) == ()
    assert timed_step_max([[], []], warmup=2, timed=3) == ()
