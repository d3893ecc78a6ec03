"""The stock DeepSpeed stage's time, assembled from its compiled terms (cost/stage.py StageCostModel).

time_components builds the named components: the GPU's work of one micro-batch (compute_parts:
block, head and embedding compute, DeepSpeed's copies, recompute; overlap_parts: TP and DP
collectives, offload transfers and their overlap with compute), the host thread's share and the
stable time it leaves (host_parts), the per-step work (step_parts: step collectives, optimizer,
transfers) and what ZeRO-3 optimizer offload adds to a step's last micro-batch (boundary_window).
time_fields sums them into StageCost's time fields. Every function reads the stage model's public
settings (rates, hw, model, seq_len, saves, kernels, gpus_per_node, num_nodes, act_offload_copy)
and is pure numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mist_ds.cost.act_offload import offload_copies, pass_walls
from mist_ds.cost.groups import dp_spans_nodes
from mist_ds.cost.host_overlap import host_overlap
from mist_ds.cost.layer_time import host_launches
from mist_ds.cost.rates import HOST_BF16_PER_ADAM, HOST_CLIP_PER_ADAM
from mist_ds.cost.work import tp_comm_s
from mist_ds.cost.zero3_linear import bias_add_forward_s

if TYPE_CHECKING:
    from mist_ds.cost.stage import StageCostModel


def time_components(m: StageCostModel, t, times, b, dp, tp) -> dict[str, np.ndarray]:
    """Per micro-batch ('*_mb') and per step components of the stage's time, in seconds. `t`: the
    stage's terms (StageCostModel.terms); `times`: (..., 4) block fwd, block bwd, head fwd+bwd,
    embedding fwd+bwd seconds (StageCostModel._compute)."""
    inter = dp_spans_nodes(dp, tp, m.gpus_per_node, m.num_nodes)
    p = compute_parts(m, t, times, b, tp)
    p.update(overlap_parts(m, t, p, b, dp, tp, inter))
    host_parts(m, p, t, tp, dp, inter)
    p.update(step_parts(m, t, dp, inter, np.shape(p["busy_compute_mb"] + p["recompute_mb"])))
    p["boundary_copies_mb"], p["boundary_slack_mb"] = boundary_window(m.rates, p, t)
    p["boundary_mb"] = np.maximum(p["boundary_copies_mb"] - p["boundary_slack_mb"], 0.0)
    return p


def compute_parts(m: StageCostModel, t, times, b, tp) -> dict[str, np.ndarray]:
    """The GPU's compute of one micro-batch: blocks (forward, backward, recomputed forwards), head,
    embedding and DeepSpeed's copies; busy_compute_mb their sum without the recompute."""
    block_f, block_b, head, embedding = (times[..., i] for i in range(4))
    # ZeRO-3's linear adds the biased column-parallel linears' bias as kernels of their own
    # (cost/zero3_linear.py), in every forward and recomputed forward
    block_f = block_f + t["z3"] * bias_add_forward_s(m.hw, m.model, m.seq_len, b, tp)
    layers, recomputed = t["num_layers"], t["num_recompute"]
    p = {"blocks_fwd_mb": layers * block_f, "blocks_bwd_mb": layers * block_b,
         "head_mb": t["has_head"] * head, "embedding_mb": t["has_embedding"] * embedding,
         "deepspeed_copies_mb": m.rates.copy_s(t["mb_copy_bytes"]), "recompute_mb": recomputed * block_f}
    p["busy_compute_mb"] = (layers * (block_f + block_b) + p["head_mb"] + p["embedding_mb"]
                            + p["deepspeed_copies_mb"])
    return p


