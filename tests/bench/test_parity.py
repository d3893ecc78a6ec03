"""bench/runtime/parity.py: both sides get the same configuration, the budget skips whole pairs, the
trace summary's arithmetic, the committed files, the static block comparison, and a 2-rank CPU run of
a ZeRO-3 + recompute pair and a pipeline pair, traced, end to end (tiny Llama)."""

from __future__ import annotations

import json

import pytest

from bench.runtime import parity, parity_report, trace_summary
from mist_ds.config import RunReport

W7B = parity.Workload()


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize("name", parity.ORDER)
def test_both_sides_run_the_same_configuration(name, tmp_path):
    config = parity.CONFIGS[name]
    plan = parity.make_plan(W7B, config)
    argv = parity.hf_argv(W7B, config, tmp_path / "r.json", 5, None)
    assert plan.model.name == _flag(argv, "--model") == "llama-7b"
    assert plan.memory.zero_stage == int(_flag(argv, "--zero"))
    assert plan.micro_batch_size == int(_flag(argv, "--micro-batch"))
    assert plan.global_batch_size == int(_flag(argv, "--global-batch")) and plan.seq_len == 4096
    assert plan.num_stages == int(_flag(argv, "--pipeline-stages"))
    assert plan.dp * plan.num_stages == W7B.num_gpus and plan.gpu_memory_cap_bytes is None
    recomputed = sum(s.num_recompute_layers for s in plan.stages)
    assert recomputed == (32 if config.recompute else 0)
    assert ("--checkpointing" in argv) == config.recompute
    if plan.num_stages == 2:  # HF's type partition splits the 32 decoder layers evenly too
        assert [(s.layer_start, s.layer_end) for s in plan.stages] == [(0, 16), (16, 32)]


def test_step_counts_and_estimates():
    assert parity.step_counts(2.0, trace=False) == (2 + 3, 2)        # 6 s / 2 s = 3 timed steps
    assert parity.step_counts(0.5, trace=True) == (2 + 5 + 1, 2)     # capped at 5, + the traced one
    plan = parity.with_prediction(parity.make_plan(W7B, parity.CONFIGS["zero1"]), "h200")
    expected, limit = parity.estimates(plan, 6, first_mist=False)
    assert 0 < expected < limit
    assert parity.estimates(plan, 6, first_mist=True)[0] == pytest.approx(expected + parity.COMPILE_S)


def test_a_pair_that_does_not_fit_the_budget_is_not_run(tmp_path):
    pair = parity.run_pair(W7B, parity.CONFIGS["zero3-rc"], tmp_path, 29999, False, False, remaining_s=5.0)
    assert pair["not_run"].startswith("would overrun the budget")
    assert not (tmp_path / "plans").exists()
    assert "not run" in parity_report.table({"pairs": [pair]})


def test_trace_summary_arithmetic():
    events = [  # kernels on two streams overlapping in [10, 15): busy 10..20 and 30..35 -> 15 us
        {"ph": "X", "cat": "kernel", "name": "sm90_xmma_gemm_bf16", "ts": 10, "dur": 5, "tid": 7},
        {"ph": "X", "cat": "kernel", "name": "ncclDevKernel_AllGather_RING_LL", "ts": 12, "dur": 8, "tid": 9},
        {"ph": "X", "cat": "kernel", "name": "triton_poi_fused_mul_silu_0", "ts": 30, "dur": 5, "tid": 7},
        {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy DtoH (Device -> Pageable)", "ts": 40, "dur": 0},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaStreamSynchronize", "ts": 36, "dur": 4},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 1, "dur": 2},
        {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "ts": 0, "dur": 9},
    ]
    s = trace_summary.summarize(events, wall_s=100e-6)
    assert s["gpu_busy_ms"] == pytest.approx(0.015) and s["gpu_idle_share"] == pytest.approx(0.85)
    assert s["kernel_ms_by_category"] == {"gemm": 0.005, "memcpy": 0.0, "nccl": 0.008, "triton": 0.005}
    assert s["nccl_calls"] == {"AllGather": 1} and s["num_kernels"] == 3 and s["kernel_launches"] == 1
    assert s["host_syncs"] == {"count": 1, "cpu_ms": 0.004, "by_call": {"cudaStreamSynchronize": 1},
                               "device_to_host_copies": 1}
    assert len(trace_summary.gpu_trace(events)) == 5   # no CPU ops, no launches
    assert trace_summary.kernel_category("void at::native::vectorized_elementwise_kernel<4>") == "other"
    assert trace_summary.kernel_category("_rms_norm_forward_kernel") == "triton"


def _report(median: float, **extra) -> dict:
    data = {"status": "ok", "plan_hash": "x", "gpu_name": "cpu", "num_gpus": 2, "torch_version": "t",
            "deepspeed_version": "d", "num_steps": 5, "num_warmup_steps": 2,
            "iteration_times_s": [median] * 3, "median_iteration_time_s": median, "mfu": 0.5}
    return json.loads(RunReport.model_validate(data, strict=False).to_json()) | extra


FASTEST = {"norm": "torch", "activation": "compile", "rope": "compile", "attention": "sdpa", "loss": "liger"}


