"""Pieces of the runtime that need no process group: stage boundaries, layer roles, data, stats,
and the predicted-vs-measured comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mist_ds import compare
from mist_ds.config import RunReport
from mist_ds.runtime.data import TokenSource, micro_batches
from mist_ds.runtime.measure import throughput, timing_stats
from mist_ds.runtime.model import block_roles
from mist_ds.runtime.pipeline_module import plan_roles, spec_boundaries

from .plans import CASES, GPT, make_plan


def test_spec_boundaries_follow_the_plan_split():
    plan = make_plan(GPT, [{"end": 1}, {"end": 4}])
    # layer list: [embedding, 4 blocks, norm, head]; stage 0 = embedding + block 0
    assert spec_boundaries(plan) == [0, 2, 7]
    three = make_plan(GPT.model_copy(update={"num_layers": 6}), [{"end": 3}, {"end": 4}, {"end": 6}])
    assert spec_boundaries(three) == [0, 4, 5, 9]


def test_block_roles_recompute_first_then_offload_then_keep():
    roles = block_roles(4, 10, num_recompute=2, num_offloaded=3)
    assert [roles[i] for i in range(4, 10)] == ["recompute"] * 2 + ["offload"] * 3 + ["keep"]
    assert set(block_roles(0, 3, 3, 0).values()) == {"recompute"}


def test_the_runtime_offloads_the_layers_the_cost_model_counts():
    # one integer per stage: the plan's count is what the runtime offloads and what the cost model
    # moves to the host (tests/cost/test_pipeline_and_plan.py checks the bytes of that count)
    plan = make_plan(GPT, [{"end": 2, "num_offloaded_layers": 1}, {"end": 4, "num_recompute_layers": 1,
                                                                    "num_offloaded_layers": 1}])
    roles = plan_roles(plan)
    assert [roles[i] for i in range(4)] == ["offload", "keep", "recompute", "offload"]


def test_plan_roles_use_each_stages_own_count():
    roles = plan_roles(CASES["pipe_recompute"])
    assert [roles[i] for i in range(4)] == ["recompute", "recompute", "recompute", "keep"]


def test_micro_batches_do_not_depend_on_the_data_parallel_layout():
    source = TokenSource(vocab_size=256, seq_len=16, seed=3)
    common = dict(global_batch=8, device="cpu")
    dp2 = [micro_batches(source, 5, micro_batch=2, dp=2, dp_rank=r, grad_accum=2, **common)
           for r in range(2)]
    dp1 = micro_batches(source, 5, micro_batch=2, dp=1, dp_rank=0, grad_accum=4, **common)
    # micro-step m of rank r holds rows (m*dp + r)*mb ...: the union is the same global batch
    rows2 = torch.cat([torch.cat([dp2[r][m][0] for r in range(2)]) for m in range(2)])
    rows1 = torch.cat([x for x, _ in dp1])
    assert torch.equal(rows1, rows2)
    x, y = dp1[0]
    assert torch.equal(x[:, 1:], y[:, :-1])  # labels are inputs shifted by one


def test_token_file_source(tmp_path):
    path = tmp_path / "tokens.bin"
    np.arange(1000, dtype=np.uint16).tofile(path)
    source = TokenSource(vocab_size=1000, seq_len=9, path=path)
    batch = source.global_batch(0, 3)
    assert batch.tolist()[1] == list(range(10, 20))
    with pytest.raises(ValueError, match="vocab"):
        TokenSource(vocab_size=20, seq_len=9, path=path).global_batch(0, 3)


def test_timing_stats_and_throughput():
    assert timing_stats([]) == (None, None)
    median, iqr = timing_stats([1.0, 2.0, 3.0, 4.0, 100.0])
    assert median == 3.0 and iqr == 2.0
    plan = CASES["zero1"]
    tokens, tflops, mfu = throughput(plan, 2.0, 2, 100.0)
    assert tokens == plan.tokens_per_step / 2.0
    assert tflops == pytest.approx(plan.model.flops_per_token(plan.seq_len) * tokens / 2 / 1e12)
    assert mfu == pytest.approx(tflops / 100.0)


def report(**fields) -> RunReport:
    base = dict(status="ok", plan_hash=CASES["zero1"].without_prediction().content_hash(),
                gpu_name="NVIDIA H200", num_gpus=2, torch_version="x", deepspeed_version="y",
                num_steps=5, num_warmup_steps=2)
    return RunReport(**{**base, **fields})


def test_compare_relative_errors_and_stage_peaks():
    plan = CASES["pipe_uneven"]
    run = report(plan_hash=plan.without_prediction().content_hash(), median_iteration_time_s=2.0,
                 peak_allocated_bytes=(100, 300), peak_reserved_bytes=(150, 350))
    assert compare.stage_peaks(plan, run.peak_allocated_bytes) == [100, 300]
    assert compare.rel_error(3.0, 2.0) == pytest.approx(0.5)
    assert compare.rel_error(1.0, None) is None
    result = compare.comparison(plan, run)
    assert result["same_plan"] and result["stages"][1]["measured_peak_bytes"] == 300
    predicted = result["iteration_time"]["predicted_s"]
    if predicted is not None:  # the cost model is importable: errors are relative to measured
        assert result["iteration_time"]["rel_error"] == pytest.approx((predicted - 2.0) / 2.0)


def test_compare_cli_json_and_user_errors(tmp_path, capsys):
    plan_path, run_path = tmp_path / "plan.json", tmp_path / "run.json"
    CASES["zero1"].save(plan_path)
    report(median_iteration_time_s=1.0, peak_allocated_bytes=(5, 6)).save(run_path)
    assert compare.main([str(plan_path), str(run_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stages"][0]["measured_peak_bytes"] == 6 and out["status"] == "ok"
    assert compare.main([str(plan_path), str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert compare.main([str(run_path), str(run_path)]) == 2


def test_a_plan_tuned_on_a_profile_file_not_given_trains_on_this_gpus_profile(tmp_path, capsys):
    """A plan predicted on a calibrated profile file (named after the file) run without --hardware: the runtime
    says so on stderr and takes the MFU peak from this machine's GPU (the default profile on a CPU machine),
    where until session 44 it fell back silently; with --hardware naming a missing profile it is a user error."""
    from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware
    from mist_ds.cost.plan_predict import predict_plan
    from mist_ds.runtime.rank import load_inputs, parse_args

    plan = CASES["zero1"]
    calibrated = tmp_path / "my-node.json"
    mine = load_hardware("h200").model_copy(update={"name": "my-node"})
    calibrated.write_text(mine.model_dump_json())
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan.model_copy(update={"prediction": predict_plan(plan, mine)}).model_dump_json())
    _, _, hardware, _ = load_inputs(parse_args(["--plan", str(plan_path)]))
    assert hardware.name == DEFAULT_PROFILE
    assert "'my-node'" in capsys.readouterr().err
    _, _, given, _ = load_inputs(parse_args(["--plan", str(plan_path), "--hardware", str(calibrated)]))
    assert given.name == "my-node"
    with pytest.raises(ValueError, match="unknown hardware profile"):
        load_inputs(parse_args(["--plan", str(plan_path), "--hardware", "no-such-node"]))


def test_the_fallback_profile_is_this_nodes_as_hardware_auto_names_it(monkeypatch):
    """On a 16-core node with an H200 the runtime's fallback is h200-1gpu-node, as `--hardware auto` says."""
    from mist_ds import gpuinfo
    from mist_ds.config.profiles import DEFAULT_PROFILE
    from mist_ds.runtime.rank import _gpu_profile_name

    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: 16)
    assert _gpu_profile_name() == "h200-1gpu-node"
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: "NVIDIA B300")
    assert _gpu_profile_name() == DEFAULT_PROFILE   # a card without a shipped profile
