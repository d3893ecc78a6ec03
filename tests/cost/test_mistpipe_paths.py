"""The optimizer offload path of a mistpipe stage (cost/mistpipe_step.py optimizer_path): one rule,
charged by the cost model, carried by the emitted ds_config, run by the engine, and followed when a
committed run is scored (cost/conditions.py optimizer_path_of)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mist_ds.config import Plan, RunReport, get_preset
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions, predict_plan
from mist_ds.cost.conditions import optimizer_path_of
from mist_ds.cost.mistpipe import MistpipeStageCostModel
from mist_ds.cost.mistpipe_state import offloaded_share, stage_sizes
from mist_ds.cost.mistpipe_step import offload_step_s, optimizer_path, priced_path, stage_optimizer_paths
from mist_ds.cost.rates import Rates
from mist_ds.cost.stage_args import plan_stage_args
from mist_ds.emit.ds_config import build_ds_config, config_mismatches
from mist_ds.runtime.mistpipe.memory import adam_impl_of, offload_path

from tests.helpers import make_plan

HW = load_hardware("h200")
ROOT = Path(__file__).resolve().parents[2]
def two_stage(small: float = 0.01, large: float = 0.5) -> Plan:
    """llama-7b PP2 on 2 GPUs: stage 0 offloads `small` of its optimizer states (3.4e7 elements per
    rank at 0.01), stage 1 `large` (1.7e9 at 0.5)."""
    memory = [MemoryStrategy(zero_stage=1, offload_optimizer_ratio=r) for r in (small, large)]
    model = get_preset("llama-7b")
    return make_plan(model, [{"end": 16, "memory": memory[0]}, {"end": model.num_layers, "memory": memory[1]}],
                     executor="mistpipe", micro_batch=1, global_batch=8, seq_len=4096)


@pytest.mark.parametrize("profile", ["h200", "h100-sxm-80gb"])
def test_the_rule_takes_the_faster_path_for_each_share(profile):
    rates = Rates(load_hardware(profile), gpus_per_node=2)
    n = np.array([1e6, 1e7, 3e7, 2e8, 1e9, 1e10])
    # the engine before 2026-12-01 (swapped gradients through the host): CPU Adam below ~1.7e8 elements
    # on H200; on the H100 profile, whose h2d slows more beside d2h, below ~2-3e8
    before = priced_path(rates, n, 0 * n, 9, swap_gradients="host")[0]
    assert before.tolist() == [False, False, False, profile == "h200", True, True]
    # the swap reading its gradients on the device (the engine's now) wins every share on the shipped
    # profiles: it moves 24 B/element over the link, CPU Adam's host work costs more at any share
    assert optimizer_path(rates, n, 0 * n, 9).tolist() == [True] * 6
    # the choice is the faster path by offload_step_s (step + early d2h), for both engines
    for gradients in ("host", "device"):
        both = [sum(offload_step_s(rates, n, 0 * n, 9, p, gradients)) for p in ("gpu_swap", "cpu_adam")]
        assert np.array_equal(priced_path(rates, n, 0 * n, 9, swap_gradients=gradients)[0], both[0] <= both[1])
    assert optimizer_path(rates, n, 0 * n, 9, forced="cpu_adam").tolist() == [False] * 6
    assert bool(optimizer_path(rates, 0.0, 0.0, 9)) is True  # nothing offloaded: the default, no cost
    with pytest.raises(ValueError, match="must be one of"):
        optimizer_path(rates, n, 0 * n, 9, forced="nvme")


def test_the_cost_model_charges_each_stage_its_own_path():
    plan = two_stage()
    assert [p for p, _ in stage_optimizer_paths(plan, HW)] == ["gpu_swap", "gpu_swap"]
    rule = MistpipeStageCostModel(plan.model, HW, plan.seq_len, gpus_per_node=2)
    cpu = MistpipeStageCostModel(plan.model, HW, plan.seq_len, gpus_per_node=2,
                                 conditions=RunConditions(optimizer_path="cpu_adam"))
    args = [plan_stage_args(plan, i) for i in range(2)]
    assert float(rule.state_parts(args[1])["swap_slots"]) == 2 * 16 * 16 * 2**20  # two slots of 16 B x 16 Mi
    assert float(cpu.state_parts(args[1])["swap_slots"]) == 0
    a = args[0].arrays()
    shard = float(stage_sizes(plan.model, a)["params"]) * 0.01
    assert float(cpu.state_parts(args[0])["host_optimizer"]) == pytest.approx(18 * shard)  # + the 16-bit copy
    # forcing CPU Adam on every stage: no device slots, and stage 1's large share steps slower (stage 0's
    # 1% share costs the same step time either way)
    forced, chosen = predict_plan(plan, HW, RunConditions(optimizer_path="cpu_adam")), predict_plan(plan, HW)
    for stage in range(2):
        assert forced.stages[stage].peak_memory_bytes < chosen.stages[stage].peak_memory_bytes
    assert forced.stages[0].step_s == chosen.stages[0].step_s
    assert forced.stages[1].step_s > 1.4 * chosen.stages[1].step_s


def test_the_engine_runs_the_path_the_cost_model_charged():
    """CPU only, no process group: the engine's resolution (runtime/mistpipe/memory.py offload_path)
    reads the path the emitted ds_config carries, which is the cost model's choice per stage."""
    plan = two_stage()
    config = build_ds_config(plan)
    model = MistpipeStageCostModel(plan.model, HW, plan.seq_len, gpus_per_node=2)
    for index in range(plan.num_stages):
        a = plan_stage_args(plan, index).arrays()
        charged = "gpu_swap" if bool(model.swaps(a, stage_sizes(plan.model, a))) else "cpu_adam"
        assert offload_path(config, index) == charged
        assert config["mistpipe"]["stages"][index]["optimizer_offload_why"].startswith("the faster:")
        assert offload_path(config, index, "gpu_swap") == "gpu_swap"  # an engine option overrides
    assert [offload_path(config, i) for i in range(2)] == ["gpu_swap", "gpu_swap"]
    # a ds_config written by hand (no mistpipe section) runs the default; a stage without offload has no entry
    assert offload_path({}, 0) == "gpu_swap"
    assert "optimizer_offload_path" not in build_ds_config(two_stage(0.0, 0.5))["mistpipe"]["stages"][0]
    # the path is an engine option: editing it in ds_config.json does not make the config refuse the plan
    edited = json.loads(json.dumps(config))
    edited["mistpipe"]["stages"][0]["optimizer_offload_path"] = "cpu_adam"
    assert config_mismatches(plan, edited) == [] and offload_path(edited, 0) == "cpu_adam"
    # what the run records reads back as the path it ran
    assert adam_impl_of(edited, [0, 1]) == "torch_adamw+cpu_adam+gpu_swap"
    assert optimizer_path_of(adam_impl_of(edited, [1])) == "gpu_swap"
    assert optimizer_path_of(adam_impl_of(edited, [0])) == "cpu_adam"
    assert optimizer_path_of(adam_impl_of(edited, [0, 1])) is None  # mixed: each stage by the rule
    assert optimizer_path_of("fused_adam") is None and optimizer_path_of("") is None


