"""bench/plan_quality.py report: pairs mist_ds's run with the baseline grid's best."""

from __future__ import annotations

import json

import pytest

from bench import plan_quality


def result(path, median, status="ok", mfu=0.4, config=None):
    data = {"status": status, "plan_hash": "h", "gpu_name": "NVIDIA H200", "num_gpus": 2, "torch_version": "t",
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
    result(baseline / name / "z3-mb4-ckpt.json", 8.25, config={"zero": 3})
    result(baseline / name / "z2-mb1-nockpt.json", 9.0, config={"zero": 2})
    result(baseline / name / "z1-mb1-nockpt.json", None, status="oom", config={"zero": 1})
    result(baseline / "llama13b-2g-c78-s4096-b32" / "z3-mb4-ckpt-offload.json", 21.0, config={"zero": 3})
    out = tmp_path / "plan_quality"
    assert plan_quality.main(["report", "--folder", str(folder), "--baseline", str(baseline), "--out", str(out)]) == 0
    items = json.loads(out.with_suffix(".json").read_text())
    assert [set(i) for i in items] == [{"workload", "mist_ds_run", "baseline_runs"}] * 2
    first = items[0]
    assert first["workload"] == name and first["mist_ds_run"].endswith(f"{name}.run.json")
    assert len(first["baseline_runs"]) == 3 and items[1]["mist_ds_run"] is None
    text = out.with_suffix(".md").read_text()
    assert f"{8.25 / 6.0:.2f}x" in text and "z3-mb4-ckpt, 2/3 ran" in text and "50.0%" in text
    assert "Geometric mean over 1 workloads" in text


def test_unknown_workload_is_a_one_line_error(capsys):
    assert plan_quality.main(["report", "--workloads", "nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("name", ["llama7b-2g-c78-s4096-b32"])
def test_committed_winner_plans_load(name):
    from mist_ds.config import Plan

    plan = Plan.load(plan_quality.RESULTS / "plan_quality" / f"{name}.plan.json")
    assert plan.prediction is not None and plan.global_batch_size == 32
