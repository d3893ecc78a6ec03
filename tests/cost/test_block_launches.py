"""Kernel launches per block pass (cost/layer_time.py block_launches) against the committed traces."""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path

import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.kernel_set import EAGER, KernelSet
from mist_ds.cost.layer_time import block_launches
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args

TRACES = Path(__file__).resolve().parents[2] / "bench/results/runtime/parity/traces"


def _gaps(name: str, kernel: str) -> collections.Counter:
    """Launches on the compute stream (kernels and memsets; DeepSpeed's DtoD bucket copies and NCCL
    kernels left out) between consecutive attention kernels whose name holds `kernel`."""
    events = json.load(gzip.open(TRACES / f"{name}.trace.json.gz"))["traceEvents"]
    events = sorted((e for e in events if e.get("cat") in ("kernel", "gpu_memset")), key=lambda e: e["ts"])
    compute = collections.Counter(e["args"]["stream"] for e in events if "fprop" in e["name"]).most_common(1)[0][0]
    events = [e for e in events if e["args"]["stream"] == compute and "nccl" not in e["name"]]
    at = [i for i, e in enumerate(events) if kernel in e["name"]]
    return collections.Counter(b - a for a, b in zip(at, at[1:]))


def test_llama_eager_block_matches_the_zero2_trace():
    # llama-7b, eager kernels, no recompute: every block forward and backward but the edges
    fwd, bwd = block_launches(get_preset("llama-7b"), 1, EAGER)
    assert _gaps("zero2.mist.rank0", "fprop").most_common(1)[0] == (fwd, 124)
    assert _gaps("zero2.mist.rank0", "bprop").most_common(1)[0] == (bwd, 124)


def test_recomputed_block_matches_the_zero3_trace_within_one():
    # zero3-rc: bprop to bprop spans one recomputed forward and one backward (76 launches)
    fwd, bwd = block_launches(get_preset("llama-7b"), 1, EAGER)
    assert abs(_gaps("zero3-rc.mist.rank0", "bprop").most_common(1)[0][0] - (fwd + bwd)) <= 1


def test_launches_follow_the_model_and_kernel_set():
    llama, gpt = get_preset("llama-1.3b"), get_preset("gpt-1.3b")
    assert block_launches(gpt) < block_launches(llama)          # fused GELU, no RoPE
    fused = KernelSet(activation="compile", rope="compile", loss="liger")
    assert block_launches(llama, 1, fused) < block_launches(llama, 1, EAGER)
    assert block_launches(llama, 2, EAGER) == tuple(n + 2 for n in block_launches(llama, 1, EAGER))


def test_launch_cost_scales_the_host_side_by_the_count():
    hw = load_hardware("h200").model_copy(update={"zero3_fetch_overhead_s": 0.0, "host_layer_overhead_s": 0.0,
                                                   "host_launch_overhead_s": 1e-5})
    model = StageCostModel(get_preset("llama-7b"), hw, 4096, gpus_per_node=2, conditions=RunConditions(kernels=EAGER))
    # dp 1: no all-gather on the host path (tests/cost/test_host_overlap.py covers dp > 1)
    args = stage_args(stage_index=0, num_stages=1, num_layers=32, micro_batch=1, dp=1, tp=1, grad_accum=2,
                      zero_stage=3, offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0,
                      num_recompute=8, num_offloaded=0)
    p = model.time_parts(args)
    assert float(p["gather_host_mb"]) == 0.0
    fwd, bwd = block_launches(get_preset("llama-7b"), 1, EAGER)
    assert float(p["launches_mb"]) == (32 + 8) * fwd + 32 * bwd
    assert float(p["host_side_mb"]) == pytest.approx(float(p["launches_mb"]) * 1e-5 + hw.host_microbatch_overhead_s)
    assert float(p["host_forward_fraction"]) == pytest.approx(32 * fwd / float(p["launches_mb"]))
    # charged under ZeRO-3 only (config/hardware.py host_launch_overhead_s)
    zero2 = model.time_parts(stage_args(stage_index=0, num_stages=1, num_layers=32, micro_batch=1, dp=2, tp=1,
                                        grad_accum=2, zero_stage=2, offload_weights=0.0, offload_gradients=0.0,
                                        offload_optimizer=0.0, num_recompute=8, num_offloaded=0))
    assert float(zero2["launches_mb"]) == 0.0