def overlap_parts(m: StageCostModel, t, p, b, dp, tp, inter) -> dict[str, np.ndarray]:
    """The GPU side of one micro-batch beyond compute (`p`: compute_parts): TP and DP collectives,
    offload transfers, what of them overlaps compute (overlapped_mb), the forward share of the
    compute and the GPU's whole micro-batch (gpu_side_mb)."""
    rt = m.rates
    q = {"tp_comm_mb": tp_comm_s(rt, t, tp)}
    q["dp_comm_mb"] = (rt.collective_s("all_reduce", t["dp_ar_mb_bytes"], dp, inter)
                       + rt.collective_s("reduce_scatter", t["dp_rs_mb_bytes"], dp, inter)
                       + 2 * rt.collective_s("all_gather", t["dp_ag_mb_bytes"] / 2, dp, inter))
    # ZeRO-3's reduce-scatters share one NCCL communicator with its all-gathers, which runs them
    # in issue order, and each bucket's waits for the compute that produced its gradients
    # (stage3.py __add_grad_to_ipg_bucket: reduce_and_partition_stream.wait_stream(current_stream()));
    # an all-gather issued after it queues behind it and the next module's backward waits for
    # that all-gather (partitioned_param_coordinator.py fetch_sub_module ends in
    # current_stream().wait_stream(allgather_stream)): the chain compute -> reduce-scatter ->
    # all-gather -> compute runs the reduce-scatter off the overlap, serial with the backward.
    # Charged whole, the chain's bound: the profiled ZeRO-3 step showed 35% of it exposed
    # (bench/accuracy/ZERO3_EXPOSED.md finding 3; one trace does not size a fraction)
    q["rs_serial_mb"] = rt.collective_s("reduce_scatter", t["dp_rs_mb_bytes"], dp, inter)
    # side-stream copies (ZeRO-3 offload's gradient partition, stage3.py partition_grads
    # non_blocking) overlap compute; activation offload's copies run on the compute stream (torch
    # hooks: out in forward, back in backward; cost/act_offload.py, whose pack mode host_parts
    # prices), and so do ZeRO-2 offload's per-parameter accumulation
    # copies (cost/work.py): they add to the micro-batch
    weight_h2d = rt.h2d_s(t["weight_h2d_mb_bytes"])
    # ZeRO-3 offload_param: with dp > 1 every gather copies the pinned 16-bit partition in by
    # `p.ds_tensor.to(device)` without non_blocking (partition_parameters.py _all_gather_dtype,
    # _all_gather_sequential) on the allgather stream: torch's copy_kernel_cuda then runs
    # at::cuda::memcpy_and_sync, so the host thread waits for each copy (host-side time, below);
    # with dp == 1 no gather runs and _no_gather_coalesced copies non_blocking (a side stream)
    host_copy = dp > 1
    q["h2d_mb"] = rt.h2d_s(t["h2d_mb_bytes"]) + np.where(host_copy, 0.0, weight_h2d)
    q["weight_h2d_host_mb"] = np.where(host_copy, weight_h2d, 0.0)
    q["d2h_mb"] = rt.d2h_s(t["d2h_mb_bytes"])
    q.update(offload_copies(m.model, m.seq_len, m.saves, m.kernels, rt, t, b, tp))
    q["sync_transfer_mb"] = (q["act_d2h_mb"] + q["act_h2d_mb"]
                             + rt.d2h_s(t["sync_offload_mb_bytes"]) + rt.h2d_s(t["sync_offload_mb_bytes"]))
    busy = p["busy_compute_mb"] + p["recompute_mb"]
    q["overlapped_mb"] = rt.overlapped_s(busy, q["dp_comm_mb"] - q["rs_serial_mb"], q["h2d_mb"], q["d2h_mb"])
    # forward share of the GPU's micro-batch: block forwards, a third of the head and embedding
    # (backward ~ 2x forward, Narayanan et al. 2021 section 3.5)
    forward_busy = p["blocks_fwd_mb"] + (p["head_mb"] + p["embedding_mb"]) / 3
    q["forward_share"] = np.where(busy > 0, forward_busy / np.maximum(busy, 1e-30), 1.0 / 3.0)
    # the backward's share of the overlapped wall without the recomputed forwards: a chain compared
    # with a share that recompute enlarges would let more recompute shorten the micro-batch
    compute = p["busy_compute_mb"]
    plain_share = 1.0 - np.where(compute > 0, forward_busy / np.maximum(compute, 1e-30), 1.0 / 3.0)
    weight_h2d_side = np.where(host_copy, 0.0, weight_h2d)
    q["copy_chain_mb"] = copy_chain_s(rt, t, q["overlapped_mb"] * plain_share, weight_h2d_side)
    # the weight copies of a backward that recomputes every block, on a side stream as above: the
    # boundary's chain (boundary_window) at the bound that recompute cannot move
    q["boundary_weight_h2d_mb"] = np.where(host_copy, 0.0, rt.h2d_s(t["boundary_weight_h2d_bytes"]))
    backward_compute = p["blocks_bwd_mb"] + p["recompute_mb"] + (p["head_mb"] + p["embedding_mb"]) * 2 / 3
    q["coupling_mb"] = coupling_s(rt, t, backward_compute)
    q["gpu_side_mb"] = (q["overlapped_mb"] + q["tp_comm_mb"] + q["sync_transfer_mb"] + q["rs_serial_mb"]
                        + q["copy_chain_mb"] + q["coupling_mb"])
    return q


