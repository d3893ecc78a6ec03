"""Calibration (mist_ds/calibration, python -m mist_ds.calibrate) on the committed 2xH200 runs and on
synthetic runs whose true terms are known."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mist_ds import gpuinfo
from mist_ds.calibrate import main
from mist_ds.calibration import calibrate, load_pairs
from mist_ds.calibration.fit import (INVERSE_TERMS, LARGE, TIME_TERMS, exercise_masks, fit_allocator_fraction,
                                    nnls, predict_times, start_point, time_system, with_terms)
from mist_ds.cli import exit_code
from mist_ds.config import HardwareProfile, RunReport
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import predict_plan

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "bench" / "results" / "accuracy"
# ZeRO-0/1/2/3 and ZeRO-1/3 offload runs of two 1-GPU workloads (bench/accuracy/cases.py B3, B4)
RUNS = ["g13-1g-c40-s2048-z0-mb2", "g13-1g-c40-s2048-z1-mb2", "g13-1g-c40-s2048-z2-mb4-rc24",
        "g13-1g-c40-s2048-z3-mb2", "g13-1g-c40-s2048-z3-mb4-rc24", "l27-1g-c78-b4-z0-mb4-rc32",
        "l27-1g-c78-b4-z1-mb1", "l27-1g-c78-b4-z3-mb2-rc16", "g13-1g-c24-s2048-z1-off1-mb2",
        "g13-1g-c24-s2048-z3-off05-mb2", "g13-1g-c24-s2048-z3-off1-mb2"]

# mistpipe runs (bench/accuracy/cases.py B12)
MISTPIPE_RUNS = ["g13-1g-c16-s2048-mp-mb2-off1", "g13-1g-c16-s2048-mp-mb2-og1-off1", "g13-1g-c16-s2048-mp-mb2-w05-off1",
                 "l27-1g-c40-s4096-b8-mp-mb1-og05-off05-rc16"]


def run_paths(names=RUNS) -> list[Path]:
    return [SUITE / f"{name}.run.json" for name in names]


def test_nnls_matches_brute_force_over_active_sets():
    # oracle: the minimum of ||a x - y|| over x >= 0 lies on one face (an active set) of the orthant;
    # a fine grid search over x in [0, 2]^2 must not beat the solver
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, y = rng.normal(size=(12, 2)), rng.normal(size=12)
        x = nnls(a, y)
        assert np.all(x >= 0)
        grid = np.linspace(0, 2, 201)
        best = min(np.sum((a @ np.array(p) - y) ** 2) for p in itertools.product(grid, grid))
        assert np.sum((a @ x - y) ** 2) <= best + 1e-12


def test_nnls_recovers_an_exact_nonnegative_solution():
    a = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
    truth = np.array([0.5, 0.0, 1.5])
    np.testing.assert_allclose(nnls(a, a @ truth), truth, atol=1e-12)


def test_the_jacobian_skips_only_runs_a_term_cannot_move():
    # oracle: the full forward-difference Jacobian; the masked one must equal it entry for entry
    hw = load_hardware("h200-1gpu-node")
    pairs = load_pairs(run_paths(RUNS + MISTPIPE_RUNS), None, hw)
    masks = exercise_masks(hw, pairs, TIME_TERMS)
    zero3 = [p.plan.stage_memory(0).zero_stage == 3 for p in pairs]
    assert list(masks[TIME_TERMS.index("zero3_fetch_overhead_s")]) == zero3     # per-fetch cost: ZeRO-3 runs only
    assert not masks.all()
    for x in (start_point(hw, TIME_TERMS), np.full(len(TIME_TERMS), 1e-3)):
        full, masked = time_system(hw, pairs, TIME_TERMS, x), time_system(hw, pairs, TIME_TERMS, x, masks)
        assert np.array_equal(full[0], masked[0]) and np.array_equal(full[1], masked[1])


def test_predicted_time_never_falls_as_a_term_grows():
    # what exercise_masks relies on: a run a term leaves unmoved at LARGE it leaves unmoved at every value
    hw = load_hardware("h200-1gpu-node")
    pairs = load_pairs(run_paths(RUNS + MISTPIPE_RUNS), None, hw)
    shipped = start_point(hw, TIME_TERMS)
    for i, term in enumerate(TIME_TERMS):
        large = 1.0 / LARGE[term] if term in INVERSE_TERMS else LARGE[term]
        times = []
        for value in np.linspace(0.0, large, 5):
            x = shipped.copy()
            x[i] = value
            times.append(predict_times(with_terms(hw, TIME_TERMS, x), pairs))
        assert np.all(np.diff(np.array(times), axis=0) >= -1e-12), term


def synthetic_runs(tmp_path: Path, truth: HardwareProfile, names=RUNS) -> list[Path]:
    """Copies of committed plan + run pairs whose measured time is what `truth` predicts."""
    out = []
    for run in run_paths(names):
        plan = run.with_name(run.name.replace(".run.json", ".plan.json"))
        shutil.copy(plan, tmp_path / plan.name)
        pair = load_pairs([run], None, truth)[0]
        seconds = pair.predict(truth).iteration_time_s     # as the run ran: its kernels, build, ...
        report = json.loads(run.read_text())
        report["median_iteration_time_s"] = seconds
        (tmp_path / run.name).write_text(json.dumps(report))
        out.append(tmp_path / run.name)
    return out


def test_fit_recovers_known_time_terms(tmp_path):
    # synthetic measurements from a profile with known terms: the fit must give them back
    truth = load_hardware("h200").model_copy(update={
        "host_microbatch_overhead_s": 4e-3, "host_layer_overhead_s": 3e-4, "host_step_overhead_s": 2e-2,
        "zero3_fetch_overhead_s": 5e-4, "pageable_h2d_bandwidth_gbps": 6.0})
    pairs = load_pairs(synthetic_runs(tmp_path, truth), None, truth)
    result = calibrate(load_hardware("h200"), pairs)
    # the per-fetch and per-block-pass host work counts only where it exceeds the GPU's (cost/host_overlap.py
    # host_overlap), so time is piecewise linear in those terms and they trade against each other
    # (and, where they show, against the additive per-micro-batch term): the step, pageable-copy and
    # per-micro-batch terms come back, the others only as their combined effect (the runs' times)
    for term, rel in (("host_step_overhead_s", 5e-2), ("pageable_h2d_bandwidth_gbps", 1e-2),
                      ("host_microbatch_overhead_s", 0.1)):
        assert result.fitted[term] == pytest.approx(getattr(truth, term), rel=rel), term
    assert result.fitted["zero3_fetch_overhead_s"] == pytest.approx(truth.zero3_fetch_overhead_s, rel=0.2)
    assert max(abs(e) for e in result.time_errors.values()) < 1e-3


# llama-13b on 2 GPUs, ZeRO-3 with the weights and 0.375-0.5 of the optimizer offloaded (the runs that fit the shipped
# pageable_d2h_bandwidth_gbps: config/hardware.py)
WRITEBACK_RUNS = [ROOT / "bench" / "results" / "engine" / f"executor_compare_llama13b_2gpu_{x}" / "deepspeed.run.json"
                  for x in "abc"] + [SUITE / "auto-l13-2g-c78-s4096-b32-z23.run.json"]


def test_fit_recovers_the_write_back_rate_of_weight_offload_with_the_optimizer_on_the_gpu(tmp_path):
    truth = load_hardware("h200").model_copy(update={"pageable_d2h_bandwidth_gbps": 0.8})
    runs = []
    for run in WRITEBACK_RUNS:     # synthetic_runs' copy, under distinct names (three runs share one file name)
        name = f"{run.parent.name}-{run.name}" if run.parent != SUITE else run.name
        shutil.copy(run.with_name(run.name.replace(".run.json", ".plan.json")),
                    tmp_path / name.replace(".run.json", ".plan.json"))
        report = json.loads(run.read_text())
        report["median_iteration_time_s"] = load_pairs([run], None, truth)[0].predict(truth).iteration_time_s
        (tmp_path / name).write_text(json.dumps(report))
        runs.append(tmp_path / name)
    start = load_hardware("h200").model_copy(update={"pageable_d2h_bandwidth_gbps": None})
    result = calibrate(start, load_pairs(runs, None, start), only=("pageable_d2h_bandwidth_gbps",), memory=())
    assert result.fitted["pageable_d2h_bandwidth_gbps"] == pytest.approx(0.8, rel=1e-2)
    assert max(abs(e) for e in result.time_errors.values()) < 1e-3


def test_fit_reproduces_runs_paced_by_the_mistpipe_engines_host(tmp_path):
    # the engine's per-micro-batch and per-pass host work shows only where the host falls behind the GPU
    # (cost/mistpipe.py _host_passes): with it large enough to pace the runs, the fit must give times back,
    # and the stock terms, which no mistpipe plan charges once its own are set, keep their values
    node = load_hardware("h200-1gpu-node")
    truth = node.model_copy(update={"mistpipe_microbatch_overhead_s": 0.2, "mistpipe_layer_overhead_s": 2e-3,
                                    "mistpipe_streamed_layer_overhead_s": 5e-3})
    pairs = load_pairs(synthetic_runs(tmp_path, truth, MISTPIPE_RUNS), None, truth)
    terms = ("mistpipe_microbatch_overhead_s", "mistpipe_layer_overhead_s", "mistpipe_streamed_layer_overhead_s")
    result = calibrate(node, pairs, only=terms + ("host_microbatch_overhead_s", "host_layer_overhead_s"), memory=())
    assert set(terms) <= set(result.fitted) and "host_microbatch_overhead_s" in result.kept
    # piecewise linear in the terms (max(GPU, host) per pass), four runs for three terms: within 0.5%
    assert max(abs(e) for e in result.time_errors.values()) < 5e-3
    # one run streams weights (w05): its per-pass extra is what sets it apart
    assert result.fitted["mistpipe_streamed_layer_overhead_s"] > 0


def test_cli_on_committed_runs_writes_a_profile_naming_its_runs(tmp_path, capsys):
    out = tmp_path / "calibrated.json"
    assert exit_code(main, [*map(str, run_paths()), "--hardware", "h200", "--out", str(out)]) == 0
    profile = HardwareProfile.load(out)
    assert profile.name == "calibrated"
    assert all(name in profile.provenance.notes for name in RUNS)
    assert profile.provenance.notes.count("Run-derived terms") == 1     # replaces, never stacks
    # every 1-GPU process holds ~1.8 GiB besides offloaded state (runs' RSS: 1.77-1.85 GiB)
    assert 1.5 * 2**30 < profile.host_process_base_bytes < 2.1 * 2**30
    # the allowance targets allocated memory (what decides OOM): the terms track it within a few %
    assert 0.0 <= profile.allocator_overhead_fraction < 0.05
    # the per-layer host term fits to 0 since the element-wise passes are counted at their measured
    # rates (bench/results/cost_trace_zero2.md: it had absorbed that GPU time); a bound, never negative
    assert profile.host_layer_overhead_s >= 0
    # ZeRO-3's per-pass host work is fitted as fetches x per-fetch + launches x per-launch cost: the
    # runs' ZeRO-3 time follows the block's launches (config/hardware.py host_launch_overhead_s)
    assert profile.zero3_fetch_overhead_s >= 0 and profile.host_launch_overhead_s > 0
    assert "fitted on 11 run(s)" in capsys.readouterr().out


def test_terms_no_run_exercises_keep_the_input_values(tmp_path):
    # no ZeRO-3 and no offload run: the ZeRO-3 fetch cost and the pageable bandwidth cannot be fitted
    names = [n for n in RUNS if "-z3-" not in n and "off" not in n]
    hw = load_hardware("h200")
    result = calibrate(hw, load_pairs(run_paths(names), None, hw))
    assert {"zero3_fetch_overhead_s", "host_launch_overhead_s", "pageable_h2d_bandwidth_gbps"} <= set(result.kept)
    assert {"mistpipe_microbatch_overhead_s", "mistpipe_layer_overhead_s",   # no mistpipe run either
            "mistpipe_streamed_layer_overhead_s"} <= set(result.kept)
    assert result.profile.zero3_fetch_overhead_s == hw.zero3_fetch_overhead_s


def test_measured_pinned_bytes_of_zero1_offload_are_the_rounded_allocations():
    # stage_1_and_2.py pins the fp32 master (4 B/param), its fp32 gradient (4 B) and a 16-bit copy
    # (2 B) of the 1.316e9-parameter partition, plus a largest-tensor staging buffer (the 103M-row
    # tied embedding, 2 B): 5.26 GB -> 8 GiB, 5.26 GB -> 8 GiB, 2.63 GB -> 4 GiB, 206 MB -> 256 MiB
    # (torch's pinned allocator rounds to powers of two); the run measured 20.25 GiB pinned. Adam's
    # 8 B/param are pageable. So RSS - base = 20.25 GiB + 8 * params.
    hw = load_hardware("h200").model_copy(update={"host_process_base_bytes": 0})
    pair = load_pairs(run_paths(["g13-1g-c24-s2048-z1-off1-mb2"]), None, hw)[0]
    params = pair.plan.model.num_params
    predicted = predict_plan(pair.plan, hw).stages[0].cpu_memory_bytes
    assert predicted == pytest.approx((8 + 8 + 4 + 0.25) * 2**30 + 8 * params, rel=1e-3)
    assert pair.run.host_pinned_peak_bytes[0] == pytest.approx((8 + 8 + 4 + 0.25) * 2**30, rel=1e-3)


@pytest.mark.parametrize("case", ["no plan", "other plan", "other gpu", "not json", "only oom", "bad fit"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    run = run_paths(["g13-1g-c40-s2048-z0-mb2"])[0]
    args = [str(run), "--hardware", "h200", "--out", str(tmp_path / "p.json")]
    if case == "no plan":
        shutil.copy(run, tmp_path / run.name)
        args[0] = str(tmp_path / run.name)
    elif case == "other plan":
        args += ["--plans", str(tmp_path)]
        shutil.copy(SUITE / "g27-1g-c78-s2048-z0-mb2.plan.json", tmp_path / run.name.replace(".run.", ".plan."))
    elif case == "other gpu":
        args[2] = "h100-sxm-80gb"
    elif case == "not json":
        (tmp_path / "x.run.json").write_text("{")
        args[0] = str(tmp_path / "x.run.json")
    elif case == "only oom":
        args[0] = str(SUITE / "l7-2g-c78-tp2-z0-mb1-rc16.run.json")
    else:
        args += ["--fit", "host_microbatch_overhead_s,nonsense"]
    assert exit_code(main, args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:")
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("gpu, code", [("NVIDIA H200", 0), (None, 2)])
def test_hardware_auto_calibrates_this_nodes_profile(tmp_path, capsys, monkeypatch, gpu, code):
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: gpu)
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: 32)
    out = tmp_path / "p.json"
    args = [*map(str, run_paths(RUNS[:2])), "--hardware", "auto", "--out", str(out), "--fit", "host_step_overhead_s"]
    assert exit_code(main, args) == code
    captured = capsys.readouterr()
    if code == 0:
        assert "(calibrated from h200)" in captured.out and HardwareProfile.load(out).gpu_name == "NVIDIA H200"
    else:
        assert captured.err.count("\n") == 1 and "no GPU visible" in captured.err and not out.exists()


def test_skips_runs_that_did_not_finish():
    hw = load_hardware("h200")
    names = RUNS[:4] + ["l7-2g-c78-tp2-z0-mb1-rc16"]
    result = calibrate(hw, load_pairs(run_paths(names), None, hw), ("host_microbatch_overhead_s",))
    assert result.skipped == ["l7-2g-c78-tp2-z0-mb1-rc16: status oom"]
    assert RunReport.load(run_paths(names)[-1]).status == "oom"


def test_allocator_allowance_is_the_median_against_allocated_not_reserved_memory():
    # synthetic: each run allocates 3% more than the bare model predicts and reserves 10% more than it
    # allocates; the allowance must come out at 3% (not 13%: reserved memory is cached, released
    # before an OOM)
    hw = load_hardware("h200")
    bare = hw.model_copy(update={"allocator_overhead_fraction": 0.0})
    pairs = []
    for pair in load_pairs(run_paths(RUNS[:4]), None, hw):
        peaks = [s.peak_memory_bytes for s in pair.predict(bare).stages]
        allocated = tuple(round(p * 1.03) for p in peaks for _ in range(pair.plan.gpus_per_stage))
        run = pair.run.model_copy(update={"peak_allocated_bytes": allocated,
                                          "peak_reserved_bytes": tuple(round(a * 1.10) for a in allocated)})
        pairs.append(dataclasses.replace(pair, run=run))
    assert fit_allocator_fraction(hw, pairs) == pytest.approx(0.03, abs=1e-4)


def test_fit_names_the_terms_the_others_keep_the_input_values(tmp_path, capsys):
    out = tmp_path / "p.json"
    args = [*map(str, run_paths(MISTPIPE_RUNS)), "--hardware", "h200-1gpu-node", "--out", str(out),
            "--fit", "host_process_base_bytes"]
    assert exit_code(main, args) == 0
    before, after = load_hardware("h200-1gpu-node"), HardwareProfile.load(out)
    changed = {f for f in HardwareProfile.model_fields if f not in ("name", "provenance")
               and getattr(before, f) != getattr(after, f)}
    assert changed == {"host_process_base_bytes"}
    assert "allocator_overhead_fraction: not fitted" in capsys.readouterr().out
