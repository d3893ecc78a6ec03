"""runtime/copy_probe.py: which runs probe, what a CPU run does, the line rank 0 prints, the CLI switch.
The probe itself runs on a GPU (tests/profile/test_profile_gpu.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mist_ds.config import Plan
from mist_ds.config.machine import with_copy_slowdowns
from mist_ds.config.profiles import load_hardware
from mist_ds.emit.ds_config import build_ds_config, with_machine_paths
from mist_ds.runtime.copy_probe import gpu_fits, machine_prediction, needs_probe, path_changes, probed_config
from mist_ds.runtime.rank import parse_args

ROOT = Path(__file__).resolve().parents[2]
SWAP = Plan.load(ROOT / "bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.plan.json")
NO_OFFLOAD = Plan.load(ROOT / "bench/results/accuracy/h100n-auto-g2l-1g-c40-s1024-b128.plan.json")
NODE = load_hardware("h100-1gpu-node")


def test_only_plans_with_an_offloaded_optimizer_share_probe():
    assert needs_probe(SWAP) and not needs_probe(NO_OFFLOAD)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path")
def test_a_cpu_run_keeps_its_config_and_measures_nothing():
    config = build_ds_config(SWAP, hardware=NODE)
    assert probed_config(SWAP, config, NODE, 0) == (config, None, "")
    assert probed_config(SWAP, None, NODE, 0) == (None, None, "")


def test_the_line_says_which_paths_changed():
    config = build_ds_config(SWAP, hardware=NODE)
    slow = with_machine_paths(SWAP, config, with_copy_slowdowns(NODE, 1.601, 1.694))
    assert path_changes(SWAP, config, slow) == "optimizer path stage 0 gpu_swap -> cpu_adam"
    assert path_changes(SWAP, None, config) == "optimizer path stage 0 gpu_swap kept"


def test_the_probe_can_be_switched_off():
    assert not parse_args(["--plan", "p.json"]).no_copy_probe
    assert parse_args(["--plan", "p.json", "--no-copy-probe"]).no_copy_probe


def test_the_host_adam_on_a_slow_machine_fits_the_gpu_and_needs_more_host_memory():
    slow = with_copy_slowdowns(NODE, 1.601, 1.694)
    prediction = machine_prediction(SWAP, slow)
    (was,), (now,) = SWAP.prediction.stages, prediction.stages
    assert now.peak_memory_bytes < was.peak_memory_bytes  # no swap slots on the device
    offloaded = 1.72e9  # elements of the offloaded share (its optimizer_offload_why)
    assert now.cpu_memory_bytes - was.cpu_memory_bytes == pytest.approx(6 * offloaded, rel=0.05)  # 18 vs 12 B
    assert gpu_fits(SWAP, prediction, slow)


def test_a_path_whose_gpu_peak_passes_the_plans_bound_is_not_taken():
    slow = with_copy_slowdowns(NODE, 1.601, 1.694)
    prediction = machine_prediction(SWAP, slow)
    (stage,) = prediction.stages
    bigger = prediction.model_copy(update={"stages": (stage.model_copy(
        update={"peak_memory_bytes": SWAP.gpu_memory_cap_bytes}),)})
    assert not gpu_fits(SWAP, bigger, slow)


@pytest.fixture
def slow_gpu(monkeypatch):
    """probed_config's decisions as on a GPU whose copies both ways run like S54-1's machine (measured_pair and
    the CUDA check stubbed; the host check stubbed per test)."""
    import mist_ds.runtime.copy_probe as probe

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(probe, "measured_pair", lambda device: (1.601, 1.694))
    return monkeypatch


def _host_check(monkeypatch, message):
    import mist_ds.runtime.host_check as host_check

    seen = []
    monkeypatch.setattr(host_check, "check_host_memory", lambda plan, rank: seen.append(plan) or message)
    return seen


def test_on_a_slow_machine_the_host_adam_is_taken_when_the_node_has_the_memory(slow_gpu):
    seen = _host_check(slow_gpu, None)
    config, pair, declined = probed_config(SWAP, build_ds_config(SWAP, hardware=NODE), NODE, 0)
    assert pair == (1.601, 1.694) and declined == ""
    assert config["mistpipe"]["stages"][0]["optimizer_offload_path"] == "cpu_adam"
    (checked,) = seen  # the host check saw the prediction on the new path
    assert checked.prediction.stages[0].cpu_memory_bytes > SWAP.prediction.stages[0].cpu_memory_bytes


def test_on_a_slow_machine_the_swap_stays_when_the_node_lacks_the_memory(slow_gpu):
    _host_check(slow_gpu, "host memory: node 0 needs 40.0 GiB for its 1 rank(s), 30.0 GiB available (...)")
    config = build_ds_config(SWAP, hardware=NODE)
    kept, pair, declined = probed_config(SWAP, config, NODE, 0)
    assert kept == config and pair == (1.601, 1.694)
    assert declined.startswith("the re-priced path is not taken, node 0 needs 40.0 GiB")


def test_a_machine_like_the_profile_changes_nothing_and_checks_nothing(slow_gpu):
    import mist_ds.runtime.copy_probe as probe

    from mist_ds.config.hw_lookup import interference_slowdowns

    profile_pair = tuple(interference_slowdowns(NODE, ["h2d", "d2h"]).values())
    slow_gpu.setattr(probe, "measured_pair", lambda device: profile_pair)
    seen = _host_check(slow_gpu, "never asked")
    config = build_ds_config(SWAP, hardware=NODE)
    assert probed_config(SWAP, config, NODE, 0) == (config, profile_pair, "") and seen == []