# ZeRO-3 optimizer offload's backward: the share of the shorter of (gradient compute, gradient round
# trip) that does not overlap the longer, per unit of their balance min / max (coupling_s). Fitted by
# least squares on the 11 unprofiled ZeRO-3 optimizer-offload plans' micro-batches (forward + backward,
# median of the timed steps) of bench/results/runtime/phases_S24, phases_S25 (S25-1, S25-2) and
# phases_S28 (S28-1, S28-2), the model's own micro-batch with the term against each: the sum of
# squares is lowest at 0.28 (0.25-0.30 within 0.1%; block-fetch plans alone: 0.43). Held out:
# Mistral-7B (phases_S37, bench/results/runtime/coupling_S38) and every suite run.
# bench/accuracy/ZERO3_OFFLOAD.md "Session 38".
COUPLING_PER_BALANCE = 0.28


def coupling_s(rt, t, backward_compute) -> np.ndarray:
    """What a ZeRO-3 optimizer-offload backward adds because its gradient compute and its 16-bit
    round trip (round_trip_s) cannot overlap fully: COUPLING_PER_BALANCE * min^2 / max of the two.
    Three couplings in DeepSpeed 0.19.8 stage3.py tie the streams to each other: each gradient's copy
    into the reduce bucket first makes the reduce stream wait for everything the host has launched on
    the compute stream (`__add_grad_to_ipg_bucket`: reduce_and_partition_stream.wait_stream(
    current_stream())); the round trip of a bucket starts only when the next bucket's first gradient
    arrives; and before each bucket's reduction the host blocks on the oldest of more than two
    outstanding reductions (`__reduce_and_partition_ipg_grads`: param_reduce_events.popleft()
    .synchronize(), an event recorded on the reduce stream), so it stops launching the backward. In
    the profiled Mistral-7B backward (S38-1, mb 2, 29 of 32 blocks recomputed: compute 540 ms, reduce
    stream 584 ms a micro-batch) the two streams overlapped for only 330 ms of their 800 ms wall: the
    compute stream idled 12 ms every two blocks while the host waited ~17 ms on such an event, and the
    reduce stream idled 196 ms waiting for compute. When one side is much the longer (gpt-1.3b: 43 ms
    of gradient compute against a 93 ms round trip) the other hides in its gaps; the closer the two,
    the more of the shorter one shows, so the term is the shorter one's exposed share taken
    proportional to their balance (min / max): a first-order form, not derived; the fit says how well
    it holds (COUPLING_PER_BALANCE). Zero without the round trip (no optimizer offload)."""
    chain = round_trip_s(rt, t)
    shorter, longer = np.minimum(backward_compute, chain), np.maximum(backward_compute, chain)
    balance = shorter / np.maximum(longer, 1e-30)
    return COUPLING_PER_BALANCE * shorter * balance * (t["h2d_mb_bytes"] > 0)


