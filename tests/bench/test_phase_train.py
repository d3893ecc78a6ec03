"""bench/runtime/phase_train.py: the phases of a step as trainer.train_step marks them (CPU, one process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from bench.runtime.phase_train import PhaseClock, summary
from mist_ds.runtime import trainer
from mist_ds.runtime.data import TokenSource

ROOT = Path(__file__).resolve().parents[2]


class Ticks:
    """A clock that advances by the next of `deltas` at each read."""

    def __init__(self, deltas):
        self.now, self.deltas = 0.0, list(deltas)

    def __call__(self) -> float:
        self.now += self.deltas.pop(0)
        return self.now


class Engine:
    def __init__(self, calls):
        self.calls = calls

    def __call__(self, tokens, labels):
        self.calls.append("forward")
        return torch.tensor(2.0)

    def backward(self, loss):
        self.calls.append("backward")

    def step(self):
        self.calls.append("step")


def test_train_step_marks_each_engine_call_after_it(monkeypatch):
    calls = []
    monkeypatch.setattr(trainer, "dist", SimpleNamespace(all_reduce=lambda t: None, get_world_size=lambda: 1))
    plan = SimpleNamespace(global_batch_size=3, micro_batch_size=1, grad_accum_steps=3)
    rt = SimpleNamespace(pipelined=False, dp=1, dp_rank=0, device=torch.device("cpu"), engine=Engine(calls))
    loss = trainer.train_step(plan, rt, TokenSource(64, 8, seed=1), 0, mark=lambda phase: calls.append(f"@{phase}"))
    assert loss == pytest.approx(2.0)
    assert calls == ["forward", "@forward", "backward", "@backward", "step", "@step"] * 3
    calls.clear()
    trainer.train_step(plan, rt, TokenSource(64, 8, seed=1), 0)       # no mark: the plain loop
    assert calls == ["forward", "backward", "step"] * 3


def test_phase_clock_times_each_phase_from_the_previous_mark_after_a_sync():
    syncs = []
    clock = PhaseClock(lambda: syncs.append(1), Ticks([0, 1, 2, 3, 4, 5, 6, 0, 7, 8, 9]))
    clock.begin()
    for phase in ("forward", "backward", "step") * 2:
        clock(phase)
    clock.begin()
    for phase in ("forward", "backward", "step"):
        clock(phase)
    assert len(syncs) == 9
    assert clock.steps == [[{"forward": 1, "backward": 2, "step": 3}, {"forward": 4, "backward": 5, "step": 6}],
                           [{"forward": 7, "backward": 8, "step": 9}]]


def test_summary_takes_the_last_micro_batch_as_the_boundary():
    step = [{"forward": 1.0, "backward": 2.0, "step": 0.1}, {"forward": 1.0, "backward": 3.0, "step": 5.0}]
    rows = summary([[{"forward": 9.0, "backward": 9.0, "step": 9.0}], step, step], warmup=1)
    assert rows == {"forward": 1.0, "backward (not last)": 2.0, "engine.step (not last)": 0.1,
                    "last backward": 3.0, "optimizer step": 5.0, "step": pytest.approx(12.1)}
    with pytest.raises(ValueError):
        summary([step], warmup=1)


def test_summary_command_prints_medians_and_refuses_bad_input(tmp_path):
    good = tmp_path / "rank0.phases.json"
    good.write_text(json.dumps({"rank": 0, "steps": [[{"forward": 0.5, "backward": 1.0, "step": 2.0}]] * 3}))
    script = str(ROOT / "bench" / "runtime" / "phase_train.py")
    out = subprocess.run([sys.executable, script, "--summary", str(good)], capture_output=True, text=True)
    assert out.returncode == 0 and "optimizer step" in out.stdout and "2000.0 ms" in out.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = subprocess.run([sys.executable, script, "--summary", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_the_phases_file_holds_every_finished_step_before_the_run_ends(tmp_path, monkeypatch):
    # a run killed at its time limit keeps the steps it finished (session 67 lost two runs' phases)
    import torch.distributed as dist

    from bench.runtime.phase_train import install

    def fake_step(plan, rt, source, index, mark):
        for phase in ("forward", "backward", "step"):
            mark(phase)
        return index

    monkeypatch.setattr(trainer, "train_step", fake_step)
    monkeypatch.setattr(dist, "get_rank", lambda: 0)
    install(str(tmp_path))
    written = tmp_path / "rank0.phases.json"
    for index in range(2):
        assert trainer.train_step(None, None, None, index) == index
        steps = json.loads(written.read_text())["steps"]
        assert len(steps) == index + 1 and set(steps[-1][0]) == {"forward", "backward", "step"}
