"""predict's and report.md's warning for plans whose step waits on the training thread
(mist_ds/emit/report.py host_paced_line)."""

from __future__ import annotations

from pathlib import Path

from mist_ds.config import Plan
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import predict_plan
from mist_ds.emit.report import HOST_PACED_SHARE, host_paced_line
from mist_ds.predict import main as predict_main

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"
HOST_BOUND = ACCURACY / "l13b-1g-c40-s2048-z3-mb4-rc24.plan.json"     # 1-GPU ZeRO-3, llama-1.3b
GPU_BOUND = ACCURACY / "g27-1g-c78-s2048-z0-mb2.plan.json"            # ZeRO-0, gpt-2.7b


def _predicted(path: Path) -> Plan:
    plan = Plan.load(path)
    return plan.model_copy(update={"prediction": predict_plan(plan, load_hardware("h200-1gpu-node"))})


def test_a_host_bound_plan_gets_the_sentence_and_a_gpu_bound_one_does_not():
    host_bound, gpu_bound = _predicted(HOST_BOUND), _predicted(GPU_BOUND)
    wait = max(s.time_breakdown.host_wait_s for s in host_bound.prediction.stages)
    assert wait / host_bound.prediction.iteration_time_s >= HOST_PACED_SHARE
    assert host_paced_line(host_bound).startswith("Host-paced: stage 0's GPU waits")
    assert host_paced_line(gpu_bound) is None


def test_a_plan_written_before_the_field_reads_as_not_host_paced():
    # committed plans predicted before host_wait_s existed load with None and are written back unchanged
    plan = Plan.load(HOST_BOUND)
    assert all(s.time_breakdown.host_wait_s is None for s in plan.prediction.stages)
    assert host_paced_line(plan) is None
    assert plan.to_json() == HOST_BOUND.read_text()
    assert '"host_wait_s"' in _predicted(HOST_BOUND).to_json()


def test_predict_prints_it(capsys):
    assert predict_main([str(HOST_BOUND), "--hardware", "h200-1gpu-node"]) == 0
    assert "Host-paced: stage 0" in capsys.readouterr().out


def test_report_md_carries_it_under_the_winner():
    from mist_ds.emit.report import report_markdown

    markdown = report_markdown([_predicted(HOST_BOUND)], load_hardware("h200-1gpu-node"))
    assert "Host-paced: stage 0's GPU waits" in markdown
    assert "Host-paced" not in report_markdown([_predicted(GPU_BOUND)], load_hardware("h200-1gpu-node"))


def test_autotune_says_it_under_its_table(capsys):
    from mist_ds.autotune import main as autotune_main

    flags = ["--model", "llama-1.3b", "--gpus-per-node", "1", "--memory-gb", "40", "--hardware", "h200-1gpu-node",
             "--zero-stages", "3", "--no-offload", "--executors", "deepspeed"]
    # 2 sequences of 512 tokens: the ZeRO-3 hooks outlast the GPU's work
    assert autotune_main(flags + ["--seq-len", "512", "--global-batch", "2"]) == 0
    assert "#1: Host-paced: stage 0" in capsys.readouterr().out
    # 64 sequences of 4096 tokens: the GPU's work hides them (at 2048 tokens the session-22 host terms leave 12%)
    assert autotune_main(flags + ["--seq-len", "4096", "--global-batch", "64"]) == 0
    assert "Host-paced" not in capsys.readouterr().out


def test_compare_notes_it_under_the_table():
    from mist_ds.compare import comparison, render
    from mist_ds.config import RunReport

    def note(plan_path: Path) -> list[str]:
        result = comparison(Plan.load(plan_path), RunReport.load(plan_path.with_name(
            plan_path.name.replace(".plan.json", ".run.json"))), hardware="h200-1gpu-node")
        assert result["host_wait_s"] > 0
        return [line for line in render(result).splitlines() if line.startswith("note: host-paced plan")]

    assert len(note(HOST_BOUND)) == 1 and note(GPU_BOUND) == []