def copy_chain_s(rt, t, backward_wall, weight_h2d_side) -> np.ndarray:
    """What ZeRO-3 optimizer offload's copies add to a backward beyond `backward_wall`, its share of
    the overlapped micro-batch. The 16-bit gradient round trip runs on one stream (stage3.py
    partition_grads, all on reduce_and_partition_stream: the pinned partition in by
    `grad_buffer.to(device, non_blocking=True)`, add_, out by `grad_buffer.copy_`), so its copies in
    and out run one after the other, not as two concurrent channels; with dp == 1 the backward's
    weight copies (`weight_h2d_side`, offload_param on the all-gather stream) queue beside them: in
    three profiled 1-GPU steps with the weights offloaded the two streams' copies overlapped for
    6-25 ms of 128-286 ms, and in all six profiled gpt-1.3b / llama-2.7b steps every backward lasted
    at least its chain (150-294 ms; bench/results/runtime/w1_blk_trace_S24, off1_trace_S24). The
    backward's share of the weight copies is its L + r of the 2L + r block passes (recomputed
    forwards run inside it). The embedding's gradient arrives after the backward's compute, so
    its round trip (work.py tail_mb_bytes) is exposed however short the chain: S27, Llama 3.2 1B at
    ratio 0.125 (a tied 128k x 2048 table, 21% of the partition) ran 17.9% slower than priced
    without it. So is the reduce bucket the backward leaves open (open_bucket_mb_bytes,
    shapes.zero3_open_bucket), reduced with the embedding's gradient or by the epilogue (44M
    elements for that plan: 3 ms more). S28: its unprofiled backward at ratios 0.125 and 1 ran 38 ms
    longer than its ratio-0 twin's (bench/results/runtime/phases_S28/), priced 16 ms longer now; the
    offload runs had a host core 2.3x slower than the twin's (RunReport.host_probe_s), so the 22 ms
    left are not all offload's."""
    layers, recomputed = t["num_layers"], t["num_recompute"]
    backward_share = (layers + recomputed) / np.maximum(2 * layers + recomputed, 1e-30)
    chain = round_trip_s(rt, t) + weight_h2d_side * backward_share
    tail_bytes = t["tail_mb_bytes"] + t["open_bucket_mb_bytes"]
    tail = rt.h2d_s(tail_bytes) + rt.d2h_s(tail_bytes)
    return np.maximum(chain - backward_wall, tail) * (t["h2d_mb_bytes"] > 0)


def round_trip_s(rates, t) -> np.ndarray:
    """ZeRO-3 optimizer offload's 16-bit gradient round trip of one micro-batch: its copy in and its
    copy out, one after the other on reduce_and_partition_stream (copy_chain_s says why)."""
    return rates.h2d_s(t["h2d_mb_bytes"]) + rates.d2h_s(t["d2h_mb_bytes"])


def pass_launches(m: StageCostModel, tp) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) launches of one block pass's host work per tp (layer_time.host_launches)."""
    tp = np.asarray(tp)
    fwd, bwd = np.zeros(tp.shape), np.zeros(tp.shape)
    for v in np.unique(tp):
        f, b = host_launches(m.model, int(v), m.kernels.at(int(v)))
        fwd, bwd = np.where(tp == v, float(f), fwd), np.where(tp == v, float(b), bwd)
    return fwd, bwd


