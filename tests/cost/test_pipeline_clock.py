"""The pipeline clock (cost/clock.py): DeepSpeed's instruction stream, hand-computed makespans on
uniform and uneven stages, and how Mist's closed form relates to it."""

from __future__ import annotations

import random

import pytest

from mist_ds.cost.clock import closed_form_bound, simulate_pipeline, train_schedule_steps

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _deepspeed_steps(stage: int, stages: int, accum: int) -> list[list[tuple[str, int]]]:
    """DeepSpeed's own TrainSchedule, translated to (command, micro-batch) lists."""
    from deepspeed.runtime.pipe import schedule as ds

    names = {ds.SendActivation: "send_act", ds.RecvActivation: "recv_act", ds.SendGrad: "send_grad",
             ds.RecvGrad: "recv_grad", ds.ForwardPass: "fwd", ds.BackwardPass: "bwd"}
    sched = ds.TrainSchedule(micro_batches=accum, stages=stages, stage_id=stage)
    out = []
    for step in sched.steps():
        cmds = []
        for cmd in step:
            if type(cmd) in names:
                # DeepSpeed names buffers, not micro-batches: compare the command kinds and order
                cmds.append(names[type(cmd)])
            elif isinstance(cmd, ds.OptimizerStep):
                cmds.append("step")
        out.append(cmds)
    return out


@pytest.mark.parametrize("stages, accum", [(1, 1), (1, 4), (2, 1), (2, 5), (3, 4), (4, 8), (5, 3)])
def test_instruction_stream_is_deepspeeds(stages, accum):
    for stage in range(stages):
        ours = [[cmd for cmd, _ in step] for step in train_schedule_steps(stage, stages, accum)]
        assert ours == _deepspeed_steps(stage, stages, accum)


@pytest.mark.parametrize("stages, accum", [(1, 1), (1, 5), (2, 2), (4, 8), (4, 2), (3, 1)])
def test_uniform_pipeline_makespan(stages, accum):
    # uniform stages (f, b) = (1, 2): fill + G steady + drain = (G + S - 1) * 3 s (Narayanan et al.
    # 2021, 1F1B), plus the step (delta) of the first stage, which finishes last
    clock = simulate_pipeline([1.0] * stages, [2.0] * stages, [0.25] * stages, 0.0, accum)
    assert clock.iteration_s == pytest.approx((accum + stages - 1) * 3.0 + 0.25)
    assert clock.iteration_s == pytest.approx(closed_form_bound([3.0] * stages, [0.25] * stages, 0.0, accum))
    assert sum(1 for s in clock.slots if s.kind == "F") == stages * accum


def test_uneven_stages_follow_the_critical_path_by_hand():
    # stable [2, 1, 1.5] s split 1/3 forward, deltas [0.3, 0.2, 0.9], G = 6. Stage 0 is slowest: its
    # first backward waits for F(1,0), F(2,0), B(2,0), B(1,0) (f1 + b1 + f2 + b2 = 1 + 1.5), after
    # which it is busy to the end: (G - 2) more forwards and G backwards, then its step:
    # f0 + 2.5 + (G - 3) f0 + G b0 + d0 = (G - 2) 2/3 + 2.5 + 6 * 4/3 + 0.3 = 13.4667 s.
    stable, delta = [2.0, 1.0, 1.5], [0.3, 0.2, 0.9]
    clock = simulate_pipeline([s / 3 for s in stable], [2 * s / 3 for s in stable], delta, 0.0, 6)
    assert clock.iteration_s == pytest.approx(4 * 2 / 3 + 2.5 + 6 * 4 / 3 + 0.3)
    # Mist's closed form charges the whole fill and drain: 4.5 + 5 * 2 + 0.3 = 14.8 s (+9.9%)
    assert closed_form_bound(stable, delta, 0.0, 6) == pytest.approx(14.8)


def test_p2p_is_paid_once_per_boundary_crossing():
    # 2 stages, G = 1: F0, send, F1, B1, send back, B0, step: 1 + 0.1 + 1 + 2 + 0.1 + 2 + 0 = 6.2
    clock = simulate_pipeline([1.0, 1.0], [2.0, 2.0], [0.0, 0.0], 0.1, 1)
    assert clock.iteration_s == pytest.approx(6.2)


