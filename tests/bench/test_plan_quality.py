"""bench/plan_quality.py report: pairs mist_ds's run with the baseline grid's best."""

from __future__ import annotations

import json

import pytest

from bench import plan_quality


def cfg(zero, micro_batch=1, checkpointing=False, offload=False):
    return {"zero": zero, "micro_batch": micro_batch, "checkpointing": checkpointing, "offload_optimizer": offload}


def result(path, median, status="ok", mfu=0.4, config=None, **extra):
    data = {**extra, "status": status, "plan_hash": "h", "gpu_name": "NVIDIA H200", "num_gpus": 2, "torch_version": "t",
            "deepspeed_version": "d", "num_steps": 5, "num_warmup_steps": 2, "median_iteration_time_s": median,
            "mfu": mfu, "date_utc": "2026-12-01T10:00:00+00:00"}
    if status != "ok":
        data.update(error_message="CUDA out of memory", median_iteration_time_s=None, mfu=None)
    if config is not None:
        data["baseline_config"] = config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_report_pairs_the_winner_with_the_best_baseline(tmp_path):
    name = "llama7b-2g-c78-s4096-b32"
    folder, baseline = tmp_path / "pq", tmp_path / "baseline"
    result(folder / f"{name}.run.json", 6.0, mfu=0.5)
    result(baseline / name / "z3-mb4-ckpt.json", 8.25, config=cfg(3, 4, True))
    result(baseline / name / "z2-mb1-nockpt.json", 9.0, config=cfg(2))
    result(baseline / name / "z1-mb1-nockpt.json", None, status="oom", config=cfg(1))
    result(baseline / "llama13b-2g-c78-s4096-b32" / "z3-mb4-ckpt-offload.json", 21.0, config=cfg(3, 4, True, True))
    out = tmp_path / "plan_quality"
    assert plan_quality.main(["report", "--folder", str(folder), "--baseline", str(baseline), "--out", str(out)]) == 0
    items = json.loads(out.with_suffix(".json").read_text())
    assert [set(i) for i in items] == [{"workload", "mist_ds_run", "baseline_runs"}] * 2
    first = items[0]
    assert first["workload"] == name and first["mist_ds_run"].endswith(f"{name}.run.json")
    assert len(first["baseline_runs"]) == 3 and items[1]["mist_ds_run"] is None
    text = out.with_suffix(".md").read_text()
    assert f"<= {8.25 / 6.0:.2f}x" in text and "z3-mb4-ckpt, 2/3 ran" in text and "50.0%" in text
    row = next(line for line in text.splitlines() if line.startswith(f"| {name} "))
    assert "z1-mb2-ckpt" in row and "z1-mb2-nockpt" not in row  # dominated by the mb-1 OOM
    assert "offload" not in row  # a point without offload ran: the grid never turns to ZeRO-Offload
    assert "Geometric mean over 1 workloads" in text and "1 of the 1 speedups are upper bounds" in text


def test_a_baseline_that_trained_nothing_has_no_speedup(tmp_path):
    name = "llama3-8b-1g-c78-s4096-b16"
    folder, baseline = tmp_path / "pq", tmp_path / "baseline"
    result(folder / f"{name}.run.json", 7.4)
    result(baseline / name / "z3-mb8-ckpt-offload.json", None, status="killed", config=cfg(3, 8, True, True), signal=9)
    out = tmp_path / "plan_quality"
    assert plan_quality.main(["report", "--folder", str(folder), "--baseline", str(baseline), "--out", str(out)]) == 0
    text = out.with_suffix(".md").read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {name} "))
    assert "none trained (1 killed: signal 9)" in row and "| - |" in row and "x |" not in row
    assert "| none | NVIDIA H200 | 2026-12-01 | " in row  # the ZeRO-3 kill dominates every offload point
    assert "No workload has both" in text


