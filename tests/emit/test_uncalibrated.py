"""The sentence autotune, predict, report.md and compare add when the profile prices no host-thread time
(config/hardware.py HardwareProfile.prices_host_thread, mist_ds/emit/report.py uncalibrated_line), and the one a
mistpipe plan gets on a calibrated profile without mistpipe's own host terms (report.py mistpipe_host_line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mist_ds.config import Plan
from mist_ds.config.hardware import HOST_THREAD_FIELDS
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import predict_plan
from mist_ds.emit.report import mistpipe_host_line, report_markdown, uncalibrated_line
from mist_ds.predict import main as predict_main

ROOT = Path(__file__).resolve().parents[2]
ACCURACY = ROOT / "bench" / "results" / "accuracy"
PLAN = ACCURACY / "g27-1g-c78-s2048-z0-mb2.plan.json"
H100 = load_hardware("h100-sxm-80gb")      # shipped without run-derived host terms (no H100 training run)


def test_the_shipped_h100_profile_prices_no_host_thread_time_and_the_h200_ones_do():
    assert not H100.prices_host_thread
    assert load_hardware("h200").prices_host_thread and load_hardware("h200-1gpu-node").prices_host_thread


@pytest.mark.parametrize("term", HOST_THREAD_FIELDS)
def test_any_one_calibrated_host_term_counts(term):
    calibrated = H100.model_copy(update={term: 1e-4})
    assert calibrated.prices_host_thread and uncalibrated_line(calibrated) is None


def test_the_sentence_names_the_profile_and_the_calibrate_command():
    line = uncalibrated_line(H100)
    assert line.startswith("Uncalibrated profile: h100-sxm-80gb has no run-derived host terms")
    assert ("python -m mist_ds.calibrate RUN.json [RUN.json ...] --hardware h100-sxm-80gb (or its file) "
            "--out PROFILE.json") in line
    assert uncalibrated_line(load_hardware("h200")) is None


def test_predict_and_report_md_carry_it_only_on_the_uncalibrated_profile(capsys, tmp_path):
    assert predict_main([str(PLAN), "--hardware", "h100-sxm-80gb"]) == 0
    assert "Uncalibrated profile: h100-sxm-80gb" in capsys.readouterr().out
    calibrated = tmp_path / "h100-calibrated.json"
    calibrated.write_text(H100.model_copy(update={"host_microbatch_overhead_s": 0.01}).model_dump_json())
    assert predict_main([str(PLAN), "--hardware", str(calibrated)]) == 0
    assert "Uncalibrated" not in capsys.readouterr().out
    plan = Plan.load(PLAN)
    predicted = plan.model_copy(update={"prediction": predict_plan(plan, H100)})
    assert "Uncalibrated profile: h100-sxm-80gb" in report_markdown([predicted], H100)
    h200 = load_hardware("h200")
    assert "Uncalibrated" not in report_markdown([plan.model_copy(update={"prediction": predict_plan(plan, h200)})],
                                                 h200)


def test_the_json_outputs_carry_it(capsys):
    import json

    from mist_ds.autotune import main as autotune_main

    assert predict_main([str(PLAN), "--hardware", "h100-sxm-80gb", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["profile_prices_host_thread"] is False
    assert predict_main([str(PLAN), "--hardware", "h200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["profile_prices_host_thread"] is True
    flags = ["--model", "llama-1.3b", "--gpus-per-node", "1", "--seq-len", "2048", "--global-batch", "8", "--json"]
    assert autotune_main(flags + ["--hardware", "h100-sxm-80gb"]) == 0
    assert json.loads(capsys.readouterr().out)["profile_prices_host_thread"] is False


def test_autotune_says_it_once_above_the_winner_lines(capsys):
    from mist_ds.autotune import main as autotune_main

    flags = ["--model", "llama-1.3b", "--gpus-per-node", "1", "--seq-len", "2048", "--global-batch", "8"]
    assert autotune_main(flags + ["--hardware", "h100-sxm-80gb"]) == 0
    out = capsys.readouterr().out
    assert out.count("Uncalibrated profile: h100-sxm-80gb") == 1 and "#1: Uncalibrated" not in out
    assert autotune_main(flags + ["--hardware", "h200"]) == 0
    assert "Uncalibrated" not in capsys.readouterr().out


def test_compare_names_the_uncalibrated_profile_it_predicted_on():
    from mist_ds.compare import comparison
    from mist_ds.config import RunReport

    run = RunReport.load(PLAN.with_name(PLAN.name.replace(".plan.json", ".run.json")))
    assert "on h100-sxm-80gb (uncalibrated" in comparison(Plan.load(PLAN), run, hardware="h100-sxm-80gb")[
        "prediction_source"]
    assert comparison(Plan.load(PLAN), run, hardware="h200")["prediction_source"].endswith("on h200")


MISTPIPE_PLAN = ACCURACY / "h100-auto-l13b-1g-c24-s4096-b16.plan.json"   # 1 GPU, part of the optimizer swapped


def test_a_mistpipe_plan_is_told_when_the_profile_has_no_mistpipe_host_terms():
    mistpipe, stock = Plan.load(MISTPIPE_PLAN), Plan.load(PLAN)
    h100_node, h200_node = load_hardware("h100-1gpu-node"), load_hardware("h200-1gpu-node")
    line = mistpipe_host_line(mistpipe, h100_node)   # its own micro-batch term since session 70, no block-pass one
    assert line.startswith("mistpipe's host work per block pass takes h100-1gpu-node's stock term "
                           "(host_layer_overhead_s)")
    assert ("python -m mist_ds.calibrate RUN.json [RUN.json ...] --hardware h100-1gpu-node --fit "
            "mistpipe_layer_overhead_s --out PROFILE.json") in line
    neither = mistpipe_host_line(mistpipe, h100_node.model_copy(update={"mistpipe_microbatch_overhead_s": None}))
    assert neither.startswith("mistpipe's host work per micro-batch and block pass takes h100-1gpu-node's stock terms")
    assert "--fit mistpipe_microbatch_overhead_s,mistpipe_layer_overhead_s --out PROFILE.json" in neither
    # it cites the measured split by optimizer offload share, from files that exist
    assert "every run of a plan offloading part of its optimizer state ran slower than priced" in line
    for cited in ("bench/accuracy/offload_share.py", "bench/results/runtime/h100_partial_S50/"):
        assert cited in line and (ROOT / cited).exists()
    assert mistpipe_host_line(mistpipe, h200_node) is None          # fitted on the H200 node's mistpipe runs
    assert mistpipe_host_line(stock, h100_node) is None              # a stock plan takes the stock terms as fitted
    assert mistpipe_host_line(mistpipe, H100) is None                # uncalibrated: uncalibrated_line says it
    one_term = h100_node.model_copy(update={"mistpipe_layer_overhead_s": 0.0})
    assert mistpipe_host_line(mistpipe, one_term) is None            # a fitted 0 is a fit


def test_predict_autotune_and_report_md_carry_the_mistpipe_line(capsys):
    from mist_ds.autotune import main as autotune_main

    assert predict_main([str(MISTPIPE_PLAN), "--hardware", "h100-1gpu-node"]) == 0
    assert "takes h100-1gpu-node's stock term" in " ".join(capsys.readouterr().out.split())
    assert predict_main([str(MISTPIPE_PLAN), "--hardware", "h200-1gpu-node"]) == 0
    assert "stock terms" not in capsys.readouterr().out
    mistpipe = Plan.load(MISTPIPE_PLAN)
    hw = load_hardware("h100-1gpu-node")
    predicted = mistpipe.model_copy(update={"prediction": predict_plan(mistpipe, hw)})
    assert "takes h100-1gpu-node's stock term" in report_markdown([predicted], hw)
    flags = ["--model", "llama-1.3b", "--gpus-per-node", "1", "--seq-len", "4096", "--global-batch", "16",
             "--memory-gb", "24", "--hardware", "h100-1gpu-node"]
    assert autotune_main(flags + ["--executors", "mistpipe"]) == 0
    assert "#1: mistpipe's host work per block pass" in " ".join(capsys.readouterr().out.split())
    assert autotune_main(flags + ["--executors", "deepspeed"]) == 0
    assert "mistpipe's host work" not in capsys.readouterr().out
