"""emit/ds_config.py with_machine_paths: the engine's optimizer paths re-chosen on the running machine
where the ds_config carries the cost model's choice, and nowhere else."""

from __future__ import annotations

from pathlib import Path

from mist_ds.config import Plan
from mist_ds.config.machine import with_copy_slowdowns
from mist_ds.config.profiles import load_hardware
from mist_ds.emit.ds_config import PATH_KEYS, build_ds_config, config_mismatches, with_machine_paths

ROOT = Path(__file__).resolve().parents[2]
PLAN = Plan.load(ROOT / "bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.plan.json")
NODE = load_hardware("h100-1gpu-node")
SLOW = with_copy_slowdowns(NODE, 1.601, 1.694)


def _path(config: dict) -> tuple[str, str]:
    stage = config["mistpipe"]["stages"][0]
    return stage[PATH_KEYS[0]], stage[PATH_KEYS[1]]


def test_the_cost_models_choice_is_repriced_on_a_slow_machine():
    config = build_ds_config(PLAN, hardware=NODE)
    assert _path(config)[0] == "gpu_swap"
    machine = with_machine_paths(PLAN, config, SLOW)
    path, why = _path(machine)
    assert path == "cpu_adam" and why.startswith("the faster") and "cpu_adam 521 ms" in why
    assert _path(config)[0] == "gpu_swap"  # the input is not modified
    assert config_mismatches(PLAN, machine) == []
    assert list(machine["mistpipe"]["stages"][0]) == list(config["mistpipe"]["stages"][0])


def test_the_profiles_own_pair_keeps_the_path():
    config = build_ds_config(PLAN, hardware=NODE)
    assert with_machine_paths(PLAN, config, NODE) == config


def test_a_path_set_by_hand_stays():
    config = build_ds_config(PLAN, hardware=NODE)
    config["mistpipe"]["stages"][0].update({PATH_KEYS[0]: "gpu_swap", PATH_KEYS[1]: "set by hand"})
    assert _path(with_machine_paths(PLAN, config, SLOW)) == ("gpu_swap", "set by hand")


def test_a_config_without_mistpipe_stages_is_returned_as_is():
    config = {"train_batch_size": 16, "zero_optimization": {"stage": 1}}
    assert with_machine_paths(PLAN, config, SLOW) is config