def host_parts(m: StageCostModel, p, t, tp, dp, inter) -> None:
    """The host side of a micro-batch and the stable time it leaves (adds to `p`): per pass,
    max(GPU, host path) (host_overlap); the serial reduce-scatters (rs_serial_mb) are
    backward GPU time.

    The host path of a ZeRO-3 pass is its hook and launch work plus the all-gathers it waits
    for: fetch_sub_module (partitioned_param_coordinator.py) blocks the training thread on the
    oldest fetch event once more than __max_ongoing_fetch_events = 2 are outstanding
    (`popleft().synchronize()`), in every pass (the forward flag changes only event names and
    the backward's leaf-module lock), so the host cannot run more than about three fetches ahead
    of the gathers' completion and each gather's transfer lies on its path. With dp == 1 no
    gather runs (partition_parameters.py all_gather_coalesced -> _no_gather_coalesced). Not
    modelled: with dp > 1 every all-gather ties the ranks, so a host-bound pass runs at the
    slower host's pace (bench/accuracy/ZERO3_EXPOSED.md finding 1); with identical ranks its
    expected cost is the expected maximum of the ranks' host jitter, which no committed
    measurement sizes, so the fitted host terms carry its mean at the dp of their runs."""
    hw, rt = m.hw, m.rates
    layers, recomputed = t["num_layers"], t["num_recompute"]
    # host-thread time per micro-batch (profile-calibrated): ZeRO-3 hooks per submodule fetch and
    # launch gaps per block pass overlap the GPU's queued kernels (host_overlap); the training
    # loop's per-micro-batch work does not (host_overlap's docstring: a sync ends every backward)
    p["zero3_fetch_mb"] = (t["z3_fetches"] * hw.zero3_fetch_overhead_s
                           + t["z3_param_passes"] * hw.zero3_param_overhead_s)
    # per block pass of a ZeRO-3 stage: its host launches (layer_time.host_launches: the eager
    # set's count, by model; config/hardware.py host_launch_overhead_s says why ZeRO-3 only)
    raw_f, raw_b = pass_launches(m, tp)
    launch_f, launch_b = raw_f * t["z3"], raw_b * t["z3"]
    p["launches_mb"] = (layers + recomputed) * launch_f + layers * launch_b
    # forward share of the per-pass host work: L of the 2L + r block passes (fetches, copies)
    pass_f = layers / np.maximum(2 * layers + recomputed, 1e-30)
    # the all-gathers on the host path (docstring): the forward's L of the 2L + r block gathers
    gather_f = rt.collective_s("all_gather", t["dp_ag_mb_bytes"] * pass_f, dp, inter)
    gather_b = rt.collective_s("all_gather", t["dp_ag_mb_bytes"] * (1 - pass_f), dp, inter)
    p["gather_host_mb"] = gather_f + gather_b
    per_pass = p["zero3_fetch_mb"] + t["block_passes"] * hw.host_layer_overhead_s + p["weight_h2d_host_mb"]
    host_blocks = per_pass + p["launches_mb"] * hw.host_launch_overhead_s + p["gather_host_mb"]
    # the engine's own per-micro-batch work: ZeRO-3's may differ (config/hardware.py zero3_microbatch_overhead_s)
    engine_mb = np.where(t["z3"] > 0, hw.zero3_microbatch_s, hw.host_microbatch_overhead_s)
    p["host_side_mb"] = host_blocks + engine_mb
    # activation offload's copies: out in the forward, back in the backward (cost/act_offload.py)
    d2h = p["act_d2h_mb"]
    # not split by the forward share: the copies out (forward's, pass_walls), the copies back, the
    # serial reduce-scatters, the copy chain and its coupling (backward's)
    unshared = d2h + p["act_h2d_mb"] + p["rs_serial_mb"] + p["copy_chain_mb"] + p["coupling_mb"]
    gpu_f = (p["gpu_side_mb"] - unshared) * p["forward_share"]
    gpu_b = p["gpu_side_mb"] - d2h - gpu_f
    # the forward pass: L of the 2L + r passes' fetches and copies, the forward blocks' launches
    # and gathers (a recomputed forward runs inside the backward)
    host_f = per_pass * pass_f + layers * launch_f * hw.host_launch_overhead_s + gather_f
    p["host_forward_fraction"] = host_f / np.maximum(host_blocks, 1e-30)
    # the coupling's waits are the host's too (coupling_s: it blocks on the reduce stream's events), so
    # a host-paced backward pays them as well
    host_b = host_blocks - host_f + p["coupling_mb"]
    forward, backward, p["act_host_mb"] = pass_walls(t, p, (raw_f, raw_b), gpu_f, gpu_b, host_f, host_b, hw,
                                                     m.act_offload_copy)
    p["clock_forward_share"] = np.where(t["num_offloaded"] > 0, forward / np.maximum(forward + backward, 1e-30),
                                        p["forward_share"])
    p["stable_mb"] = forward + backward + engine_mb
    # activation offload's host price: beyond the overlap of the same copies without packs (a
    # blocking pack's serialisation; a non-blocking one's packs and unpacks where they show)
    p["act_serial_mb"] = p["stable_mb"] - (host_overlap(gpu_f + d2h, gpu_b, host_f, host_b)
                                           + engine_mb)
    p["host_exposed_mb"] = p["stable_mb"] - p["gpu_side_mb"]


def step_walks_tensors(t) -> np.ndarray:
    """1.0 where the optimizer step walks the stage's parameter tensors one by one on the host thread, 0.0 elsewhere:
    the ZeRO-0 wrapper (config/hardware.py host_step_tensor_overhead_s) and ZeRO-1/2 with the optimizer on the GPU
    (stage_1_and_2.py step: get_grad_norm_direct's norm per gradient, the flatten of the per-parameter gradients,
    free_grad_in_param_list). Session 72's phased ZeRO-1/2 steps on the H100 node (GPT-2 XL, Pythia-1.4B,
    Qwen2-0.5B; bench/results/runtime/step_phases_S72/) ran 112-196 us per tensor over their kernels. Not ZeRO-1/2
    with the optimizer offloaded (its norm reads per-tensor norms taken in the backward: one `.item()` each,
    complete_grad_norm_calculation_for_cpu_offload; not measured apart) nor ZeRO-3 (its step works per sub-group)."""
    zero0 = 1.0 - t["z1"] - t["z2"] - t["z3"]
    return zero0 + (t["z1"] + t["z2"]) * (np.asarray(t["cpu_adam_params"]) == 0)


