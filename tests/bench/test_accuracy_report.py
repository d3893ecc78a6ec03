"""The accuracy report: scoring against the current cost model, rank correlation, in-sample
detection, and the report CLI end to end on CPU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.accuracy import report, scoring
from bench.accuracy.cases import CASES
from bench.accuracy.schema import to_plan
from bench.accuracy.scoring import rank_correlations, score, spearman, summary
from mist_ds.config import RunReport
from mist_ds.config.track_record import TRACK_RECORD_PATH
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions, predict_plan
from mist_ds.cost.kernel_set import EAGER, KernelSet
from mist_ds.cost.reserved import HOLES, stage_num_params

ROOT = Path(__file__).resolve().parents[2]


def test_spearman_against_hand_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties: ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): cov 4.5, variances 4.5 and 5
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / (4.5 * 5) ** 0.5)
    assert spearman([1], [2]) is None and spearman([1, 1], [1, 2]) is None


def write_pair(folder: Path, name: str, gpu: str = "NVIDIA H200", status: str = "ok",
               time_scale: float = 1.1, mem_scale: float = 0.95, rss: int | None = None) -> dict:
    plan = to_plan(CASES[name].knobs)
    pred = predict_plan(plan, load_hardware("h200"), RunConditions(kernels=EAGER))  # no kernels recorded: eager
    plan.save(folder / f"{name}.plan.json")
    peaks = tuple(int(stage.peak_memory_bytes * mem_scale)  # every rank of a stage, stage order
                  for stage in pred.stages for _ in range(plan.gpus_per_stage))
    fields = dict(status=status, plan_hash=plan.content_hash(), gpu_name=gpu, num_gpus=plan.cluster.num_gpus,
                  torch_version="t", deepspeed_version="d", num_steps=5, num_warmup_steps=2,
                  peak_allocated_bytes=tuple(int(p * 0.9) for p in peaks), peak_reserved_bytes=peaks,
                  date_utc="2026-12-01T00:00:00+00:00")
    if rss is not None:
        fields["host_peak_rss_bytes"] = (rss,) * plan.cluster.num_gpus
    if status == "ok":
        fields["median_iteration_time_s"] = pred.iteration_time_s * time_scale
    else:
        fields["error_message"] = "CUDA out of memory"
    RunReport.model_validate(fields, strict=False).save(folder / f"{name}.run.json")
    return {"plan": plan, "pred": pred}


def test_score_uses_the_runs_gpu_and_the_current_model(tmp_path):
    name = "l7-2g-c78-z3-mb2-rc32"
    pair = write_pair(tmp_path, name)
    row = score(name, "suite", tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json", (), {})
    assert row.hardware == "h200" and row.same_plan and row.family == "zero3"
    assert row.time_error == pytest.approx(1 / 1.1 - 1)
    # reserved is predicted as the peak plus ZeRO-3's holes (cost/reserved.py; 55 GiB: under the 78 GiB cap)
    plan, hw = pair["plan"], load_hardware("h200")
    peak = pair["pred"].stages[0].peak_memory_bytes
    holes = HOLES["zero3"] * 2 * stage_num_params(plan.model, plan, 0) / plan.dp
    assert holes > 0 and row.mem_error_reserved == pytest.approx((1 + holes / peak) / 0.95 - 1, abs=1e-6)
    assert row.mem_error_allocated == pytest.approx(1 / (0.95 * 0.9) - 1, abs=1e-6)
    assert not row.no_expandable_segments and row.unreleased_bytes is None
    assert row.predicted_s == pytest.approx(pair["pred"].iteration_time_s) and row.host_error is None


def test_a_run_is_scored_on_the_profile_of_its_node(tmp_path):
    """RunReport.host_cpu_cores picks the node kind's profile; an older report takes its cores from the
    machine files beside it, and machine files that disagree leave the card's profile."""
    name = "g13-1g-c24-s2048-z1-off1-mb2"
    write_pair(tmp_path, name)
    plan_path, run_path = tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json"
    assert score(name, "suite", plan_path, run_path, (), {}).hardware == "h200"
    (tmp_path / "machine_S1.txt").write_text("0, NVIDIA H200, 580, 143771 MiB\nTue Dec 1\ntorch x\n16\n")
    row = score(name, "suite", plan_path, run_path, (), {})
    assert row.hardware == "h200-1gpu-node"
    run = RunReport.load(run_path)
    pred = predict_plan(to_plan(CASES[name].knobs), load_hardware("h200-1gpu-node"), RunConditions(kernels=EAGER))
    assert row.predicted_s == pytest.approx(pred.iteration_time_s)
    (tmp_path / "machine_S2.txt").write_text("0, NVIDIA H200\n32\n")
    assert score(name, "suite", plan_path, run_path, (), {}).hardware == "h200"
    run.model_copy(update={"host_cpu_cores": 16}).save(run_path)
    assert score(name, "suite", plan_path, run_path, (), {}).hardware == "h200-1gpu-node"