def test_a_committed_run_is_scored_on_the_path_it_recorded(tmp_path):
    """engine:llama13b_2gpu_c/mistpipe ran DeepSpeedCPUAdam (adam_impl 'torch_adamw+cpu_adam'); the
    rule would pick the swap for its 4.9e9 elements per rank, so scoring must follow the record."""
    from bench.accuracy.scoring import run_kernels, score

    source = ROOT / "bench" / "results" / "engine" / "executor_compare_llama13b_2gpu_c"
    plan_path, run_path = tmp_path / "m.plan.json", tmp_path / "m.run.json"
    shutil.copy(source / "mistpipe.plan.json", plan_path)
    run = json.loads((source / "mistpipe.run.json").read_text())
    assert run["adam_impl"] == "torch_adamw+cpu_adam"
    plan = Plan.load_checked(plan_path, "plan").without_prediction()
    kernels = run_kernels(RunReport.model_validate(run, strict=False))   # what the run ran
    # the run predates the engine's d2h bound (no d2h_queue_blocks recorded): scored unbounded, 0
    # and the swap's gradient source (no swap_gradients recorded): through the host; and the unfused
    # weight-gradient adds (no fused_wgrad recorded)
    before = {"d2h_queue_blocks": 0, "swap_gradients": "host", "fused_wgrad": False}
    predicted = {p: predict_plan(plan, HW, RunConditions(kernels=kernels, optimizer_path=p, **before))
                 for p in ("cpu_adam", "gpu_swap")}
    rule = predict_plan(plan, HW, RunConditions(kernels=kernels, **before))
    assert rule.iteration_time_s == predicted["gpu_swap"].iteration_time_s
    for record, path in (("torch_adamw+cpu_adam", "cpu_adam"), ("torch_adamw+gpu_swap", "gpu_swap")):
        run_path.write_text(json.dumps({**run, "adam_impl": record}))
        row = score("m", "engine", plan_path, run_path, (), {})
        assert row.predicted_s == pytest.approx(predicted[path].iteration_time_s)
    assert predicted["cpu_adam"].stages[0].cpu_memory_bytes > predicted["gpu_swap"].stages[0].cpu_memory_bytes


