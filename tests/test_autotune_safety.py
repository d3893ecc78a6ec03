"""autotune's margin, headroom, ties, fallback folders and binding-limit messages (in-process CLI)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from mist_ds.autotune import main
from mist_ds.config import Plan
from mist_ds.config.units import GIB
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO, MODEL_TIME_ERROR_RATIO

GPT13 = ["--model", "gpt-1.3b", "--gpus-per-node", "1", "--global-batch", "8", "--seq-len", "2048"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("flags", [["--memory-margin", "0.95"], ["--memory-margin", "-0.1"],
                                   ["--memory-margin", "nan"], ["--fallbacks", "99"], ["--fallbacks", "-1"]])
def test_bad_margin_or_fallbacks_is_one_line_exit_2(flags, capsys, tmp_path):
    assert main([*GPT13, *flags, "--out", str(tmp_path / "o")]) == 2
    assert ("--memory-margin" if "--memory-margin" in flags else "--fallbacks") in _one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_a_13b_model_on_the_1gpu_node_is_infeasible_not_a_crash(capsys):
    # its model states (~208 GB) pass the 78 GiB card plus the ~100 GiB of host memory the node lets
    # offloaded state take; some search batch has no row left, which crashed the ZeRO-3 sub-group table
    args = ["--model", "gpt-13b", "--gpus-per-node", "1", "--global-batch", "16", "--seq-len", "2048",
            "--memory-gb", "78", "--hardware", "h200-1gpu-node"]
    assert main(args) == 3
    assert "host memory binds" in _one_line(capsys)


def test_llama_70b_on_one_gpu_names_both_limits(capsys):
    # ZeRO-3 builds under deepspeed.zero.Init (no whole 16-bit model on the GPU at start-up), so with
    # unlimited host memory a plan with every weight and optimizer state offloaded fits the GPU; it
    # needs ~1.8 TB of host memory, while the node lets offloaded state take 204.8 of its 256 GiB (20%
    # kept free): host memory binds, and the line names both limits
    args = ["--model", "llama-70b", "--gpus-per-node", "1", "--global-batch", "8", "--seq-len", "4096"]
    assert main(args) == 3
    line = _one_line(capsys)
    assert "host memory binds" in line and "w-offload 1, opt-offload 1, whose offloaded state takes 1755.9 GiB" in line
    assert "lets offloaded state take 204.8 GiB" in line and "smallest per-GPU memory any plan needs is" in line
    # how much host memory a node needs: that plan's state, the 1.5 GiB margin and the 20% kept free;
    # and the bisection's bracket from the node's 256 GiB, narrowed 32-fold in log space
    enough = int(re.search(r"a node needs about (\d+) GiB of host memory \(--host-memory-gb \1;", line).group(1))
    short = int(re.search(r"; (\d+) is too little for every plan", line).group(1))
    assert abs(enough - (1755.9 + 1.5) / 0.8) <= 1
    assert 256 < short < enough <= short * (enough / 256) ** (1 / 32) + 1


def _floor_gib(capsys) -> float:
    """The smallest per-GPU memory a gpt-1.3b plan without offload needs, as autotune's infeasibility
    line reports it (the search's own memory floor)."""
    assert main([*GPT13, "--memory-gb", "10", "--no-offload"]) == 3
    found = re.search(r"the smallest per-GPU memory any plan needs is ([\d.]+) GiB", _one_line(capsys))
    assert found
    return float(found[1])


def test_a_plan_inside_the_margin_is_refused_saying_so_and_accepted_without_it(capsys):
    # a cap the smallest plan fits under, but not under the cap less the margin (half a margin above it)
    floor = _floor_gib(capsys)
    cap = floor / (1 - DEFAULT_MEMORY_MARGIN_RATIO / 2)
    assert cap * (1 - DEFAULT_MEMORY_MARGIN_RATIO) < floor - 0.1 and floor + 0.1 < cap
    args = [*GPT13, "--memory-gb", f"{cap:.2f}", "--no-offload"]
    assert main(args) == 3
    assert "the margin binds" in _one_line(capsys)
    assert main([*args, "--memory-margin", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["search"]["memory_margin_ratio"] == 0


def test_gpu_memory_binding_names_the_margin(capsys):
    assert main([*GPT13, "--memory-gb", "10", "--no-offload"]) == 3
    line = _one_line(capsys)
    usable = 10 * (1 - DEFAULT_MEMORY_MARGIN_RATIO)
    assert "GPU memory binds" in line and "over the cap less the margin" in line and f"{usable:.2f} GiB per GPU" in line


def test_json_shows_headroom_ties_and_fallbacks(capsys):
    assert main(["--model", "llama-7b", "--gpus-per-node", "4", "--global-batch", "64", "--seq-len", "4096",
                 "--top", "4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    cap, margin = summary["search"]["memory_cap_bytes"], summary["search"]["memory_margin_ratio"]
    assert margin == DEFAULT_MEMORY_MARGIN_RATIO and summary["search"]["tie_rtol"] == MODEL_TIME_ERROR_RATIO
    assert len(summary["plans"]) == 4
    for entry in summary["plans"]:
        plan = Plan.from_json_text(json.dumps(entry["plan"]))
        peak = max(s.peak_memory_bytes for s in plan.prediction.stages)
        assert entry["headroom_bytes"] == cap - peak >= margin * cap
        assert entry["rank"] in entry["tied_with"]
    # ties are mutual, and two tied plans are predicted within the larger of their tolerances of each other
    by_rank = {p["rank"]: p for p in summary["plans"]}
    for entry in summary["plans"]:
        assert entry["tie_tolerance"] >= MODEL_TIME_ERROR_RATIO
        for rank in entry["tied_with"]:
            other = by_rank[rank]
            assert entry["rank"] in other["tied_with"]
            fast, slow = sorted((entry["iteration_time_s"], other["iteration_time_s"]))
            assert slow <= (1 + max(entry["tie_tolerance"], other["tie_tolerance"])) * fast
    # the fastest plan that lost its tie to #1 (listed or not): predicted faster, within the tie
    lost, winner_s = summary["lost_tie"], summary["plans"][0]["iteration_time_s"]
    assert lost is None or (lost["rank"] > 1 and lost["iteration_time_s"] < winner_s
                            <= (1 + lost["tie_tolerance"]) * lost["iteration_time_s"])
    assert 1 <= len(summary["fallbacks"]) <= 2


def _ranked(capsys, ties: str) -> list[dict]:
    assert main(["--model", "llama-7b", "--gpus-per-node", "4", "--global-batch", "64", "--seq-len", "4096",
                 "--top", "6", "--json", "--ties", ties]) == 0
    return json.loads(capsys.readouterr().out)["plans"]


def test_ties_off_ranks_by_predicted_time_and_model_gives_every_plan_the_model_error(capsys):
    off = _ranked(capsys, "off")
    times = [p["iteration_time_s"] for p in off]
    assert times == sorted(times)
    assert all(p["tied_with"] == [p["rank"]] and p["tie_tolerance"] == 0.0 for p in off)
    model = _ranked(capsys, "model")
    assert all(p["tie_tolerance"] == MODEL_TIME_ERROR_RATIO for p in model)
    kind = _ranked(capsys, "kind")
    assert all(p["tie_tolerance"] >= MODEL_TIME_ERROR_RATIO for p in kind)


def test_out_writes_fallback_folders_and_a_quoted_run_hint(tmp_path, capsys):
    out = tmp_path / "my runs" / "llama"
    args = ["--model", "llama-7b", "--gpus-per-node", "4", "--global-batch", "64", "--seq-len", "4096",
            "--out", str(out)]
    assert main([*args, "--fallbacks", "2"]) == 0
    hint = capsys.readouterr().out.replace("\n", "")
    assert shlex.quote(str(out / "launch.sh")) in hint and "'" in shlex.quote(str(out / "launch.sh"))
    winner = Plan.load(out / "plan.json")
    peak = max(s.peak_memory_bytes for s in winner.prediction.stages)
    for index in (1, 2):
        folder = out / "fallback" / str(index)
        assert sorted(p.name for p in folder.iterdir()) == ["ds_config.json", "hostfile", "plan.json", "report.md"]
        fallback = Plan.load(folder / "plan.json")
        assert fallback != winner and max(s.peak_memory_bytes for s in fallback.prediction.stages) < peak
    report = (out / "report.md").read_text()
    assert "## Ranking, headroom and fallbacks" in report and "`fallback/1/`" in report
    # re-tuning into the same folder replaces it, fallback folder included
    assert main([*args, "--fallbacks", "0"]) == 0
    assert not (out / "fallback").exists()
