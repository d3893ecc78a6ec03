"""The rendered output folder: ds_config.json validated by DeepSpeed's own config classes, report,
PNG, atomic writes."""

from __future__ import annotations

import json

import pytest

from mist_ds.api import tune
from mist_ds.config import ClusterSpec, Plan, TuneRequest, resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.emit.hf import hf_trainer_blocker
from mist_ds.emit.outputs import OUTPUT_FILES, render_outputs, write_outputs
from mist_ds.emit.report import in_unit, table_units

HW = load_hardware("h100-sxm-80gb")
CASES = {
    "zero3-fractional-offload": ("llama-7b", 1, 4, 64, 4096, 30),
    "pipeline": ("gpt-22b", 4, 8, 512, 2048, None),
    "small": ("gpt-1.3b", 1, 2, 32, 2048, None),
    "tight-recompute": ("llama-13b", 1, 4, 32, 4096, 40),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def tuned(request):
    model, nodes, gpus, batch, seq, cap = CASES[request.param]
    req = TuneRequest(model=resolve_model(model), cluster=ClusterSpec(num_nodes=nodes, gpus_per_node=gpus),
                      global_batch_size=batch, seq_len=seq,
                      gpu_memory_cap_bytes=None if cap is None else int(cap * GIB))
    return req, tune(req, HW, top_k=3)


def test_ds_config_is_valid_for_deepspeed(tuned, tmp_path):
    from deepspeed.runtime.config import DeepSpeedConfig
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig

    req, result = tuned
    files = render_outputs(tmp_path, result.plans, HW, result.stats, with_png=False)
    config = json.loads(files["ds_config.json"])
    plan = Plan.from_json_text(files["plan.json"].decode())
    dp = plan.dp
    if plan.executor == "mistpipe":  # what build_mistpipe_engine hands DeepSpeed, the rest it reads itself
        from mist_ds.runtime.mistpipe.engine import split_config

        config, own = split_config(config)
        assert "zero_optimization" not in config and own["dtype"] is not None
    # without a process group DeepSpeedConfig takes world size 1: give it one data-parallel rank's batch
    parsed = DeepSpeedConfig({**config, "train_batch_size": config["train_batch_size"] // dp})
    assert parsed.zero_optimization_stage == (0 if plan.executor == "mistpipe" else plan.memory.zero_stage)
    assert parsed.gradient_accumulation_steps == plan.grad_accum_steps
    assert parsed.train_micro_batch_size_per_gpu == plan.micro_batch_size
    if plan.executor == "mistpipe":
        assert [s["zero_stage"] for s in json.loads(files["ds_config.json"])["mistpipe"]["stages"]] == \
            [plan.stage_memory(i).zero_stage for i in range(plan.num_stages)]
        return
    zero = DeepSpeedZeroConfig(**config["zero_optimization"])
    ratio = plan.memory.offload_optimizer_ratio
    assert (zero.offload_optimizer is not None) == (ratio > 0)
    if zero.offload_optimizer is not None:
        assert zero.offload_optimizer.ratio == pytest.approx(ratio)
    assert (zero.offload_param is not None) == (plan.memory.offload_weights_ratio > 0)


def test_plan_json_round_trips_and_carries_the_prediction(tuned, tmp_path):
    req, result = tuned
    files = render_outputs(tmp_path, result.plans, HW, result.stats, with_png=False)
    plan = Plan.from_json_text(files["plan.json"].decode())
    assert plan == result.plans[0]
    assert plan.to_json().encode() == files["plan.json"]
    assert plan.gpu_memory_cap_bytes == req.gpu_memory_cap_bytes
    report = files["report.md"].decode()
    for heading in ("## Plan", "## Top plans", "## Why this plan", "## Search"):
        assert heading in report
    # the report's numbers are the plans' predictions (one clock): each listed plan's time per iteration
    # appears, in the unit of the table's column
    clock, _ = table_units(result.plans)
    assert f"| {clock.name}/iter |" in report
    for listed in result.plans:
        assert f"| {in_unit(listed.prediction.iteration_time_s, clock)} |" in report
    assert report.count("\n| ") >= len(result.plans) + plan.num_stages * 2


def test_written_folder(tmp_path):
    req = TuneRequest(model=resolve_model("gpt-125m"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                      global_batch_size=8, seq_len=1024)
    result = tune(req, HW, top_k=2)
    out = tmp_path / "out dir"
    write_outputs(out, render_outputs(out, result.plans, HW, result.stats))
    # a data-parallel plan: the Hugging Face Trainer can run it too, so hf/ is written (emit/hf.py)
    assert hf_trainer_blocker(result.plans[0]) is None
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUT_FILES, "hf"])
    assert sorted(p.name for p in (out / "hf").iterdir()) == ["README.md", "accelerate.yaml", "ds_config.json",
                                                              "training_args.json"]
    assert (out / "launch.sh").stat().st_mode & 0o111
    assert (out / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    launch = (out / "launch.sh").read_text()
    assert str(out) not in launch and 'python" -m mist_ds.run "$here"' in launch  # relocatable