def step_parts(m: StageCostModel, t, dp, inter, shape) -> dict[str, np.ndarray]:
    """The once-per-step components: step collectives, GPU Adam and copies, the host's Adam and
    its passes, the optimizer's transfers and the profile's per-step host overhead (`shape`: the
    broadcast strategy shape)."""
    rt = m.rates
    # once per step: ZeRO-0 all-reduce and pipelined ZeRO-1 reduce after the last backward;
    # ZeRO-1/2 (and BF16_Optimizer) all-gather the updated partitions after the step
    p = {"step_comm": (rt.collective_s("all_reduce", t["dp_ar_step_bytes"], dp, inter)
                       + rt.collective_s("all_gather", t["dp_ag_step_bytes"], dp, inter))}
    p["gpu_adam"] = rt.gpu_adam_s(t["gpu_adam_params"])
    p["step_copies"] = rt.copy_s(t["step_copy_bytes"]) + rt.zero3_step_copy_s(t["z3_step_copy_bytes"])
    # the host's passes beside DeepSpeedCPUAdam, on the same thread, every step: the fp32 gradient
    # is scaled in place before Adam (unscale_and_clip_grads `mul_` on the CPU gradient, clipping
    # or not: stage3.py step per CPU sub-group, stage_1_and_2.py step) and, where cost/work.py
    # cpu_host16_params says so, the updated master is converted to 16 bits on the host. Both
    # measured with the node's ranks at once as fractions of Adam's time
    # (bench/results/engine/s4_offload/host_step.json clip_mul, to_bf16: rates.py
    # HOST_CLIP_PER_ADAM, HOST_BF16_PER_ADAM)
    adam_param_s = rt.cpu_adam_s(1.0)
    p["cpu_adam"] = adam_param_s * (t["cpu_adam_params"] * (1 + HOST_CLIP_PER_ADAM)
                                    + t["cpu_host16_params"] * HOST_BF16_PER_ADAM)
    p["step_transfers"] = (rt.d2h_s(t["opt_d2h_bytes"]) + rt.h2d_s(t["opt_h2d_bytes"])
                           + rt.pageable_h2d_s(t["pageable_h2d_bytes"])
                           # the host thread's blocking write-back of the GPU sub-groups under
                           # offload_param (cost/work.py), pageable and converted on the CPU
                           + rt.pageable_d2h_s(t["pageable_d2h_bytes"])
                           # ... or, cast on the GPU, its 16 bits by DMA (cost/writeback.py)
                           + rt.d2h_s(t["writeback_pinned_bytes"])
                           # ... and the mirror copy of CPU masters, staged through pinned chunks
                           + rt.staged_h2d_s(t["staged_h2d_bytes"]))
    # the per-tensor walk over the parameters of the ZeRO-0 wrapper and of ZeRO-1/2 with the optimizer on the GPU
    # (config/hardware.py host_step_tensor_overhead_s)
    p["host_step"] = np.broadcast_to(m.hw.host_step_overhead_s
                                     + step_walks_tensors(t) * t["param_tensors"] * m.hw.host_step_tensor_overhead_s,
                                     shape)
    p["step_serial"] = np.broadcast_to(np.asarray(t["step_serial"], float) > 0, shape)
    return p