def test_unpack_commits_the_issue_format(tmp_path):
    results = tmp_path / "repo" / "bench" / "results"
    best = results / "runs" / "best.json"
    best.parent.mkdir(parents=True)
    best.write_text(json.dumps(_report(3.0)))
    bundle = {"pairs": [
        {"config": {"name": "zero1"}, "mist_ds": {"result": _report(2.0), "traces": {}},
         "plain_deepspeed": {"result": _report(2.5, baseline_config={"zero": 1}), "traces": {}}},
        {"config": {"name": "zero2"}, "not_run": "would overrun the budget"}]}
    lines = parity_report.unpack(bundle, tmp_path, results, [str(best)])
    speed = json.loads((results / "runtime_speed.json").read_text())
    assert speed == {"parity": [{"config": {"name": "zero1"},
                                 "mist_ds_run": "bench/results/runtime/parity/zero1.mist.run.json",
                                 "plain_deepspeed_run": "bench/results/runtime/parity/zero1.hf.json"}],
                     "best_7b_runs": ["bench/results/runs/best.json"]}
    assert "ratio 1.250" in lines[0] and "zero2: not committed" in lines[1]
    markdown = (results / "runtime_speed.md").read_text()
    assert "| zero1 | ok | 2.000 | ok | 2.500 | 1.250 |" in markdown
    # a labelled bundle (another kernel set) lands beside the first, not over it
    fast = dict(bundle["pairs"][0], mist_ds={"result": _report(1.6, kernels=FASTEST), "traces": {}})
    parity_report.unpack({"pairs": [fast]}, tmp_path, results, [], label="-fastest")
    speed = json.loads((results / "runtime_speed.json").read_text())
    assert [e["config"]["name"] for e in speed["parity"]] == ["zero1", "zero1-fastest"]
    assert speed["parity"][1]["mist_ds_run"] == "bench/results/runtime/parity/zero1-fastest.mist.run.json"
    markdown = (results / "runtime_speed.md").read_text()
    assert "| zero1 | ok | 2.000 | ok | 2.500 | 1.250 |" in markdown
    assert ("| zero1-fastest | ok | 1.600 | ok | 2.500 | 1.562 |" in markdown
            and "norm torch, activation compile, rope compile, loss liger |" in markdown)
    bundle["pairs"][0]["mist_ds"]["result"] = {"status": "ok"}   # not a RunReport
    with pytest.raises(ValueError, match="mist_ds result is not a RunReport"):
        parity_report.unpack(bundle, tmp_path, results, [])


def test_static_block_counts():
    pytest.importorskip("transformers")
    from bench.runtime.parity_static import compare

    result = compare(["llama-7b", "gpt-6.7b"])
    llama, gpt = result["llama-7b"], result["gpt-6.7b"]
    # the same parameters; mist_ds fuses q|k|v and gate|up: 4 ZeRO-3 fetches per Llama block, not 7
    assert llama["mist_ds"]["param_elements"] == llama["hf"]["param_elements"]
    assert (llama["mist_ds"]["zero3_fetched_tensors"], llama["hf"]["zero3_fetched_tensors"]) == (4, 7)
    assert gpt["mist_ds"]["zero3_fetched_tensors"] == gpt["hf"]["zero3_fetched_tensors"] == 4
    assert all(r["mist_ds"]["hooked_modules"] < r["hf"]["hooked_modules"] for r in result.values())


@pytest.mark.distributed
def test_zero3_and_pipeline_pairs_on_two_cpu_ranks(parity_cpu_run):
    """The run (tests/shared_runs.py, made once: its mist_ds sides are also the runs whose kernels
    tests/runtime/test_report_kernels.py checks): `parity.py run --configs zero3-rc,pp2 --trace` on a
    2-layer tiny Llama, seq 32, batch 8, 2 CPU ranks."""
    pytest.importorskip("transformers")
    out = parity_cpu_run
    bundle = json.loads((out / "parity.json").read_text())
    assert [p["config"]["name"] for p in bundle["pairs"]] == ["zero3-rc", "pp2"]
    for pair in bundle["pairs"]:
        for side in ("mist_ds", "plain_deepspeed"):
            result = pair[side]["result"]
            # no result: the side failed before writing its report, or its time limit cut it (a loaded host)
            assert result is not None, {k: pair[side].get(k) for k in ("returncode", "timed_out", "wall_s",
                                                                         "limit_s", "error_line")}
            assert result["status"] == "ok", pair[side]["log_tail"][-2000:]
            assert result["num_steps"] == pair["steps"] and len(result["iteration_times_s"]) == pair["steps"] - 2
            assert sorted(pair[side]["traces"]) == [f"{pair['config']['name']}.{'mist' if side == 'mist_ds' else 'hf'}"
                                                    f".rank{r}.summary.json" for r in (0, 1)]
        assert pair["plain_deepspeed"]["result"]["baseline_config"].get("pipeline_stages", 1) == \
            pair["config"]["pipeline_stages"]
    assert "| zero3-rc | ok |" in (out / "parity.md").read_text()
