"""predict's, autotune's and report.md's warning for plans whose reserved memory is predicted to reach
the cap (mist_ds/emit/report.py cap_reserving_stages, allocator_retry_line), and the tie-break it feeds
(mist_ds/api.py honest_order)."""

from __future__ import annotations

from pathlib import Path

from mist_ds.api import honest_order
from mist_ds.config import Plan, resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.config.track_record import TrackRecord
from mist_ds.config.units import GIB
from mist_ds.cost import predict_plan
from mist_ds.emit.report import allocator_retry_line, cap_reserving_stages, report_markdown
from mist_ds.predict import main as predict_main
from tests.helpers import make_plan
from tests.test_honest_ranking import _predicted

RUNS = Path(__file__).resolve().parents[2] / "bench" / "results" / "runtime" / "retries_S33"
AT_CAP = RUNS / "l323b-c16-s8192-b8.plan.json"          # reserved 16.00 GiB of 16, 47 retries (S33-2)
UNCAPPED = RUNS / "l323b-c16-s8192-b8-nocap.plan.json"  # the same plan on the whole card
NODE = load_hardware("h200-1gpu-node")


def _node_predicted(path: Path) -> Plan:
    plan = Plan.load(path)
    return plan.model_copy(update={"prediction": predict_plan(plan, NODE)})


def test_the_plan_that_retried_gets_the_sentence_and_its_uncapped_copy_does_not():
    capped, uncapped = _node_predicted(AT_CAP), _node_predicted(UNCAPPED)
    assert cap_reserving_stages(capped, NODE) == [0]
    assert allocator_retry_line(capped, NODE).startswith("Allocator at the cap: stage 0 is predicted")
    assert cap_reserving_stages(uncapped, NODE) == [] and allocator_retry_line(uncapped, NODE) is None


def test_predict_and_report_md_carry_it(capsys):
    assert predict_main([str(AT_CAP), "--hardware", "h200-1gpu-node"]) == 0
    assert "Allocator at the cap: stage 0" in capsys.readouterr().out
    assert "Allocator at the cap" in report_markdown([_node_predicted(AT_CAP)], NODE)
    assert "Allocator at the cap" not in report_markdown([_node_predicted(UNCAPPED)], NODE)


def _seven_b(zero_stage: int, time_s: float, peak_gib: float) -> Plan:
    """llama-7b on 1 GPU (one stage, dp 1) with a hand-set prediction under a 78 GiB cap."""
    plan = make_plan(resolve_model("llama-7b"), [{"end": 32}], zero_stage=zero_stage, seq_len=4096)
    predicted = _predicted(plan, time_s, peak_gib)
    return predicted.model_copy(update={"gpu_memory_cap_bytes": 78 * GIB})


def test_a_tie_prefers_the_plan_whose_allocator_stays_under_the_cap_over_more_headroom():
    hw = load_hardware("h200")
    # ZeRO-0 at 70 GiB: 8 GiB free, but its holes (HOLES zero0 of the 12.6 GiB 16-bit partition)
    # pass the cap
    roomy_at_cap = _seven_b(0, 1.00, 70.0)
    # ZeRO-3 at dp 1 at 74 GiB: 4 GiB free, its holes (zero3_dp1's) stay under it
    tight_under = _seven_b(3, 1.01, 74.0)
    assert cap_reserving_stages(roomy_at_cap, hw) == [0] and cap_reserving_stages(tight_under, hw) == []
    # no kind recorded: both at the model's median error (the shipped record knows per-module ZeRO-3 worse)
    none = TrackRecord(source="none", kinds={})
    assert honest_order([roomy_at_cap, tight_under], hw, record=none)[0] == (tight_under, roomy_at_cap)
    # outside a tie the faster plan still wins
    assert honest_order([roomy_at_cap, _seven_b(3, 1.2, 74.0)], hw, record=none)[0][0] is roomy_at_cap