def test_unknown_workload_is_a_one_line_error(capsys):
    assert plan_quality.main(["report", "--workloads", "nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("name", ["llama7b-2g-c78-s4096-b32"])
def test_committed_winner_plans_load(name):
    from mist_ds.config import Plan

    plan = Plan.load(plan_quality.RESULTS / "plan_quality" / f"{name}.plan.json")
    assert plan.prediction is not None and plan.global_batch_size == 32


def ran_winner(tmp_path, monkeypatch, name: str):
    """(folder, the committed winner, another plan): the winner copied into tmp_path/pq with a run,
    plan_quality.ROOT at tmp_path and the search's winner patched to the other plan."""
    from mist_ds.config import Plan

    folder = tmp_path / "pq"
    folder.mkdir()
    committed = Plan.load(plan_quality.RESULTS / "plan_quality" / f"{name}.plan.json")
    committed.save(folder / f"{name}.plan.json")
    result(folder / f"{name}.run.json", 7.7, mfu=0.4)
    other = committed.model_copy(update={"micro_batch_size": committed.micro_batch_size * 2,
                                         "grad_accum_steps": committed.grad_accum_steps // 2})
    monkeypatch.setattr(plan_quality, "winner", lambda w: other)
    monkeypatch.setattr(plan_quality, "ROOT", tmp_path)
    return folder, committed, other


def test_refresh_supersedes_a_ran_plan_that_is_no_longer_the_winner(tmp_path, monkeypatch):
    from mist_ds.config import Plan

    name = "llama7b-2g-c78-s4096-b32"
    folder, committed, other = ran_winner(tmp_path, monkeypatch, name)
    plan_quality.write_plans(folder, [name])  # no refresh: the ran plan stays, nothing to run
    assert json.loads((folder / "jobs.json").read_text()) == []
    plan_quality.write_plans(folder, [name], refresh=True)
    old = folder / "superseded" / f"{name}.2026-12-01T100000"
    assert Plan.load(old.with_name(old.name + ".plan.json")).micro_batch_size == committed.micro_batch_size
    assert (old.with_name(old.name + ".run.json")).exists() and not (folder / f"{name}.run.json").exists()
    assert Plan.load(folder / f"{name}.plan.json").micro_batch_size == other.micro_batch_size
    assert [j["name"] for j in json.loads((folder / "jobs.json").read_text())] == [name]
    monkeypatch.setattr(plan_quality, "winner", lambda w: Plan.load(folder / f"{name}.plan.json"))
    result(folder / f"{name}.run.json", 6.0)
    plan_quality.write_plans(folder, [name], refresh=True)  # still the winner: kept
    assert (folder / f"{name}.run.json").exists() and len(list((folder / "superseded").iterdir())) == 2
    out = tmp_path / "plan_quality"
    assert plan_quality.main(["report", "--folder", str(folder), "--baseline", str(tmp_path / "b"),
                              "--out", str(out)]) == 0
    assert "Earlier winners" in out.with_suffix(".md").read_text()


def test_refresh_restores_a_superseded_plan_that_wins_again(tmp_path, monkeypatch):
    from mist_ds.config import Plan

    name = "llama7b-2g-c78-s4096-b32"
    folder, first, other = ran_winner(tmp_path, monkeypatch, name)
    plan_quality.write_plans(folder, [name], refresh=True)  # superseded, `other` queued
    assert [j["name"] for j in json.loads((folder / "jobs.json").read_text())] == [name]
    monkeypatch.setattr(plan_quality, "winner", lambda w: first)
    plan_quality.write_plans(folder, [name], refresh=True)  # `other` never ran: the first plan comes back
    assert Plan.load(folder / f"{name}.plan.json").micro_batch_size == first.micro_batch_size
    assert (folder / f"{name}.run.json").exists() and not list((folder / "superseded").iterdir())
    assert json.loads((folder / "jobs.json").read_text()) == []


def test_todays_winner_is_same_or_named_with_its_prediction():
    from mist_ds.config import Plan

    folder = plan_quality.RESULTS / "plan_quality"
    ran = folder / "llama2.7b-1g-c24-s4096-b16.plan.json"
    other = Plan.load(folder / "llama7b-1g-c78-s4096-b16.plan.json")
    assert plan_quality.today_text(ran, Plan.load(ran)) == "same"
    assert plan_quality.today_text(ran, other) == (f"{other.describe(short=True)}, "
                                                   f"{other.prediction.iteration_time_s:.3f} predicted")
    assert plan_quality.today_text(ran, None) == "-"
    assert plan_quality.today_text(folder / "no-such.plan.json", other).endswith("predicted")
