"""A tuned mistpipe plan end to end on 2 CPU ranks, the way users run it: search -> predict -> the
output folder (plan.json, ds_config.json, report.md, ...) -> `deepspeed launch/train.py --plan` ->
RunReport; and the same plan with a different ZeRO/offload setting per stage trains to the same
losses (mistpipe keeps the math of the plan whatever each stage shards or offloads)."""

from __future__ import annotations

import json

import pytest

from mist_ds.config import ClusterSpec, Plan, RunReport, SearchSpace, TuneRequest
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import predict_plan
from mist_ds.emit.outputs import render_outputs, write_outputs
from mist_ds.search import search
from mist_ds.search.plans import predicted_plan

from tests.helpers import free_port

from .plans import GPT
from .test_train_cli import launch

pytestmark = pytest.mark.distributed
HW = load_hardware("h100-sxm-80gb")


def tuned_mistpipe_plan() -> Plan:
    """The best mistpipe plan for the tiny GPT on 2 GPUs; a batch of 5 sequences leaves no data-
    parallel split, so it is a 2-stage pipeline (micro-batch 1: 5 micro-batches in flight)."""
    request = TuneRequest(model=GPT, cluster=ClusterSpec(num_nodes=1, gpus_per_node=2), global_batch_size=5,
                          seq_len=32, space=SearchSpace(tensor_parallel=False, max_micro_batch=1))
    best = search(request, HW, top_k=1, executors=("mistpipe",)).ranked[0]
    return predicted_plan(request, best, HW)


def with_stage_memory(plan: Plan) -> Plan:
    """The plan with each stage's own setting: stage 0 ZeRO-3-style gathered weights (one rank),
    half of its weights, gradients and optimizer states and its blocks' activations on the host;
    stage 1 all of its optimizer states on the host (CPU Adam)."""
    first = MemoryStrategy(zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.5,
                           offload_optimizer_ratio=0.5)
    second = MemoryStrategy(zero_stage=0, offload_optimizer_ratio=1.0)
    stages = (plan.stages[0].model_copy(update={"memory": first,
                                                "num_offloaded_layers": plan.stages[0].num_layers}),
              plan.stages[1].model_copy(update={"memory": second}))
    edited = Plan.model_validate({**plan.without_prediction().model_dump(), "stages": stages})
    return edited.model_copy(update={"prediction": predict_plan(edited, HW)})


def run(tmp_path, plan: Plan, port: int, script: str = "launch/train.py", path: str | None = None) -> RunReport:
    """`path`: the optimizer offload path every stage's ds_config entry names (None: the cost model's)."""
    out = tmp_path / "out"
    write_outputs(out, render_outputs(out, [plan], HW, with_png=False))
    config = json.loads((out / "ds_config.json").read_text())
    assert "mistpipe" in config
    if path is not None:
        for stage in config["mistpipe"]["stages"]:
            stage["optimizer_offload_path"] = path
        (out / "ds_config.json").write_text(json.dumps(config))
    proc, report = launch(tmp_path, port, out / "plan.json", "--lr", "0.01", script=script)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return RunReport.load(report)


def test_a_tuned_mistpipe_plan_trains_through_launch_train(tmp_path):
    plan = tuned_mistpipe_plan()
    assert plan.executor == "mistpipe" and plan.num_stages == 2 and plan.grad_accum_steps == 5
    tuned = run(tmp_path / "tuned", plan, free_port())
    assert tuned.status == "ok" and tuned.num_steps == 3 and len(tuned.losses) == 3
    assert tuned.plan_hash == plan.without_prediction().content_hash()
    assert tuned.adam_impl == "torch_adamw"
    edited_plan = with_stage_memory(plan)
    edited = run(tmp_path / "edited", edited_plan, free_port())
    assert edited.status == "ok" and edited.adam_impl == "torch_adamw+cpu_adam"
    assert edited.plan_hash == edited_plan.without_prediction().content_hash() != tuned.plan_hash
    assert edited.losses == pytest.approx(tuned.losses, rel=1e-5)
    assert max(tuned.losses) - min(tuned.losses) > 1e-3  # it trains: the comparison is not vacuous
    assert tuned.swap_gradients is None and edited.swap_gradients == "device"


def test_gpu_swap_gives_the_same_losses_with_or_without_the_gradient_round_trip(tmp_path):
    """bench/engine/swap_via_host_train.py's and torch_pinned_train.py's A/Bs on the edited plan, both
    stages on the gpu_swap path: gradients read on the device with lean host gradient tails
    (launch/train.py), sent through the host (the engine of before session 12), or read on the device
    beside a full host gradient tail (the engine of session 12)."""
    plan = with_stage_memory(tuned_mistpipe_plan())
    device = run(tmp_path / "device", plan, free_port(), path="gpu_swap")
    via_host = run(tmp_path / "via_host", plan, free_port(), script="bench/engine/swap_via_host_train.py",
                   path="gpu_swap")
    full_tails = run(tmp_path / "full_tails", plan, free_port(), script="bench/engine/torch_pinned_train.py",
                     path="gpu_swap")
    assert device.adam_impl == via_host.adam_impl == full_tails.adam_impl == "torch_adamw+gpu_swap"
    assert (device.swap_gradients, via_host.swap_gradients) == ("device", "host")
    assert (device.host_buffers, full_tails.host_buffers) == ("registered", "torch_pinned")
    assert via_host.losses == pytest.approx(device.losses, rel=1e-6)
    assert full_tails.losses == device.losses


def test_a_plan_asking_for_the_fused_head_loss_trains_with_it(tmp_path):
    """Plan.head_loss 'fused' (what the search writes where it predicts it faster): launch/train.py builds
    mistpipe with the fused head loss (runtime/build.py), the report says so, and the losses are the logits
    path's."""
    plan = tuned_mistpipe_plan()
    fused_plan = Plan.model_validate({**plan.without_prediction().model_dump(), "head_loss": "fused"})
    fused_plan = fused_plan.model_copy(update={"prediction": predict_plan(fused_plan, HW)})
    logits = run(tmp_path / "logits", plan, free_port())
    fused = run(tmp_path / "fused", fused_plan, free_port())
    assert (logits.fused_head_loss, fused.fused_head_loss) == (False, True)
    assert fused.status == "ok" and fused.losses == pytest.approx(logits.losses, rel=1e-5)
    assert fused.plan_hash == fused_plan.without_prediction().content_hash() != logits.plan_hash