def test_tied_weights_make_the_last_stage_wait_for_the_first():
    # without the tie the last stage steps right after its last backward; with it, it waits for stage 0
    free = simulate_pipeline([1.0, 1.0], [2.0, 2.0], [0.0, 5.0], 0.0, 2)
    tied = simulate_pipeline([1.0, 1.0], [2.0, 2.0], [0.0, 5.0], 0.0, 2, tied_sync_s=0.5)
    last_step = [s for s in tied.slots if s.kind == "step" and s.stage == 1][0]
    stage0_end = max(s.start_s + s.duration_s for s in tied.slots if s.stage == 0 and s.kind == "B")
    assert last_step.start_s == pytest.approx(stage0_end + 0.5)
    assert tied.iteration_s > free.iteration_s


def test_no_stage_overlaps_itself():
    clock = simulate_pipeline([0.3, 0.7, 0.5], [0.7, 1.3, 1.0], [0.5, 0.2, 0.1], 0.05, 6)
    for stage in range(3):
        mine = sorted((s.start_s, s.start_s + s.duration_s) for s in clock.slots if s.stage == stage)
        assert all(a[1] <= b[0] + 1e-12 for a, b in zip(mine, mine[1:]))


def test_closed_form_bounds_the_clock_at_a_fixed_forward_share():
    # stages within +-20%, forward = 1/3 of the stable time (the cost model's split is near it): the
    # closed form is never below the clock and at most 12% above (the module docstring's claim)
    rng = random.Random(7)
    for _ in range(400):
        stages, accum = rng.randint(2, 6), rng.choice([1, 2, 4, 8, 16, 32])
        stable = [rng.uniform(0.8, 1.2) for _ in range(stages)]
        delta = [rng.uniform(0.0, 0.5) for _ in range(stages)]
        clock = simulate_pipeline([s / 3 for s in stable], [2 * s / 3 for s in stable], delta, 0.0, accum)
        bound = closed_form_bound(stable, delta, 0.0, accum)
        assert clock.iteration_s - 1e-9 <= bound <= 1.12 * clock.iteration_s


@pytest.mark.parametrize("bad", [dict(forward_s=[], backward_s=[], delta_s=[]),
                                 dict(forward_s=[1], backward_s=[1, 2], delta_s=[0])])
def test_clock_rejects_mismatched_inputs(bad):
    with pytest.raises(ValueError):
        simulate_pipeline(p2p_s=0.0, grad_accum=1, **bad)


@pytest.mark.parametrize("stages, accum", [(2, 3), (3, 4), (4, 8), (5, 2)])
def test_micro_batch_of_every_step_is_deepspeeds(stages, accum):
    from deepspeed.runtime.pipe import schedule as ds

    from mist_ds.cost.clock import _step_to_micro_batch

    for stage in range(stages):
        theirs = ds.TrainSchedule(micro_batches=accum, stages=stages, stage_id=stage)
        for step in range(2 * (accum + stages - 1)):
            assert _step_to_micro_batch(step, stage, stages) == theirs._step_to_micro_batch(step)


def test_every_stage_runs_every_micro_batch_forward_and_backward_once():
    clock = simulate_pipeline([1.0, 1.5, 0.5], [2.0, 3.0, 1.0], [0.1, 0.2, 0.3], 0.0, 5)
    for stage in range(3):
        for kind in ("F", "B"):
            assert sorted(s.micro_batch for s in clock.slots if s.stage == stage and s.kind == kind) == list(range(5))
        assert [s.micro_batch for s in clock.slots if s.stage == stage and s.kind == "step"] == [-1]


def test_tied_sync_needs_two_stages_and_holds_both_ends():
    one = simulate_pipeline([1.0], [2.0], [0.5], 0.0, 3, tied_sync_s=9.0)
    assert one.iteration_s == pytest.approx(3 * 3.0 + 0.5)   # nothing to tie with one stage
    three = simulate_pipeline([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0], 0.0, 2, tied_sync_s=0.5)
    first_end = max(s.start_s + s.duration_s for s in three.slots if s.stage == 0 and s.kind == "B")
    steps = {s.stage: s.start_s for s in three.slots if s.kind == "step"}
    assert steps[0] == pytest.approx(first_end + 0.5) and steps[2] == pytest.approx(first_end + 0.5)
    assert steps[1] < steps[0]   # the middle stage holds no tied weight


def test_closed_form_pays_p2p_once_per_neighbour():
    # S = 3, G = 5, stable 1 s, p2p 0.1 s: effective stages 1.1, 1.2, 1.1 (ends have one neighbour)
    # T = 3.4 + 4 * 1.2 + max(0.3 - 0, 0.3 - 1.1, 2.0 - 2.3) = 8.5
    assert closed_form_bound([1.0, 1.0, 1.0], [0.3, 0.3, 2.0], 0.1, 5) == pytest.approx(8.5)
    assert closed_form_bound([2.0], [0.5], 1.0, 4) == pytest.approx(8.5)   # one stage: no p2p
