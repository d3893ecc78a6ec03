"""compare: predicts with the profile of the GPU the run reports, and refuses a run of another plan."""

from __future__ import annotations

import pytest

from mist_ds import compare
from mist_ds.config import RunReport
from mist_ds.config.profiles import load_hardware, profile_for_gpu
from mist_ds.cost import RunConditions, predict_plan
from mist_ds.cost.kernel_set import EAGER

from .plans import CASES


def run_of(plan, gpu: str = "NVIDIA H200", **fields) -> RunReport:
    base = dict(status="ok", plan_hash=plan.without_prediction().content_hash(), gpu_name=gpu,
                num_gpus=plan.cluster.num_gpus, torch_version="x", deepspeed_version="y",
                num_steps=5, num_warmup_steps=2, median_iteration_time_s=1.0)
    return RunReport(**{**base, **fields})


@pytest.mark.parametrize("name,profile", [("NVIDIA H200", "h200"), ("NVIDIA H100 80GB HBM3", "h100-sxm-80gb"),
                                          ("nvidia h200 nvl", "h200")])
def test_gpu_names_map_to_shipped_profiles(name, profile):
    assert profile_for_gpu(name) == profile
    load_hardware(profile)  # every mapped profile is shipped


@pytest.mark.parametrize("cores,profile", [(None, "h200"), (32, "h200"), (16, "h200-1gpu-node"), (7, "h200")])
def test_a_runs_node_picks_the_profile_of_that_node_kind(cores, profile):
    """The 1-GPU H200 node (16 cores) has its own shipped profile; a node kind without one takes the card's."""
    assert profile_for_gpu("NVIDIA H200", cores) == profile
    assert load_hardware(profile).gpu_name == "NVIDIA H200"


def test_compare_predicts_on_the_profile_of_the_node_the_run_reports():
    plan = CASES["zero1"]
    pred, source = compare.prediction_for(plan, run_of(plan, host_cpu_cores=16))
    assert source.endswith("on h200-1gpu-node")
    assert pred == predict_plan(plan, load_hardware("h200-1gpu-node"), RunConditions(kernels=EAGER))


def test_an_unknown_gpu_is_a_one_line_error():
    with pytest.raises(ValueError, match="no shipped hardware profile for GPU 'NVIDIA A100") as err:
        profile_for_gpu("NVIDIA A100-SXM4-80GB")
    assert "\n" not in str(err.value)


def test_prediction_uses_the_runs_gpu_not_the_plans_stored_hardware():
    plan = CASES["zero1"]
    stored = plan.model_copy(update={"prediction": predict_plan(plan, load_hardware("h100-sxm-80gb"))})
    pred, source = compare.prediction_for(stored, run_of(plan))
    # the run records no kernels: it ran the eager set (cost/kernel_set.py KernelChoice)
    assert source.endswith("on h200")
    assert pred == predict_plan(plan, load_hardware("h200"), RunConditions(kernels=EAGER))
    pred, source = compare.prediction_for(stored, run_of(plan), stored=True)
    assert pred == stored.prediction and "stored" in source


def test_a_cpu_run_falls_back_to_the_stored_prediction_and_says_why():
    plan = CASES["zero1"]
    stored = plan.model_copy(update={"prediction": predict_plan(plan, load_hardware("h200"))})
    pred, source = compare.prediction_for(stored, run_of(plan, gpu="cpu"))
    assert pred == stored.prediction and "no shipped hardware profile for GPU 'cpu'" in source
    pred, source = compare.prediction_for(plan, run_of(plan, gpu="cpu"))
    assert pred is None and source.startswith("none:")
    pred, source = compare.prediction_for(plan, run_of(plan, gpu="cpu"), hardware="h100-sxm-80gb")
    assert "on h100-sxm-80gb (uncalibrated: it prices no host-thread time" in source


def test_a_run_of_another_plan_is_refused_unless_forced(tmp_path, capsys):
    plan_path, run_path = tmp_path / "plan.json", tmp_path / "run.json"
    CASES["zero1"].save(plan_path)
    run_of(CASES["zero2"]).save(run_path)
    assert compare.main([str(plan_path), str(run_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert compare.main([str(plan_path), str(run_path), "--force"]) == 0
    assert "warning: run plan hash" in capsys.readouterr().out


def test_the_comparison_names_the_plan_it_compares():
    plan = CASES["zero3_block_recompute"]
    result = compare.comparison(plan, run_of(plan))
    assert result["plan"] == plan.describe() and result["plan"].endswith("ZeRO-3, whole-block fetch")
    assert compare.render(result).splitlines()[0] == f"plan: {plan.describe()}"


def test_a_profile_file_of_its_own_name_also_predicts_reserved_memory(tmp_path):
    """What `python -m mist_ds.calibrate --out FILE` writes is named after the file, not a shipped profile: the
    reserved column comes from the profile the prediction was made on (until session 43: looked up by name, none)."""
    plan = CASES["zero1"]
    calibrated = tmp_path / "my-node.json"
    h200 = load_hardware("h200")
    calibrated.write_text(h200.model_copy(update={"name": "my-node"}).model_dump_json())
    run = run_of(plan, peak_allocated_bytes=(10 * 2**30,) * plan.cluster.num_gpus,
                 peak_reserved_bytes=(11 * 2**30,) * plan.cluster.num_gpus)
    ours, shipped = (compare.comparison(plan, run, hardware=h)["stages"][0] for h in (str(calibrated), "h200"))
    assert ours["predicted_reserved_bytes"] is not None
    assert ours["predicted_reserved_bytes"] == shipped["predicted_reserved_bytes"]