def boundary_window(rates, p, t) -> tuple[np.ndarray, np.ndarray]:
    """(copies, slack): what ZeRO-3 optimizer offload adds to the last micro-batch of a step (per step) is
    max(copies - slack, 0) (time_components' boundary_mb). Its
    backward also copies the CPU sub-groups' fp32 gradients out (cost/work.py boundary_d2h_bytes)
    after norm and upcast passes over the whole partition (boundary_pass_bytes; DeepSpeed's per-tensor
    passes, priced at the rate of ZeRO-3's step passes, rates.py ZERO3_STEP_PASS_FRACTION).
    Every copy of partition_grads runs on reduce_and_partition_stream (stage3.py
    __reduce_and_partition_ipg_grads: `with stream(self.reduce_and_partition_stream)`), one
    stream, so the 16-bit round trip (h2d_mb + d2h_mb) and the fp32 copy run one after another,
    beside the backward, and the backward's epilogue waits for them
    (independent_gradient_partition_epilogue: reduce_and_partition_stream.synchronize()): the
    step pays what the longer stream adds beyond the backward. With dp == 1 offload_param's weight
    copies (all-gather stream) queue beside that stream's copies, as in every backward
    (copy_chain_s), so they join the chain: S33-3 (bench/results/runtime/retries_S33/, Llama 3.2 3B,
    weights and optimizer offloaded, 24-25 of 28 blocks recomputed) ran its last backward 190 and
    197 ms longer than the others, where the round trip alone against the backward left 17 and
    74 ms. The backward counted is its block, head and embedding gradient compute only (two thirds
    of head and embedding, as forward_share), not its recomputed forwards or host time, and the
    weight copies those of a backward that recomputes every block (boundary_weight_h2d_mb): the
    search requires a step term that recompute and activation offload leave unchanged
    (tests/search/test_monotone.py), so this bound is the larger of the possible charges. `copies`: the
    boundary's copies and passes alone; `slack`: the backward beyond the round trip, where they are taken to
    hide. Session 68's phased runs at micro-batch 4 and 8 (bench/accuracy/ZERO3_OFFLOAD.md) hid only about a
    third of that slack; not yet priced (the micro-batches of the same runs are priced 5-12% long)."""
    backward = p["blocks_bwd_mb"] + (p["head_mb"] + p["embedding_mb"]) * 2 / 3
    stream = round_trip_s(rates, t) + p["boundary_weight_h2d_mb"]
    copies = rates.d2h_s(t["boundary_d2h_bytes"]) + rates.zero3_step_copy_s(t["boundary_pass_bytes"])
    return copies, np.maximum(backward - stream, 0.0)


def time_fields(p, g) -> dict[str, np.ndarray]:
    """StageCost's time fields from the components `p`, at `g` micro-batches per step (the step's host
    overhead: p["host_step"], step_parts)."""
    host_step_s = p["host_step"]
    busy_compute, recompute = p["busy_compute_mb"], p["recompute_mb"]
    nccl = p["dp_comm_mb"] - p["rs_serial_mb"]      # the overlapped collectives
    h2d, d2h, sync_xfer = p["h2d_mb"], p["d2h_mb"], p["sync_transfer_mb"]
    extra = np.maximum(p["overlapped_mb"] - (busy_compute + recompute), 0.0)  # >= 0; no float noise below
    share_dp = np.where(nccl + h2d + d2h > 0, nccl / np.maximum(nccl + h2d + d2h, 1e-30), 0.0)
    step_comm = p["step_comm"]
    gpu_opt = p["gpu_adam"] + p["step_copies"]
    cpu_adam, transfers = p["cpu_adam"], p["step_transfers"]
    cpu_side = cpu_adam + transfers
    # Twin-Flow (ZeRO-3 offload ratio): GPU and CPU parts of the step run concurrently, except under
    # offload_param, whose blocking write-backs serialise them (cost/work.py step_serial)
    serial = p["step_serial"]
    optimizer = np.where(serial, gpu_opt + cpu_side, np.maximum(gpu_opt, cpu_side))
    cpu_wins = serial | (cpu_side >= gpu_opt)
    tp_mb, stable = p["tp_comm_mb"], p["stable_mb"]
    # the host time the GPU waits for, by its parts' shares: ZeRO-3 fetch hooks count as DP
    # communication, offload_param's blocking copies as offload, the rest as compute
    exposed, host = np.maximum(p["host_exposed_mb"] - p["act_serial_mb"], 0.0), np.maximum(p["host_side_mb"], 1e-30)
    fetch_x = exposed * (p["zero3_fetch_mb"] + p["gather_host_mb"]) / host
    copy_x = exposed * p["weight_h2d_host_mb"] / host
    return {
        "stable_time_s": stable, "forward_time_s": stable * p["clock_forward_share"],
        "delta_time_s": step_comm + optimizer + p["boundary_mb"] + host_step_s,
        "compute_s": g * (busy_compute + exposed - fetch_x - copy_x), "recompute_s": g * recompute,
        "tp_comm_s": g * tp_mb,
        "dp_comm_s": g * (extra * share_dp + fetch_x + p["rs_serial_mb"]) + step_comm,
        "offload_s": (g * (extra * (1 - share_dp) + sync_xfer + copy_x + p["act_serial_mb"]
                           + p["copy_chain_mb"] + p["coupling_mb"]) + np.where(cpu_wins, transfers, 0.0)
                      + p["boundary_mb"]),
        "optimizer_s": np.where(cpu_wins, cpu_adam, gpu_opt) + np.where(serial, gpu_opt, 0.0) + host_step_s,
        "host_wait_s": g * exposed + host_step_s,
    }
