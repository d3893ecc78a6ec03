"""Activation offload's time under the stock executor (cost/act_offload.py), per pack copy mode:
'blocking' (torch < 2.13's save_on_cpu) holds the host on every pack, so an offloaded block's forward
runs its host work, its kernels and its copies one after another; 'non_blocking' (the runtime's
runtime/host_saves.py) queues the copies on the compute stream and lets the host run on. The copies
back in backward are GPU time in both."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.act_offload import pack_host_s, pass_walls, save_calls, serialized_forward
from mist_ds.cost.activations import block_saves, stored_bytes
from mist_ds.cost.conditions import RunConditions, act_offload_copy_of
from mist_ds.cost.shapes import saved_weight_numels
from mist_ds.cost.host_overlap import host_overlap
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args

HW = load_hardware("h200")
LLAMA = get_preset("llama-7b")
BREAKDOWN = ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s")


def _args(**over):
    base = dict(stage_index=0, num_stages=1, num_layers=32, micro_batch=1, dp=2, tp=1, grad_accum=4,
                zero_stage=3, offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0,
                num_recompute=16, num_offloaded=16)
    return stage_args(**{**base, **over})


@pytest.fixture(scope="module")
def model():
    return StageCostModel(LLAMA, HW, 4096, gpus_per_node=2, conditions=RunConditions(act_offload_copy="blocking"))


@pytest.fixture(scope="module")
def nb_model():
    return StageCostModel(LLAMA, HW, 4096, gpus_per_node=2)   # the runtime's mode, the default


def test_serialized_forward_is_the_overlap_without_offload_and_adds_the_blocks_with_it():
    assert serialized_forward(0.3, 0.5, 0.0, 0.0, 0.0, 0.0) == pytest.approx(host_overlap(0.3, 0.0, 0.5, 0.0))
    # host-bound rest: 0.5 - 0.1 of host; then the offloaded blocks' GPU 0.05, host 0.15, copies 0.3
    assert serialized_forward(0.3, 0.5, 0.05, 0.15, 0.1, 0.3) == pytest.approx(0.4 + 0.05 + 0.15 + 0.3)
    # a non-blocking pack would only add the copies to the GPU side: max(0.3 + 0.3, 0.5) = 0.6
    assert serialized_forward(0.3, 0.5, 0.05, 0.15, 0.1, 0.3) > host_overlap(0.6, 0.0, 0.5, 0.0)


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_the_term_appears_exactly_for_offloaded_blocks(model, zero):
    na = np.array([0, 0, 4, 16])
    args = _args(zero_stage=zero, num_offloaded=na, num_recompute=np.array([0, 16, 0, 16]),
                 micro_batch=np.array([1, 2, 1, 2]))
    p = model.time_parts(args)
    for key in ("act_serial_mb", "act_d2h_mb", "act_h2d_mb", "act_host_mb"):
        assert np.all(p[key][na == 0] == 0.0), key
        assert np.all(p[key][na > 0] > 0.0), key
    assert np.array_equal(p["clock_forward_share"][na == 0], p["forward_share"][na == 0])


def test_copies_host_work_and_serialisation_scale_with_offloaded_blocks(model):
    one, two = (model.time_parts(_args(num_offloaded=n, num_recompute=0)) for n in (8, 16))
    for key in ("act_d2h_mb", "act_h2d_mb", "act_host_mb"):
        assert float(two[key]) == pytest.approx(2 * float(one[key]), rel=1e-12), key
    # each offloaded block adds its kernels, host work and copies to the forward (once the rest of
    # the pass is host-bound, as ZeRO-3 at micro-batch 1 is): the serialisation grows with na
    assert float(two["act_serial_mb"]) > float(one["act_serial_mb"]) > 0


def test_copies_scale_with_the_micro_batch_and_calls_do_not(model):
    calls, ratio = save_calls(LLAMA, 4096, "sdpa", np.array([1, 4]), np.array([1, 1]), lambda t: "torch")
    assert calls[0] == calls[1] == len(block_saves(LLAMA, 4096, tp=1)) + len(saved_weight_numels(LLAMA, 1))
    assert np.all(ratio > 1.0)     # the o-projection's input (a view) and RoPE's k tables copy again
    saves = block_saves(LLAMA, 4096, tp=1)
    assert ratio[1] == pytest.approx(sum(float(s.nbytes(4 * 4096)) for s in saves)
                                     / float(stored_bytes(saves, 4 * 4096)))
    small, large = (model.time_parts(_args(micro_batch=b)) for b in (1, 4))
    t1 = model.terms(_args(micro_batch=1))
    weights = float(t1["offloaded_per_microbatch"]) - 16 * float(t1["layer_saved"])
    act1 = float(small["act_d2h_mb"]) - weights / (HW.d2h_bandwidth_gbps * 1e9)
    act4 = float(large["act_d2h_mb"]) - weights / (HW.d2h_bandwidth_gbps * 1e9)
    assert 3.5 * act1 < act4 < 4.0 * act1    # activations x4; latencies and RoPE tables do not scale


def test_a_pack_costs_one_launch_of_the_pass_as_the_stage_prices_it():
    # ZeRO-3: a launch on the host path costs host_launch_overhead_s; otherwise a pass costs
    # host_layer_overhead_s over its launches (config/hardware.py)
    assert float(pack_host_s(1.0, 27, HW)) == pytest.approx(HW.host_launch_overhead_s)
    assert float(pack_host_s(0.0, 27, HW)) == pytest.approx(HW.host_layer_overhead_s / 27)
    t = {"num_offloaded": np.array(8.0), "num_layers": np.array(32.0)}
    p = {"act_calls": np.array(26.0), "blocks_fwd_mb": np.array(0.1), "act_d2h_mb": np.array(0.2)}
    for z in (0.0, 1.0):
        tz = {**t, "z3": np.array(z)}
        forward, backward, host = pass_walls(tz, p, (27, 50), 0.3, 0.6, 0.05, 0.1, HW, "blocking")
        packs = 8 * 26 * float(pack_host_s(z, 27, HW))
        # GPU-bound rest (0.3 - 8 blocks' 0.025 of kernels): then kernels, host share, packs, copies
        assert float(forward) == pytest.approx(0.275 + 0.025 + 0.05 * 8 / 32 + packs + 0.2)
        assert float(backward) == pytest.approx(0.6)      # unpacks hide behind the copies back
        assert float(host) == pytest.approx(packs + 8 * 26 * float(pack_host_s(z, 50, HW)))
        # non-blocking: the copies out join the GPU side, the packs the host side, and they overlap
        nb = pass_walls(tz, p, (27, 50), 0.3, 0.6, 0.05, 0.1, HW, "non_blocking")
        assert float(nb[0]) == pytest.approx(max(0.3 + 0.2, 0.05 + packs))
        assert float(nb[1]) == pytest.approx(float(backward)) and float(nb[2]) == pytest.approx(float(host))
        # a host-bound pass (0.6 s of host work): the packs show, the copies hide behind the host
        hb = pass_walls(tz, p, (27, 50), 0.3, 0.6, 0.6, 0.1, HW, "non_blocking")
        assert float(hb[0]) == pytest.approx(0.6 + packs)


def test_breakdown_sums_and_charges_the_serialisation_as_offload(model):
    args = _args()
    cost, p = model.evaluate(args), model.time_parts(args)
    total = sum(float(getattr(cost, f)) for f in BREAKDOWN)
    assert total == pytest.approx(4 * float(cost.stable_time_s) + float(cost.delta_time_s), rel=1e-9)
    assert float(cost.offload_s) >= 4 * float(p["act_serial_mb"] + p["act_d2h_mb"] + p["act_h2d_mb"]) - 1e-9


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_a_blocking_pack_costs_more_than_a_non_blocking_one_and_nothing_without_offload(model, nb_model, zero):
    na = np.array([0, 0, 4, 16])
    args = _args(zero_stage=zero, num_offloaded=na, num_recompute=np.array([0, 16, 0, 16]),
                 micro_batch=np.array([1, 2, 1, 2]))
    blocking, non_blocking = model.evaluate(args), nb_model.evaluate(args)
    off, on = na == 0, na > 0
    for f in fields(blocking):       # nothing offloaded: every field identical, bit for bit
        assert np.array_equal(getattr(blocking, f.name)[off], getattr(non_blocking, f.name)[off]), f.name
    assert np.all(blocking.stable_time_s[on] > non_blocking.stable_time_s[on])
    # the copies and the host work of packs and unpacks are the same in both modes
    pb, pn = model.time_parts(args), nb_model.time_parts(args)
    for key in ("act_d2h_mb", "act_h2d_mb", "act_host_mb", "act_calls"):
        assert np.array_equal(pb[key], pn[key]), key
    # non-blocking: what offload adds beyond the plain overlap is at most the packs' host time
    assert np.all(pn["act_serial_mb"] <= pn["act_host_mb"] + 1e-12)
    assert np.all(pn["act_serial_mb"] >= -1e-12)


def test_an_unknown_copy_mode_is_refused():
    with pytest.raises(ValueError, match="blocking, non_blocking"):
        RunConditions(act_offload_copy="async")


def test_the_copy_mode_of_a_run_follows_its_record_then_its_torch():
    assert act_offload_copy_of(None, "2.11.0+cu130") == "blocking"      # every committed run
    assert act_offload_copy_of(None, "2.12.1") == "blocking"
    assert act_offload_copy_of(None, "2.13.0+cpu") == act_offload_copy_of(None, "3.0") == "non_blocking"
    assert act_offload_copy_of("non_blocking", "2.11.0") == "non_blocking"
    with pytest.raises(ValueError, match="major.minor"):
        act_offload_copy_of(None, "nightly")
