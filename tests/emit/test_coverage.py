"""What a prediction takes from outside its profile's measurements (mist_ds/emit/coverage.py) and the
groups it is checked over (mist_ds/cost/groups.py plan_groups)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mist_ds.config import ClusterSpec, Plan
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import predict_plan
from mist_ds.cost.groups import plan_groups
from mist_ds.emit.coverage import measured_groups, unmeasured_line, unmeasured_parts
from mist_ds.emit.report import report_markdown
from tests.helpers import make_plan, tiny_model

H100 = load_hardware("h100-sxm-80gb")       # 2-GPU node: collectives measured at 2 ranks inside it
H100_1GPU = load_hardware("h100-1gpu-node")  # 1-GPU node: its 2-rank fits are h100-sxm-80gb's
ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"


def plan_on(nodes: int, per_node: int, *, pp: int = 1, dp: int = 1, tp: int = 1, tied: bool = True, **fields):
    layers = 4
    stages = [{"end": layers * (i + 1) // pp} for i in range(pp)]
    plan = make_plan(tiny_model(num_layers=layers, tie_embeddings=tied), stages, dp=dp, tp=tp,
                     global_batch=8 * dp, micro_batch=2, **fields)
    cluster = ClusterSpec(num_nodes=nodes, gpus_per_node=per_node)
    return Plan.model_validate({**plan.model_dump(), "cluster": cluster.model_dump()})  # validated again


@pytest.mark.parametrize("plan, groups", [
    (plan_on(1, 1), set()),
    (plan_on(1, 4, dp=4), {("intra_node", 4)}),
    (plan_on(2, 4, dp=8), {("inter_node", 8)}),
    # stages of dp 2 x tp 2 = 4 ranks: the boundary at rank 4 is the node boundary; the tied
    # embedding's all-reduce joins the first and last stage across it
    (plan_on(2, 4, pp=2, dp=2, tp=2), {("intra_node", 2), ("inter_node", 2)}),
    (plan_on(1, 4, pp=2, dp=2, tied=False), {("intra_node", 2)}),
    (plan_on(1, 8, pp=4, tp=2, tied=False), {("intra_node", 2)}),
])
def test_plan_groups(plan, groups):
    assert plan_groups(plan) == groups


def priced_groups(plan) -> set:
    """The (scope, ranks) groups predict_plan looks collective fits up for (a spy on the profile lookup)."""
    import mist_ds.cost.rates as rates

    looked_up, real = set(), rates.collective_fit

    def spy(hw, kind, scope, group_size):
        looked_up.add((scope, group_size))
        return real(hw, kind, scope, group_size)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rates, "collective_fit", spy)
        predict_plan(plan, H100)
    return looked_up


@pytest.mark.parametrize("plan", [plan_on(1, 4, dp=4), plan_on(2, 4, dp=8), plan_on(2, 4, pp=2, dp=2, tp=2),
                                  plan_on(2, 2, pp=4, executor="mistpipe"), plan_on(2, 2, dp=4, executor="mistpipe"),
                                  plan_on(1, 2, dp=2, zero_stage=3)])
def test_the_groups_are_those_the_cost_model_prices(plan):
    assert priced_groups(plan) == plan_groups(plan)


@settings(max_examples=40, deadline=None)
@given(nodes=st.sampled_from([1, 2, 3]), per_node=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4]),
       tp=st.sampled_from([1, 2, 4]), executor=st.sampled_from(["deepspeed", "mistpipe"]), tied=st.booleans())
def test_any_layout_lists_exactly_the_priced_groups(nodes, per_node, pp, tp, executor, tied):
    gpus = nodes * per_node
    assume(tp <= per_node and gpus % (pp * tp) == 0)
    dp = gpus // (pp * tp)
    zero = 0 if executor == "deepspeed" and pp > 1 else 1
    plan = plan_on(nodes, per_node, pp=pp, dp=dp, tp=tp, tied=tied, executor=executor, zero_stage=zero)
    assert priced_groups(plan) == plan_groups(plan)


def test_measured_groups_are_fitted_sizes_the_profile_covers():
    assert measured_groups(H100) == {("intra_node", 2)}   # inter-node fits are datasheet values
    assert measured_groups(H100_1GPU) == set()            # nothing timed on a 1-GPU node


def test_a_plan_inside_the_measurements_gets_no_line():
    assert unmeasured_line(plan_on(1, 1), H100_1GPU) is None
    assert unmeasured_line(plan_on(1, 2, dp=2), H100) is None
    assert unmeasured_parts(plan_on(1, 2, dp=2), H100) == []


def test_each_kind_of_gap_is_named():
    line = unmeasured_line(plan_on(1, 2, dp=2), H100_1GPU)
    assert line.startswith("Not measured on h100-1gpu-node's node (1 GPU profiled): collectives over 2 ranks "
                           "inside a node use fits the profiler did not measure on this node")
    assert "extrapolated from the profile's fits at 2 ranks" in unmeasured_line(plan_on(1, 8, dp=8), H100)
    assert ("collectives over 2 ranks between nodes use assumed (datasheet) rates"
            in unmeasured_line(plan_on(2, 4, pp=2, dp=2, tp=2), H100))
    assert "python -m mist_ds.profile" in line


def test_nccl_overlap_is_named_only_where_the_profile_measured_none_and_the_plan_runs_collectives():
    two = plan_on(1, 2, dp=2)
    assert unmeasured_parts(two, H100) == []   # the 2-GPU node measured every set with NCCL
    gap = "collectives overlapping compute and copies are priced without slowdown (no overlap with NCCL measured)"
    assert gap in unmeasured_parts(two, H100_1GPU)
    assert unmeasured_parts(plan_on(1, 1), H100_1GPU) == []


def test_a_bigger_node_names_its_host_side_only_for_offload_plans():
    bare = unmeasured_parts(plan_on(1, 4, dp=4), H100)
    offload = unmeasured_parts(plan_on(1, 4, dp=4, offload_optimizer=1.0), H100)
    assert offload == bare + [offload[-1]]
    assert offload[-1].startswith("the host side of a node of 4 GPUs (CPU cores, host memory, pinned-copy rates with "
                                  "4 GPUs copying at once) is the profiled 2-GPU node's")


def test_the_host_step_is_named_where_a_mistpipe_stage_takes_the_host_path_on_a_profile_without_it():
    from mist_ds.cost.mistpipe_step import stage_optimizer_paths

    plan = Plan.load(ACCURACY / "g13-1g-c16-s2048-mp-mb2-og1-off1.plan.json")
    unmeasured = H100_1GPU.model_copy(update={"cpu_step_per_adam": None, "cpu_step_d2h_slowdown": None})
    assert [path for path, _ in stage_optimizer_paths(plan, unmeasured)] == ["cpu_adam"]
    assert unmeasured_parts(plan, unmeasured) == [
        "mistpipe's host Adam step with its cast back, and its slowdown beside the gradient copies, take the cost "
        "model's defaults"]
    assert unmeasured_parts(plan, H100_1GPU) == []  # measured there (sessions 47-48)
    on_gpu = Plan.load(ACCURACY / "h100n-auto-l321b-1g-c40-s8192-b8.plan.json")  # no optimizer state offloaded
    assert [path for path, _ in stage_optimizer_paths(on_gpu, unmeasured)] == ["none"]
    assert unmeasured_parts(on_gpu, unmeasured) == []


def test_autotune_predict_and_report_md_carry_it(capsys, tmp_path):
    from mist_ds.autotune import main as autotune_main
    from mist_ds.predict import main as predict_main

    flags = ["--model", "llama-1.3b", "--seq-len", "2048", "--global-batch", "16", "--hardware", "h100-sxm-80gb"]
    assert autotune_main(flags + ["--gpus-per-node", "4", "--out", str(tmp_path / "four")]) == 0
    assert "#1: Not measured on h100-sxm-80gb's node" in " ".join(capsys.readouterr().out.split())
    assert "Not measured on h100-sxm-80gb's node" in (tmp_path / "four" / "report.md").read_text()
    assert autotune_main(flags + ["--gpus-per-node", "4", "--json"]) == 0
    winner = json.loads(capsys.readouterr().out)["plans"][0]
    assert winner["unmeasured"] and winner["unmeasured"] == unmeasured_parts(
        plan_from_summary(winner), H100)
    assert autotune_main(flags + ["--gpus-per-node", "2", "--json"]) == 0
    assert all(p["unmeasured"] == [] for p in json.loads(capsys.readouterr().out)["plans"])
    plan_path = tmp_path / "four" / "plan.json"
    assert predict_main([str(plan_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unmeasured"] == winner["unmeasured"]
    assert predict_main([str(plan_path)]) == 0
    assert "Not measured on h100-sxm-80gb's node" in capsys.readouterr().out


def plan_from_summary(summary: dict) -> Plan:
    return Plan.from_json_text(json.dumps(summary["plan"]))


def test_report_md_has_no_line_inside_the_measurements():
    plan = plan_on(1, 2, dp=2)
    predicted = plan.model_copy(update={"prediction": predict_plan(plan, H100)})
    assert "Not measured" not in report_markdown([predicted], H100)


def test_compare_lists_what_its_re_prediction_did_not_measure():
    from mist_ds.compare import comparison, render
    from mist_ds.config import RunReport

    plan_path = ACCURACY / "l7-2g-c78-z3-mb1-rc0.plan.json"   # dp 2 on the 2-GPU H200 node
    plan, run = Plan.load(plan_path), RunReport.load(plan_path.with_name("l7-2g-c78-z3-mb1-rc0.run.json"))
    assert comparison(plan, run)["unmeasured"] == []
    assert comparison(plan, run, stored=True)["unmeasured"] is None
    elsewhere = comparison(plan, run, hardware="h200-1gpu-node")
    assert elsewhere["unmeasured"] == [
        "collectives over 2 ranks inside a node use fits the profiler did not measure on this node (its provenance "
        "notes say whence)",
        "collectives overlapping compute and copies are priced without slowdown (no overlap with NCCL measured)"]
    assert "note: not measured on the profile's node: collectives over 2 ranks" in render(elsewhere)
    assert "not measured" not in render(comparison(plan, run))