def test_streamed_weights_write_back_hides_under_the_hosts_adam_but_not_behind_the_swap():
    """offload_step_s's `write_back` (unit.py store_update: the streamed blocks' new weights go to the host on the
    d2h stream, which the host never waits for): with CPU Adam they cost only what the d2h stream's total (late
    gradients + stores) exceeds the host's work by; behind the swap's own stores they add; with nothing offloaded
    they are the step's whole copy."""
    rates = Rates(load_hardware("h100-1gpu-node"), gpus_per_node=1)
    n, units = 3.2e9, 29.0
    stores = float(rates.d2h_s(2 * 2.9e9))
    bare = [float(offload_step_s(rates, n, 0.0, units, p)[0]) for p in ("cpu_adam", "gpu_swap")]
    small = [float(offload_step_s(rates, n, 0.0, units, p, write_back=2.9e9)[0]) for p in ("cpu_adam", "gpu_swap")]
    assert small[0] == pytest.approx(bare[0])  # ~0.1 s of stores under ~0.96 s of host work
    assert small[1] == pytest.approx(bare[1] + stores)
    huge = 1e11  # the d2h stream's stores now outlast the host: the excess shows
    late = float(rates.d2h_s(4 * n))
    assert float(offload_step_s(rates, n, 0.0, units, "cpu_adam", write_back=huge)[0]) > late + float(
        rates.d2h_s(2 * huge))
    assert float(offload_step_s(rates, 0.0, 0.0, units, "cpu_adam", write_back=2.9e9)[0]) == pytest.approx(stores)



def test_a_streamed_stage_with_host_adam_prices_its_stores_under_the_host():
    """Llama 3.2 3B streamed whole with CPU Adam on the H100 node (batch b60's plan, 2.9e9 elements of stores,
    ~0.1 s of d2h): the step after the last backward is the host's update and the norm's passes, the stores not
    added after it (before session 61: +0.10 s)."""
    plan = Plan.load(ROOT / "bench" / "results" / "accuracy" / "h100n-auto-l323b-1g-c16-s8192-b8.plan.json")
    hw = load_hardware("h100-1gpu-node")
    step = predict_plan(plan, hw, RunConditions(optimizer_path="cpu_adam")).stages[0].step_s
    a = plan_stage_args(plan, 0).arrays()
    n, in_sections, units = (float(np.asarray(v).ravel()[0]) for v in offloaded_share(a, stage_sizes(plan.model, a)))
    update = float(offload_step_s(Rates(hw, 1), n, in_sections, units, "cpu_adam")[0])
    assert update < step < update + 0.04


def test_the_write_back_enters_the_path_choice_the_plan_carries_and_the_cost_model_charges():
    """On the H100 node's profile the stores decide batch b60's streamed plan: without them the swap is cheaper
    (0.88 vs 0.97 s), with them CPU Adam (0.97 vs 0.98): the emitted path and the charged one both see them."""
    plan = Plan.load(ROOT / "bench" / "results" / "accuracy" / "h100n-auto-l323b-1g-c16-s4096-b16.plan.json")
    hw = load_hardware("h100-1gpu-node")
    a = plan_stage_args(plan, 0).arrays()
    s = stage_sizes(plan.model, a)
    share = [float(np.asarray(v).ravel()[0]) for v in offloaded_share(a, s)]
    assert bool(optimizer_path(Rates(hw, 1), *share)) is True  # the swap, were the stores left out
    model = MistpipeStageCostModel(plan.model, hw, plan.seq_len, gpus_per_node=1)
    assert bool(model.swaps(a, stage_sizes(plan.model, a))) is False
    assert stage_optimizer_paths(plan, hw)[0][0] == "cpu_adam"
    assert offload_path(build_ds_config(plan, hardware=hw), 0) == "cpu_adam"
