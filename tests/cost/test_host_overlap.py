"""The stock model's host/GPU overlap (cost/host_overlap.py host_overlap): host-thread time shows only
where it exceeds the GPU's, per pass."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mist_ds.config import get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.host_overlap import host_overlap
from mist_ds.cost.stage import StageCostModel
from mist_ds.cost.stage_args import stage_args


def test_host_below_gpu_adds_nothing():
    assert host_overlap(0.3, 0.6, 0.1, 0.2) == pytest.approx(0.9)


def test_host_above_gpu_exposes_the_difference_per_pass():
    # forward: host 0.5 > GPU 0.3 exposes 0.2; backward: host 0.2 < GPU 0.6 hides
    assert host_overlap(0.3, 0.6, 0.5, 0.2) == pytest.approx(1.1)
    # a light forward cannot hide a heavy backward's host work (per pass, not per micro-batch)
    assert host_overlap(0.3, 0.6, 0.0, 0.8) == pytest.approx(1.1)


def _zero3(hw, dp):
    model = StageCostModel(get_preset("llama-7b"), hw, 4096, gpus_per_node=2)
    args = stage_args(stage_index=0, num_stages=1, num_layers=32, micro_batch=2, dp=dp, tp=1, grad_accum=2,
                      zero_stage=3, offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0,
                      num_recompute=32, num_offloaded=0)
    return model, args


@pytest.mark.parametrize("fetch_s", [1e-4, 0.05])
def test_stable_time_is_gpu_time_plus_exposed_host_and_breakdown_sums(fetch_s):
    # launches priced low enough that only the fetch hooks decide which side binds
    hw = load_hardware("h200").model_copy(update={"zero3_fetch_overhead_s": fetch_s, "host_launch_overhead_s": 1e-5})
    model, args = _zero3(hw, 2)
    p = model.time_parts(args)
    cost = model.evaluate(args)
    gpu, per_mb = float(p["gpu_side_mb"]), hw.host_microbatch_overhead_s
    assert per_mb > 0
    if fetch_s < 1e-3:      # hooks well under the GPU: hidden; the per-micro-batch work always adds
        assert float(p["host_side_mb"]) < gpu
        assert float(cost.stable_time_s) == pytest.approx(gpu + per_mb)
    else:                   # ~0.05 s x 874 fetches: the host binds and its excess shows
        assert float(cost.stable_time_s) > gpu + per_mb + 0.5 * (float(p["host_side_mb"]) - per_mb - gpu)
    total = sum(float(getattr(cost, f)) for f in ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s",
                                                  "offload_s", "optimizer_s"))
    assert total == pytest.approx(2 * float(cost.stable_time_s) + float(cost.delta_time_s), rel=1e-9)


def test_per_microbatch_host_work_adds_even_when_the_gpu_is_busy():
    # a sync ends every backward (stage3.py independent_gradient_partition_epilogue): nothing hides it
    hw = load_hardware("h200").model_copy(update={"zero3_fetch_overhead_s": 1e-5})
    model, args = _zero3(hw, 2)
    base = float(model.evaluate(args).stable_time_s)
    model2, _ = _zero3(hw.model_copy(update={"host_microbatch_overhead_s": hw.host_microbatch_overhead_s + 0.1}), 2)
    assert float(model2.evaluate(args).stable_time_s) == pytest.approx(base + 0.1)


def test_weight_offload_copies_block_the_host_only_when_gathering():
    # dp > 1: _all_gather_dtype's ds_tensor.to(device) (host waits); dp == 1: non_blocking side stream
    hw = load_hardware("h200")
    for dp, host_copy in ((2, True), (1, False)):
        model, args = _zero3(hw, dp)
        args = dataclasses.replace(args, offload_weights=1.0)
        p = model.time_parts(args)
        assert (float(p["weight_h2d_host_mb"]) > 0) is host_copy


def _host_free(hw):
    return hw.model_copy(update={"host_launch_overhead_s": 0.0, "host_layer_overhead_s": 0.0,
                                 "zero3_fetch_overhead_s": 0.0, "host_microbatch_overhead_s": 0.0})


def test_reduce_scatter_runs_serial_with_the_backward_only_when_gathering():
    # one NCCL communicator runs the reduce-scatters and all-gathers in issue order (ZERO3_EXPOSED.md
    # finding 3): with dp > 1 the reduce-scatter leaves the overlap and adds to the backward
    for dp in (1, 2):
        model, args = _zero3(_host_free(load_hardware("h200")), dp)
        p = model.time_parts(args)
        rs = float(model.rates.collective_s("reduce_scatter", model.terms(args)["dp_rs_mb_bytes"], dp, False))
        assert float(p["rs_serial_mb"]) == pytest.approx(rs)
        assert (rs > 0) is (dp > 1)
        assert float(p["gpu_side_mb"]) == pytest.approx(float(p["overlapped_mb"] + p["tp_comm_mb"]
                                                               + p["sync_transfer_mb"]) + rs)
        assert float(p["stable_mb"]) == pytest.approx(float(p["gpu_side_mb"]))   # no host time at all


def test_a_host_bound_pass_waits_for_its_gathers_only_when_gathering():
    # the fetch throttle (__max_ongoing_fetch_events) puts each pass's all-gathers on its host path;
    # with dp == 1 DeepSpeed gathers nothing (_no_gather_coalesced)
    hw = load_hardware("h200").model_copy(update={"host_launch_overhead_s": 0.01})   # host-bound passes
    stable = {}
    for dp in (1, 2):
        model, args = _zero3(hw, dp)
        p = model.time_parts(args)
        terms = model.terms(args)
        gathers = float(model.rates.collective_s("all_gather", terms["dp_ag_mb_bytes"] * 32 / 96, dp, False)
                        + model.rates.collective_s("all_gather", terms["dp_ag_mb_bytes"] * 64 / 96, dp, False))
        assert float(p["gather_host_mb"]) == pytest.approx(gathers)
        assert (gathers > 0) is (dp > 1)
        assert float(p["stable_mb"]) == pytest.approx(float(p["host_side_mb"]))    # host-bound both passes
        stable[dp] = float(p["stable_mb"]) - gathers
    assert stable[1] == pytest.approx(stable[2])     # the rest of the host path does not depend on dp


@pytest.mark.parametrize("fetch_s", [1e-4, 0.05])
def test_host_wait_is_the_exposed_host_time_inside_the_breakdown(fetch_s):
    hw = load_hardware("h200").model_copy(update={"zero3_fetch_overhead_s": fetch_s})
    model, args = _zero3(hw, 2)
    p, cost = model.time_parts(args), model.evaluate(args)
    # per micro-batch: what the stable time holds beyond the GPU's work; per step: the host overhead
    expected = 2 * (float(cost.stable_time_s) - float(p["gpu_side_mb"])) + hw.host_step_overhead_s
    assert float(cost.host_wait_s) == pytest.approx(expected, rel=1e-9)
    assert float(cost.host_wait_s) < 2 * float(cost.stable_time_s) + float(cost.delta_time_s)
    if fetch_s > 1e-3:       # the hooks bind: most of the iteration waits on the thread
        assert float(cost.host_wait_s) > 0.5 * (2 * float(cost.stable_time_s) + float(cost.delta_time_s))


def test_the_mistpipe_model_reports_its_host_wait():
    from mist_ds.cost.plan_predict import cost_model_for
    hw = load_hardware("h200").model_copy(update={"host_layer_overhead_s": 0.05})
    model = cost_model_for("mistpipe", get_preset("llama-7b"), hw, 4096, gpus_per_node=2)
    args = stage_args(stage_index=0, num_stages=1, num_layers=32, micro_batch=1, dp=2, tp=1, grad_accum=2,
                      zero_stage=0, offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0,
                      num_recompute=0, num_offloaded=0)
    cost = model.evaluate(args)
    # 64 passes x 50 ms of host work per micro-batch exceed any GPU pass of llama-7b at micro-batch 1
    assert float(cost.host_wait_s) > 0.5 * (2 * float(cost.stable_time_s) + float(cost.delta_time_s))


def _offload_dp1(hw, weights: float):
    # gpt-1.3b at seq 2048, mb 2, nothing recomputed: copy-bound with the optimizer offloaded
    model = StageCostModel(get_preset("gpt-1.3b"), hw, 2048, gpus_per_node=1)
    args = stage_args(stage_index=0, num_stages=1, num_layers=24, micro_batch=2, dp=1, tp=1, grad_accum=4,
                      zero_stage=3, offload_weights=weights, offload_gradients=1.0, offload_optimizer=1.0,
                      num_recompute=0, num_offloaded=0)
    return model, args


@pytest.mark.parametrize("weights", [0.0, 1.0])
def test_the_gradient_round_trip_runs_its_copies_one_after_the_other(weights):
    # stage3.py partition_grads: in, add_, out, all on reduce_and_partition_stream; with dp == 1 the
    # backward's weight copies queue beside them (bench/results/runtime/w1_blk_trace_S24)
    model, args = _offload_dp1(_host_free(load_hardware("h200")), weights)
    p, t = model.time_parts(args), model.terms(args)
    rt = model.rates
    chain = float(rt.h2d_s(t["h2d_mb_bytes"]) + rt.d2h_s(t["d2h_mb_bytes"]))
    chain += float(rt.h2d_s(t["weight_h2d_mb_bytes"])) / 2      # the backward's L of 2L block passes
    assert float(p["copy_chain_mb"]) > 0
    unshared = float(p["copy_chain_mb"] + p["coupling_mb"])
    gpu_f = (float(p["gpu_side_mb"]) - unshared) * float(p["forward_share"])
    # the backward is the chain and what the coupling leaves of the shorter side (coupling_s)
    assert float(p["gpu_side_mb"]) - gpu_f == pytest.approx(chain + float(p["coupling_mb"]))
    cost = model.evaluate(args)
    total = sum(float(getattr(cost, f)) for f in ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s",
                                                  "offload_s", "optimizer_s"))
    assert total == pytest.approx(4 * float(cost.stable_time_s) + float(cost.delta_time_s), rel=1e-9)


def test_no_chain_without_the_optimizer_offloaded():
    model, args = _offload_dp1(load_hardware("h200"), 1.0)
    args = dataclasses.replace(args, offload_gradients=0.0, offload_optimizer=0.0)
    assert float(model.time_parts(args)["copy_chain_mb"]) == 0.0
    assert float(model.time_parts(args)["coupling_mb"]) == 0.0


def test_the_coupling_is_the_shorter_sides_share_by_their_balance():
    # S38-1 (bench/results/runtime/coupling_S38): the gradient compute and the round trip overlap less
    # the closer their lengths; min^2 / max of the two, whichever is the longer
    from mist_ds.cost.stage_time import COUPLING_PER_BALANCE, coupling_s, round_trip_s

    model, args = _offload_dp1(load_hardware("h200"), 0.0)
    rt, t = model.rates, model.terms(args)
    chain = float(round_trip_s(rt, t))
    for compute, shorter, longer in ((chain / 4, chain / 4, chain), (chain, chain, chain), (4 * chain, chain, 4 * chain)):
        expected = COUPLING_PER_BALANCE * shorter * shorter / longer
        assert float(coupling_s(rt, t, np.float64(compute))) == pytest.approx(expected)
    assert float(coupling_s(rt, t, np.float64(chain))) > float(coupling_s(rt, t, np.float64(chain / 2)))
    assert float(coupling_s(rt, t, np.float64(chain))) > float(coupling_s(rt, t, np.float64(2 * chain)))
    p = model.time_parts(args)
    backward = float(p["blocks_bwd_mb"] + p["recompute_mb"] + (p["head_mb"] + p["embedding_mb"]) * 2 / 3)
    assert float(p["coupling_mb"]) == pytest.approx(float(coupling_s(rt, t, np.float64(backward))))


def test_a_host_paced_backward_pays_the_coupling_too():
    # the host blocks on the reduce stream's events (coupling_s), so with the host the slower side the
    # micro-batch still grows by the coupling
    hw = load_hardware("h200")
    slow = hw.model_copy(update={"host_layer_overhead_s": 0.5})
    model, args = _offload_dp1(slow, 0.0)
    p = model.time_parts(args)
    assert float(p["host_exposed_mb"]) > 0.0
    without = model.time_parts(dataclasses.replace(args, offload_gradients=0.0, offload_optimizer=0.0))
    coupling = float(p["coupling_mb"])
    assert coupling > 0.0
    assert float(p["stable_mb"] - without["stable_mb"]) >= coupling - 1e-12


@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_the_boundary_adds_norm_and_upcast_passes_over_the_whole_partition(ratio):
    # stage3.py _offload_grad_partition_at_boundary, for every parameter: an fp64 norm (18 B an element),
    # an fp32 upcast (6 B), then the CPU sub-groups' fp32 copy out or the GPU sub-groups' device copy (8 B)
    model, args = _offload_dp1(load_hardware("h200"), 0.0)
    args = dataclasses.replace(args, offload_optimizer=ratio)
    p, t = model.time_parts(args), model.terms(args)
    elements = float(t["d2h_mb_bytes"]) / 2                       # the 16-bit partition, dp 1
    on_cpu = float(t["boundary_d2h_bytes"]) / (4 * elements)     # the ratio in whole sub-groups
    assert on_cpu == pytest.approx(ratio, abs=0.05)
    assert float(t["boundary_pass_bytes"]) == pytest.approx(elements * (24 + 8 * (1 - on_cpu)))
    rt = model.rates
    fp32_out = float(rt.d2h_s(t["boundary_d2h_bytes"]))
    passes = float(rt.zero3_step_copy_s(t["boundary_pass_bytes"]))
    assert float(p["boundary_mb"]) == pytest.approx(fp32_out + passes)   # copy-bound: all of it shows
    no_offload = dataclasses.replace(args, offload_gradients=0.0, offload_optimizer=0.0)
    assert float(model.terms(no_offload)["boundary_pass_bytes"]) == 0.0
