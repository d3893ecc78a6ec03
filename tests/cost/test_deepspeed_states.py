"""Model-state bytes of the cost model == what a real 2-rank DeepSpeed engine holds (CPU, gloo).

One subprocess (tests/cost/ds_state_probe.py) runs every configuration below on 2 CPU ranks with the
runtime's own model in bf16 and the emitted ds_config, and reports per rank the bytes held after
the last backward and inside the optimizer step, split into device and host (offload) memory.
About 15 s on 2 idle cores (50-80 s before the session cached the CPU info, tests/conftest.py); the
first run on a machine also JIT-builds DeepSpeed's CPU Adam and fused Adam ops (a few minutes, cached
in ~/.cache/torch_extensions afterwards).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mist_ds.config import ModelSpec, Plan
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import StageCostModel, plan_stage_args
from tests import helpers
from tests.helpers import child_pythonpath, free_port

pytestmark = pytest.mark.distributed

PROBE = Path(__file__).with_name("ds_state_probe.py")
MODEL = ModelSpec(name="probe", family="gpt", num_layers=2, hidden_size=128, num_heads=4,
                  num_kv_heads=4, ffn_hidden_size=512, vocab_size=1000, max_seq_len=64,
                  tie_embeddings=True, norm="layernorm", activation="gelu",
                  position_embedding="learned", linear_bias=True)
# (zero stage, optimizer offload ratio): ZeRO-0..3, CPU Adam with ZeRO-1/2/3, ZeRO-3 Twin-Flow ratio
CONFIGS = [(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0), (1, 1.0), (2, 1.0), (3, 1.0), (3, 0.5)]
GRAD_ACCUM = 2


def make_plan(zero: int, offload: float) -> Plan:
    return helpers.make_plan(MODEL, [{"end": MODEL.num_layers}], dp=2, micro_batch=2,
                             global_batch=2 * 2 * GRAD_ACCUM, seq_len=32, zero_stage=zero,
                             offload_optimizer=offload)



@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[tuple[int, float], dict]:
    folder = tmp_path_factory.mktemp("ds_states")
    paths = []
    for zero, offload in CONFIGS:
        path = folder / f"z{zero}-o{offload}.json"
        make_plan(zero, offload).save(path)
        paths.append(str(path))
    out = folder / "measured.json"
    proc = subprocess.run([sys.executable, str(PROBE), *paths, str(out), str(free_port())],
                          env={**os.environ, "PYTHONPATH": child_pythonpath(PROBE.parents[2])},
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    return dict(zip(CONFIGS, json.loads(out.read_text())))


def predicted(zero: int, offload: float) -> dict[str, float]:
    plan = make_plan(zero, offload)
    model = StageCostModel(MODEL, load_hardware("h100-sxm-80gb"), plan.seq_len, gpus_per_node=2)
    t = model.terms(plan_stage_args(plan, 0))
    value = {name: float(array) for name, array in t.items()}
    persistent_buffers = value["step_buffers"]   # ZeRO-3 ipg bucket, offload staging buffer
    return {
        "backward": value["weights"] + value["gradients"] + value["optimizer"] + persistent_buffers,
        "step": (value["step_weights"] + value["step_gradients"] + value["optimizer"]
                 + persistent_buffers),
        "host": value["cpu_states"],
    }


@pytest.mark.parametrize("zero,offload", CONFIGS)
def test_device_bytes_after_backward(measured, zero, offload):
    got = measured[(zero, offload)]["backward"]["device"]
    assert got == pytest.approx(predicted(zero, offload)["backward"], rel=0.01)


@pytest.mark.parametrize("zero,offload", CONFIGS)
def test_device_bytes_in_optimizer_step(measured, zero, offload):
    got = measured[(zero, offload)]["step"]["device"]
    assert got == pytest.approx(predicted(zero, offload)["step"], rel=0.01)


@pytest.mark.parametrize("zero,offload", [c for c in CONFIGS if c[0] == 1])
def test_zero1_accumulates_whole_16bit_gradients_before_the_boundary(measured, zero, offload):
    """After a non-boundary micro-batch ZeRO-1 holds every parameter's whole 16-bit gradient
    (reduce_ready_partitions_and_remove_grads reduces only at the boundary), with or without
    optimizer offload: the cost model's accumulated_gradients term."""
    plan = make_plan(zero, offload)
    model = StageCostModel(MODEL, load_hardware("h100-sxm-80gb"), plan.seq_len, gpus_per_node=2)
    t = {name: float(array) for name, array in model.terms(plan_stage_args(plan, 0)).items()}
    # + the kept ipg buckets (two reduce_bucket_size buffers) and the offload staging buffer
    expected = t["weights"] + t["accumulated_gradients"] + t["optimizer"] + t["buckets"]
    assert t["accumulated_gradients"] == 2 * t["params"]          # bf16, whatever dp
    assert measured[(zero, offload)]["accumulating"]["device"] == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("zero,offload", CONFIGS)
def test_host_bytes_of_offloaded_states(measured, zero, offload):
    got = measured[(zero, offload)]["step"]["host"]
    assert got == pytest.approx(predicted(zero, offload)["host"], rel=0.01, abs=1024)


def test_optimizer_wrappers_are_the_ones_modelled(measured):
    """The memory model's case split follows DeepSpeed's optimizer choice (engine.py)."""
    classes = {config: result["optimizer_class"] for config, result in measured.items()}
    assert classes[(0, 0.0)] == "FP16_Optimizer"
    assert classes[(1, 0.0)] == classes[(2, 0.0)] == "DeepSpeedZeroOptimizer"
    assert classes[(3, 0.0)] == "DeepSpeedZeroOptimizer_Stage3"