def test_unreleased_bytes_come_from_the_oom_message():
    message = ("CUDA out of memory. Tried to allocate 12.55 GiB. ... Of the allocated memory 69.10 GiB is "
               "allocated by PyTorch, and 66.16 MiB is reserved by PyTorch but unallocated. If reserved")
    assert scoring.unreleased_at_oom("oom", message) == round(66.16 * 2**20)
    assert scoring.unreleased_at_oom("oom", message.replace("66.16 MiB", "18.25 GiB")) == round(18.25 * 2**30)
    assert scoring.unreleased_at_oom("ok", message) is None and scoring.unreleased_at_oom("oom", "boom") is None


def test_host_memory_error_of_an_offload_plan(tmp_path):
    name = "l7-2g-c40-b4-z1-off1-rc32"
    pair = write_pair(tmp_path, name, rss=80 * 2**30)
    row = score(name, "suite", tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json", (), {})
    host = pair["pred"].stages[0].cpu_memory_bytes
    assert row.host_predicted_bytes == host and row.host_error == pytest.approx(host / (80 * 2**30) - 1)


def test_oom_of_a_plan_predicted_to_fit_is_counted(tmp_path):
    rows = []
    for name, status in (("l7-2g-c78-z3-mb1-rc0", "oom"), ("l7-2g-c78-tp2-z0-mb1-rc16", "oom"),
                         ("l7-2g-c78-z3-mb2-rc32", "ok")):
        write_pair(tmp_path, name, status=status)
        rows.append(score(name, "suite", tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json", (), {}))
    stats = summary(rows)
    assert stats["oom"] == 2 and stats["oom_predicted_to_fit"] == 1  # the tp2 plan is predicted over its cap
    assert stats["time"]["n"] == 1 and rows[0].time_error is None


def test_rank_correlation_needs_four_plans_of_one_workload(tmp_path):
    names = ["l7-2g-c78-z3-mb1-rc0", "l7-2g-c78-z3-mb2-rc32", "l7-2g-c78-tp2-z0-mb1-rc16"]
    rows = []
    for name in names:
        write_pair(tmp_path, name)
        rows.append(score(name, "suite", tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json", (), {}))
    assert rank_correlations(rows) == {}
    write_pair(tmp_path, "l7-2g-c78-tp2-z1-mb1-rc0")
    rows.append(score("x", "suite", tmp_path / "l7-2g-c78-tp2-z1-mb1-rc0.plan.json",
                      tmp_path / "l7-2g-c78-tp2-z1-mb1-rc0.run.json", (), {}))
    corr = rank_correlations(rows)
    (only,) = corr.values()
    assert only == {"workload": rows[0].workload, "gpu": rows[0].gpu_name, "kernel_set": rows[0].kernel_set,
                    "plans": 4, "runs": 4, "spearman": pytest.approx(1.0)}  # same 1.1 factor
    # a run of one of these plans on another GPU model is not a point among them
    elsewhere = replace(rows[0], gpu_name="NVIDIA H100 80GB HBM3", plan_id="h100 twin", measured_s=1e-3)
    assert rank_correlations(rows + [elsewhere]) == corr
    # repeats of one plan are one point at their median measured time, not more plans tied in prediction
    slowest = max(range(4), key=lambda i: rows[i].predicted_s)
    plan = rows[slowest]
    rows += [replace(plan, measured_s=plan.measured_s * 0.1), replace(plan, measured_s=plan.measured_s * 0.12)]
    medians = [plan.measured_s * 0.12 if i == slowest else rows[i].measured_s for i in range(4)]
    corr = rank_correlations(rows)
    (only,) = corr.values()
    assert (only["plans"], only["runs"]) == (4, 6)
    assert only["spearman"] == pytest.approx(spearman([r.predicted_s for r in rows[:4]], medians))
    assert only["spearman"] < 0.9  # the fast repeats moved that plan's rank
    # runs under another kernel set are ranked only against plans run under that set: one plan's run there
    # leaves the first ranking as it was and makes no ranking of its own ...
    fused = "norm torch, activation liger, rope compile, loss liger"
    later = replace(rows[0], kernel_set=fused, predicted_s=rows[0].predicted_s * 0.5, measured_s=rows[0].measured_s)
    assert rank_correlations(rows + [later]) == corr
    # ... until four plans ran under it, whatever the first set's times (here all reversed)
    others = [replace(r, kernel_set=fused, predicted_s=r.predicted_s * 0.5, measured_s=1 / r.measured_s)
              for r in rows[:4]]
    both = rank_correlations(rows + others)
    assert both[next(iter(corr))] == only and len(both) == 2
    (second,) = (c for c in both.values() if c["kernel_set"] == fused)
    assert (second["plans"], second["runs"], second["spearman"]) == (4, 4, pytest.approx(-1.0))


def test_provenance_names_the_calibration_run():
    # the h200 profile's run-derived terms were fitted by python -m mist_ds.calibrate on named runs
    notes = [load_hardware("h200").provenance.notes]
    run = ROOT / "bench/results/accuracy/g13-1g-c40-s2048-z0-mb2.run.json"
    assert report.provenance_terms(run, notes) == ("host_microbatch_overhead_s",)
    held_out = ROOT / "bench/results/accuracy/l7-2g-c78-z3-mb2-rc32.run.json"
    assert report.provenance_terms(held_out, notes) == ()


def test_report_cli_end_to_end(tmp_path):
    write_pair(tmp_path, "l7-2g-c78-z3-mb2-rc32")
    out = tmp_path / "acc"
    assert report.main(["--suite", str(tmp_path), "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    names = [r["name"] for r in data["runs"]]
    assert "l7-2g-c78-z3-mb2-rc32" in names and "older:llama-7b-zero3" in names
    older = next(r for r in data["runs"] if r["name"] == "older:llama-7b-zero3")
    assert older["in_sample"] == ["zero3_fetch_overhead_s"]
    text = out.with_suffix(".md").read_text()
    assert "| l7-2g-c78-z3-mb2-rc32 | zero3 | ok |" in text and "## Targets" in text
    # the runs made before the runtime set expandable segments are scored apart, with the reason
    assert older["no_expandable_segments"] and "older:llama-7b-zero3" in data["no_expandable_segments"]
    assert "older:llama-7b-pp2-calibrated" not in data["no_expandable_segments"]   # re-run with them
    apart = set(data["rejected"]) | set(data["no_expandable_segments"]) | set(data["uncalibrated"])
    assert data["summary"]["runs"] == len(data["runs"]) - len(apart) == sum(r["targeted"] for r in data["runs"])
    assert not any(r["targeted"] for r in data["runs"] if r["name"] in apart)
    apart = text[text.index("## Runs without expandable segments"):]
    assert "| older:llama-7b-zero3 | zero3 | ok |" in apart and "expandable_segments:True" in apart
    # a report of other runs keeps its track record beside it, not in the package, and shows it by kind
    assert out.with_suffix(".track_record.json").is_file()
    by_kind = text[text.index("## By kind"):text.index("## Rank correlation")]
    assert "| zero3, multi-GPU | " in by_kind and "| older:" not in by_kind
    assert report.track_record_path(ROOT / "bench" / "results" / "accuracy") == TRACK_RECORD_PATH


def test_a_run_on_a_gpu_without_a_profile_is_a_one_line_error(tmp_path, capsys):
    write_pair(tmp_path, "l7-2g-c78-z3-mb2-rc32", gpu="NVIDIA A100-SXM4-80GB")
    assert report.main(["--suite", str(tmp_path), "--out", str(tmp_path / "acc")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "A100" in err


def test_each_run_is_scored_for_the_kernels_it_ran(tmp_path):
    name = "l7-2g-c78-z3-mb2-rc32"
    pair = write_pair(tmp_path, name)
    plan, run = tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json"
    hw = load_hardware("h200")
    fastest = {"norm": "torch", "activation": "compile", "rope": "compile", "attention": "sdpa", "loss": "liger"}
    unrecorded = score(name, "suite", plan, run, (), {})     # no record: the eager set ran (older runs)
    assert unrecorded.predicted_s == pytest.approx(pair["pred"].iteration_time_s)
    data = json.loads(run.read_text())
    run.write_text(json.dumps({**data, "kernels": fastest}))
    row = score(name, "suite", plan, run, (), {})
    fastest = KernelSet(activation="compile", rope="compile", loss="liger")
    expected = predict_plan(pair["plan"], hw, RunConditions(kernels=fastest))
    assert row.predicted_s == pytest.approx(expected.iteration_time_s)
    # the fused SwiGLU and RoPE and Liger's loss are cheaper than the eager set, and the fused
    # SwiGLU saves one f-wide tensor fewer per block
    assert row.predicted_s < unrecorded.predicted_s
    assert row.memory[0]["predicted_bytes"] < unrecorded.memory[0]["predicted_bytes"]
    assert row.kernels == "norm torch, activation compile, rope compile, attention sdpa, loss liger"
    # nothing is left unscored for its kernels: the report scores the run
    rows, unscored = report.collect(tmp_path, tmp_path / "no-older")
    assert [r.name for r in rows] == [name] and unscored == []
    assert rows[0].predicted_s == pytest.approx(expected.iteration_time_s)


def test_executor_compare_runs_are_scored_as_committed(tmp_path):
    results = tmp_path / "results"
    folder = results / "engine" / "executor_compare_l7"
    folder.mkdir(parents=True)
    name = "l7-2g-c78-z3-mb2-rc32"
    write_pair(folder, name)
    for suffix in ("plan", "run"):
        (folder / f"{name}.{suffix}.json").rename(folder / f"mistpipe.{suffix}.json")
    assert report.engine_pairs(results) == [("engine:l7/mistpipe", folder / "mistpipe.plan.json",
                                             folder / "mistpipe.run.json")]


def test_runs_of_plans_the_host_rule_now_rejects_are_listed_apart(tmp_path):
    # ~110 GiB of CPU state per GPU on a 2-GPU node of 256 GiB: over the 80% offloaded state may take
    starved, roomy = "l13-2g-c78-b4-z3-off1-rc40", "l7-2g-c40-b4-z3-off05-rc32"
    for name in (starved, roomy):
        write_pair(tmp_path, name, rss=50 * 2**30)
    rows = [score(n, "suite", tmp_path / f"{n}.plan.json", tmp_path / f"{n}.run.json", (), {}) for n in (starved, roomy)]
    assert rows[0].rejected.startswith("host memory: its node needs") and "204.8 GiB" in rows[0].rejected
    assert rows[1].rejected == ""
    text = report.render(rows, [])
    assert "1 runs of plans the current search rejects" in text and f"| {starved} |" in text.split("## Runs of plans")[1]
    assert f"| {starved} |" not in text.split("## Runs of plans")[0]          # not scored against the targets


def test_a_run_that_records_its_allocator_setting_is_judged_by_it(tmp_path):
    from mist_ds.config import RunReport

    base = RunReport.model_validate({"status": "ok", "plan_hash": "h", "gpu_name": "NVIDIA H200", "num_gpus": 2,
                                     "torch_version": "t", "deepspeed_version": "d", "num_steps": 5,
                                     "num_warmup_steps": 2})
    listed = tmp_path / "listed.run.json"
    assert not scoring.without_expandable_segments(base, listed)  # no record, not listed
    for conf, apart in (("expandable_segments:True", False), ("", True),
                        ("max_split_size_mb:128,expandable_segments:False", True)):
        assert scoring.without_expandable_segments(base.model_copy(update={"cuda_alloc_conf": conf}), listed) is apart


def test_runs_whose_allocator_retried_are_listed_with_their_retries(tmp_path):
    names = ("l7-2g-c78-z3-mb2-rc32", "l7-2g-c78-z3-mb1-rc0")
    for name in names:
        write_pair(tmp_path, name)
    retried, calm = names
    run = RunReport.load_checked(tmp_path / f"{retried}.run.json", "run")
    run.model_copy(update={"alloc_retries": (22, 3)}).save(tmp_path / f"{retried}.run.json")
    rows = [score(n, "suite", tmp_path / f"{n}.plan.json", tmp_path / f"{n}.run.json", (), {}) for n in names]
    assert rows[0].alloc_retries == [22, 3] and rows[1].alloc_retries is None
    section = report.render(rows, []).split("## Runs whose caching allocator retried")[1]
    assert f"| {retried} | zero3 | [22, 3] |" in section and f"| {calm} |" not in section


def test_profiled_engine_runs_are_not_scored(tmp_path):
    folder = tmp_path / "engine" / "l7c24_ga8"
    folder.mkdir(parents=True)
    for name in ("plain.plan.json", "plain.run.json", "traced.profiled-run.json"):
        (folder / name).write_text("{}")
    assert report.engine_pairs(tmp_path) == [("engine:l7c24_ga8/plain", folder / "plain.plan.json",
                                              folder / "plain.run.json")]


def test_each_activation_offload_run_is_priced_with_the_pack_copy_it_ran(tmp_path):
    # torch 2.11 and no record: torch's save_on_cpu, which blocked (cost/act_offload.py); a record
    # ('non_blocking': runtime/host_saves.py) or torch >= 2.13 without one: non-blocking
    name = "l7-2g-c78-z3-mb1-rc16-act16"
    pair = write_pair(tmp_path, name)
    plan, run = tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json"
    data = json.loads(run.read_text())
    hw = load_hardware("h200")
    expected = {mode: predict_plan(pair["plan"], hw,
                                   RunConditions(kernels=EAGER, act_offload_copy=mode)).iteration_time_s
                for mode in ("blocking", "non_blocking")}
    assert expected["blocking"] > expected["non_blocking"]
    for record, torch_version, mode in ((None, "2.11.0+cu130", "blocking"), (None, "2.13.0+cu130", "non_blocking"),
                                        ("non_blocking", "2.11.0+cu130", "non_blocking"),
                                        ("blocking", "2.13.0", "blocking")):
        run.write_text(json.dumps({**data, "torch_version": torch_version, "activation_offload_copy": record}))
        row = score(name, "suite", plan, run, (), {})
        assert row.act_offload_copy == mode
        assert row.predicted_s == pytest.approx(expected[mode], rel=1e-12)


def test_the_copy_mode_is_left_out_of_plans_without_stock_activation_offload(tmp_path):
    name = "l7-2g-c78-z3-mb2-rc32"
    write_pair(tmp_path, name)   # torch_version 't': never parsed, since the mode does not matter here
    assert score(name, "suite", tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json", (), {}).act_offload_copy is None


def test_search_winners_are_the_autotune_cases_their_repeats_and_plan_quality_runs():
    """report.search_winner: the rows whose plan the search wrote (the report's 'search winners' line)."""
    from bench.accuracy.cases import AutotuneCase

    auto = next(n for n, c in CASES.items() if isinstance(c, AutotuneCase))
    knob = next(n for n, c in CASES.items() if not isinstance(c, AutotuneCase))
    row = scoring.Scored(name=auto, source="suite", plan_path=f"x/{auto}.plan.json", run_path="", family="zero0",
                         workload="w", status="ok", gpu_name="g", date="", hardware="h", same_plan=True,
                         in_sample=(), predicted_fit=True, predicted_within_margin=True, predicted_s=1.0,
                         measured_s=1.0, time_error=0.0)
    assert report.search_winner(row)
    assert report.search_winner(replace(row, name=f"repeat:{auto}.S1", source="repeat"))
    assert not report.search_winner(replace(row, name=knob, plan_path=f"x/{knob}.plan.json"))
    assert not report.search_winner(replace(row, source="engine"))
    assert report.search_winner(replace(row, name="plan-quality:w", source="plan-quality", plan_path="y/plan.json"))


def test_a_familys_bias_is_its_median_signed_time_error_and_its_under_predicted_count():
    """summary's time bias (the by-family table's column): a family priced short on most runs shows
    a negative median and the count, where the median |error| alone hides the direction."""
    row = scoring.Scored(name="r", source="suite", plan_path="x/r.plan.json", run_path="", family="zero3-offload",
                         workload="w", status="ok", gpu_name="g", date="", hardware="h", same_plan=True,
                         in_sample=(), predicted_fit=True, predicted_within_margin=True, predicted_s=1.0,
                         measured_s=1.0, time_error=0.0)
    rows = [replace(row, time_error=e) for e in (-0.10, -0.08, -0.12, 0.02)] + [replace(row, time_error=None)]
    time = summary(rows)["time"]
    assert time["n"] == 4 and time["under"] == 3
    assert time["median_signed"] == pytest.approx(-0.09) and time["median"] == pytest.approx(0.09)
    line = next(r for r in report.family_rows(rows) if r.startswith("| zero3-offload |"))
    assert "| -9.0%; 3 of 4 |" in line


def test_an_output_folder_that_does_not_exist_is_one_line_before_anything_is_written(tmp_path, capsys):
    assert report.main(["--out", str(tmp_path / "acc"), "--track-record", str(tmp_path / "no" / "t.json")]) == 2
    assert capsys.readouterr().err == f"error: no folder {tmp_path / 'no'} to write into\n"
    assert list(tmp_path.iterdir()) == []


def test_runs_scored_on_an_uncalibrated_profile_are_listed_apart(tmp_path):
    # an H100 run is scored on h100-sxm-80gb, which no run calibrated (it prices no host-thread time)
    rows = []
    for gpu in ("NVIDIA H100 80GB HBM3", "NVIDIA H200"):
        folder = tmp_path / gpu.split()[1]
        folder.mkdir()
        write_pair(folder, "l7-2g-c78-z3-mb1-rc0", gpu=gpu)
        rows.append(score(gpu, "suite", folder / "l7-2g-c78-z3-mb1-rc0.plan.json",
                          folder / "l7-2g-c78-z3-mb1-rc0.run.json", (), {}))
    h100, h200 = rows
    assert h100.hardware == "h100-sxm-80gb" and h100.uncalibrated.startswith("h100-sxm-80gb prices no host-thread")
    assert h200.uncalibrated == ""
    assert report.scored(rows) == [h200]
    assert "## Runs scored on a profile no run calibrated" in report.render(rows, [])


def test_a_run_that_measured_its_copy_pair_is_priced_on_it_and_the_profile_pair_error_shown(tmp_path):
    acc = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"
    name = "h100n-auto-q3-17b-1g-c24-s4096-b16"
    plan_path = tmp_path / f"{name}.plan.json"
    plan_path.write_text((acc / f"{name}.plan.json").read_text())
    run = RunReport.load(acc / "repeats" / f"{name}.S54-1.run.json")  # the slow machine: 2.254 s/iter
    run_path = tmp_path / f"{name}.run.json"
    run.save(run_path)
    plain = score(name, "suite", plan_path, run_path, (), {})
    assert plain.copy_slowdowns is None and plain.profile_pair_time_error is None
    run.model_copy(update={"copy_slowdowns": (1.601, 1.694)}).save(run_path)  # S54-1's pcie_share ratios
    probed = score(name, "suite", plan_path, run_path, (), {})
    assert probed.profile_pair_time_error == pytest.approx(plain.time_error)
    # -1.1% on its pair, -8.8% on the profile's (session 72's model; -0.3% / -8.2% before the Liger loss price)
    assert abs(probed.time_error) < abs(plain.time_error) / 4 and abs(plain.time_error) > 0.05
    (row,) = report.probed_rows([probed])[2:]
    assert "| 1.601 / 1.694 |" in row and row.endswith(f"| {100 * plain.time_error:+.1f}% |")
    assert "| gpu_swap | gpu_swap |" in row   # the path the run recorded (adam_impl '...+gpu_swap'), the profile's


def test_the_retry_table_shows_per_step_retries_where_a_run_recorded_them(tmp_path):
    acc = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"
    name = "h100n-auto-qw05b-1g-c24-s4096-b64"
    plan_path, run_path = tmp_path / f"{name}.plan.json", tmp_path / f"{name}.run.json"
    plan_path.write_text((acc / f"{name}.plan.json").read_text())
    run = RunReport.load(acc / f"{name}.run.json")
    run.save(run_path)
    assert report.retry_rows([score(name, "suite", plan_path, run_path, (), {})])[2].startswith(
        f"| {name} | mistpipe | [5] | ")
    run.model_copy(update={"step_alloc_retries": (0, 2, 0)}).save(run_path)
    row = report.retry_rows([score(name, "suite", plan_path, run_path, (), {})])[2]
    assert row.startswith(f"| {name} | mistpipe | [5] (timed steps [0, 2, 0]) | ")


def test_a_device_write_back_run_is_its_own_plan_point_and_counted_in_the_note():
    """scoring.plan_point_id: a run that wrote back on the device ranks apart from its plan's DeepSpeed-way runs;
    report.writeback_note counts the recorded ways and says nothing where no run recorded one."""
    from types import SimpleNamespace

    assert scoring.plan_point_id("abc", "device") == "abc+writeback-device"
    assert scoring.plan_point_id("abc", "host") == scoring.plan_point_id("abc", None) == "abc"
    rows = [SimpleNamespace(writeback_cast=way) for way in ("device", "device", "host", None)]
    note = report.writeback_note(rows)
    assert "2 by DMA from pinned memory" in note and "1 recorded DeepSpeed's way" in note
    assert report.writeback_note([SimpleNamespace(writeback_cast=None)]) == ""
