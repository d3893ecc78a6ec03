"""StageCostModel: peak memory and time of one pipeline stage for arrays of strategies."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.cost.act_offload import COPY_DEFAULT, check_copy_mode, offload_copies, pass_walls
from mist_ds.cost.activations import ATTENTION_SAVES, pinned_activation_rounding
from mist_ds.cost.compiled import compile_stage
from mist_ds.cost.host_overlap import host_overlap
from mist_ds.cost.layer_time import block_launches, block_times
from mist_ds.cost.host_memory import host_peak_bytes
from mist_ds.cost.kernel_set import KernelChoice, KernelSet
from mist_ds.cost.memory import ELEM, SUB_GROUP_ELEMENTS
from mist_ds.cost.shapes import (layer_shapes, param_tensor_stats, pinned_tensor_bytes,
                                 pinned_weight_rounding, vocab_shard)
from mist_ds.cost.stage_args import StageArgs
from mist_ds.cost.rates import HOST_BF16_PER_ADAM, HOST_CLIP_PER_ADAM, Rates
from mist_ds.cost.zero3_linear import bias_add_forward_s

PERSISTENCE_THRESHOLD = STOCK_DEEPSPEED.constants.stage3_param_persistence_threshold
HOST_DEFAULTS = ("pinned_accumulated", "pinned_param_partitions")


@dataclass(frozen=True)
class StageCost:
    """Cost of one stage per GPU, numpy arrays of the broadcast strategy shape."""

    peak_memory_bytes: np.ndarray
    weights_bytes: np.ndarray
    gradients_bytes: np.ndarray
    optimizer_states_bytes: np.ndarray
    activations_bytes: np.ndarray
    buffers_bytes: np.ndarray
    cpu_memory_bytes: np.ndarray
    """Peak resident host memory of one rank: the profile's process base plus the offloaded state as
    DeepSpeed and torch allocate it (cost/host_memory.py)."""
    stable_time_s: np.ndarray
    """One micro-batch fwd+bwd in steady state (compute, recompute, TP comm, exposed DP/offload)."""
    forward_time_s: np.ndarray
    """The forward part of stable_time_s (the rest is the backward: the pipeline clock needs both)."""
    delta_time_s: np.ndarray
    """Per-iteration extra on top of grad_accum * stable (step-time sync, optimizer, transfers)."""
    compute_s: np.ndarray
    recompute_s: np.ndarray
    tp_comm_s: np.ndarray
    dp_comm_s: np.ndarray
    offload_s: np.ndarray
    optimizer_s: np.ndarray
    """Breakdown per iteration: they sum to grad_accum * stable + delta."""
    num_params: np.ndarray
    """Parameters of the stage on one TP rank (before ZeRO partitioning)."""

    def __getitem__(self, index) -> StageCost:
        """The same cost restricted to `index` of every array."""
        return StageCost(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


class StageCostModel:
    """Memory and time of pipeline stages of one model on one hardware profile.

    The symbolic terms are compiled once (cost/compiled.py); evaluate() is pure numpy. `attention` is
    the plan's attention kernel (config/plan.py AttentionKernel); its saved-tensor family
    (activations.ATTENTION_SAVES) is what the memory model counts; compute time reads the profile's
    attention grid (measured with SDPA's default dispatch). `kernels` is the element-wise and loss
    kernel set (cost/kernel_set.py): None, the search's case, costs what the runtime runs by default
    at each strategy's tp (config/kernel_picks.py); a KernelSet one fixed set (a run's record).
    `zero_init`: ZeRO-3 stages are built under deepspeed.zero.Init (True: what the runtime does,
    runtime/build.py uses_zero_init, and what the search costs) or whole on the GPU before
    deepspeed.initialize partitions them (False: runs whose RunReport.zero_init is not True); it
    picks the start-up term (cost/memory.py, Build). `act_offload_copy`: how offloaded blocks' packs
    copy ('non_blocking', the runtime's and the search's, or 'blocking': runs on torch < 2.13's
    save_on_cpu; cost/act_offload.py pass_walls).
    """

    def __init__(self, model: ModelSpec, hw: HardwareProfile, seq_len: int, dtype: str = "bf16",
                 num_nodes: int = 1, gpus_per_node: int = 1, attention: str = "sdpa",
                 kernels: KernelSet | None = None, zero_init: bool = True,
                 act_offload_copy: str = COPY_DEFAULT):
        self.zero_init = zero_init
        self.act_offload_copy = check_copy_mode(act_offload_copy)
        self.model, self.hw, self.seq_len, self.dtype = model, hw, seq_len, dtype
        self.num_nodes, self.gpus_per_node = num_nodes, gpus_per_node
        self.causal = True
        self.saves = ATTENTION_SAVES[attention]
        self.kernels = KernelChoice.of(kernels)
        self.names, self._fn, self.host_names, self._host_fn = compile_stage(model, seq_len, self.saves,
                                                                             self.kernels)
        self.rates = Rates(hw, gpus_per_node)
        self._hw_json, self._model_json = hw.to_json(), model.to_json()
        self.allocator_fraction = hw.allocator_overhead_fraction

    def evaluate(self, args: StageArgs) -> StageCost:
        """Cost of every strategy of the broadcast arguments (scalars or numpy arrays)."""
        terms = self.terms(args)
        a = args.arrays()
        timing = self._time(terms, a["micro_batch"], a["dp"], a["tp"], a["grad_accum"])
        return StageCost(**self._memory(terms), **timing, num_params=terms["params"])

    def terms(self, args: StageArgs) -> dict[str, np.ndarray]:
        """The raw compiled terms (bytes, FLOPs, volumes; names: cost/memory.py, cost/work.py)."""
        a = args.arrays()
        return self._terms(a["num_layers"], a["micro_batch"], a["dp"], a["tp"], a["zero_stage"],
                           a["offload_weights"], a["offload_gradients"], a["offload_optimizer"],
                           a["num_offloaded"], a["num_recompute"], a["num_inflight"], a["has_embedding"],
                           a["has_head"], a["num_stages"], a["grad_accum"])

    def _terms(self, layers, b, dp, tp, zero, ow, og, oo, na, r, k, emb, head, stages, g):
        pp = (stages > 1).astype(float)
        z = [(zero == i).astype(float) for i in range(4)]
        bf = z[0] * pp * float(self.dtype == "bf16")
        hc = head * np.maximum(pp, float(not self.model.tie_embeddings))
        vs = vocab_shard(self.model, tp.astype(int)).astype(float)
        persistent, largest = param_tensor_stats(self.model, tp.astype(int), layers, emb, head, hc,
                                                 PERSISTENCE_THRESHOLD)
        groups, cpu_groups = self._sub_groups(layers, dp, tp, emb, head, hc, oo)
        oo_eff = np.where(z[3] > 0, cpu_groups / groups, oo)
        args = (b, layers, dp, tp, r, k, ow, og, oo_eff, na, *z, bf, emb, head, hc, pp,
                (r > 0).astype(float), vs, (oo > 0).astype(float), (g > 1).astype(float), persistent, largest)
        shape = layers.shape
        terms = {n: np.broadcast_to(np.asarray(v, float), shape) for n, v in zip(self.names, self._fn(*args))}
        terms.update(num_layers=layers, num_recompute=r, num_offloaded=na, has_head=head, has_embedding=emb,
                     z1=z[1], z2=z[2], z3=z[3], cpu_sub_groups=np.where(z[3] > 0, cpu_groups, 0.0),
                     # zero/utils.py defragment (stage3.py _create_fp16_partitions_with_defragmentation):
                     # the 16-bit partitions pass through a CPU buffer at start-up, without offload_param
                     host_defragment=z[3] * (1 - ow) * ELEM * terms["params"] / dp)
        terms.update(self._host_terms(args, (oo > 0) | (ow > 0) | (na > 0), b, tp, dp, layers, emb, head, hc))
        return terms

    def _host_terms(self, args, rows, b, tp, dp, layers, emb, head, hc) -> dict[str, np.ndarray]:
        """The host-memory terms (cost/host_memory.py), zero unless some of `rows` offload;
        rows is returned as 'host_rows'."""
        shape = layers.shape
        out = {"host_rows": np.broadcast_to(rows, shape), "packed_weight_rounding": 1.0,
               "activation_rounding": 1.0, **{k: 0.0 for k in HOST_DEFAULTS}}
        if not np.any(rows):
            out.update({n: np.zeros(shape) for n in self.host_names})
            return out
        out.update({n: np.broadcast_to(np.asarray(v, float), shape)
                    for n, v in zip(self.host_names, self._host_fn(*args))})
        if np.any(out["cpu_activations"] > 0):      # save_on_cpu: one pinned tensor per save call
            out["activation_rounding"] = pinned_activation_rounding(
                self.model, self.seq_len, self.saves, b, tp, lambda t: self.kernels.at(t).activation)
        if np.any(out["cpu_packed_weights"] > 0):   # activation offload packs the weights too
            out["packed_weight_rounding"] = pinned_weight_rounding(self.model, tp)
        if np.any(out["host_accumulated"] > 0):     # ZeRO-2 offload: whole tensors of the partition
            out["pinned_accumulated"] = pinned_tensor_bytes(self.model, tp, dp, layers, emb, head, hc,
                                                            ELEM, split=False)
        if np.any(out["host_z3_params16"] > 0):     # ZeRO-3 offload_param: each tensor's partition
            out["pinned_param_partitions"] = pinned_tensor_bytes(self.model, tp, dp, layers, emb, head,
                                                                 hc, ELEM, split=True)
        return out

    def _sub_groups(self, layers, dp, tp, emb, head, hc, ratio):
        """(sub-groups, CPU sub-groups) of a ZeRO-3 partition: DeepSpeed offloads whole optimizer
        sub-groups: of S = ceil(partition / sub_group_size) sub-groups the last
        S - floor((1 - ratio) * S) go to the CPU (stage3.py _create_fp16_sub_groups and the
        subgroup_to_device loop); sub_group_size is the executor's constant that emit/ds_config.py
        writes (config/executors.py)."""
        m = self.model
        rows = vocab_shard(m, tp.astype(int))
        shapes = layer_shapes(m)
        pos = m.max_seq_len * m.hidden_size if m.position_embedding == "learned" else 0
        n = (layers * (shapes.sharded_params / tp + shapes.replicated_params)
             + emb * (rows * m.hidden_size + pos) + head * (m.norm_params + hc * rows * m.hidden_size))
        groups = np.maximum(np.ceil(n / dp / SUB_GROUP_ELEMENTS), 1.0)
        return groups, groups - np.floor((1.0 - ratio) * groups)

    def _memory(self, t) -> dict[str, np.ndarray]:
        """Peak = max(forward/backward, optimizer step, build) + allocator allowance: the profile's
        allocator_overhead_fraction of it, fitted so the peak targets max_memory_allocated, which
        decides OOM under expandable segments (config/hardware.py).

        Forward/backward peaks at the start of the last micro-batch's backward: model states (the
        larger of the gradient partition and ZeRO-1's accumulated whole gradients), saved
        activations, kept buffers, and the larger of the loss's logits working set and the buffers
        that only exist once parameter gradients flow. Build: ZeRO-3's start-up, under
        deepspeed.zero.Init or (zero_init False) the whole 16-bit stage on the GPU before
        deepspeed.initialize partitions it (cost/memory.py).
        """
        grads = np.maximum(t["gradients"], t["accumulated_gradients"])
        fwd_bwd = (t["weights"] + grads + t["optimizer"] + t["activations"]
                   + t["buckets"] + t["gathered"] + np.maximum(t["logits"], t["passing_buckets"]))
        step_grads = t["step_gradients"] + t["step_convert"]
        step = t["step_weights"] + step_grads + t["optimizer"] + t["step_buffers"]
        build = t["build_weights_zero_init" if self.zero_init else "build_weights"]
        raw = np.maximum(np.maximum(fwd_bwd, step), build)
        at_build, at_step = build >= raw, (build < raw) & (step > fwd_bwd)
        allowance = raw * self.allocator_fraction
        pick = lambda fb_value, step_value, build_value=0.0: np.where(  # noqa: E731
            at_build, build_value, np.where(at_step, step_value, fb_value))
        buffers = t["buckets"] + t["gathered"] + np.maximum(t["logits"], t["passing_buckets"])
        return {
            "peak_memory_bytes": raw + allowance,
            "weights_bytes": pick(t["weights"], t["step_weights"], build),
            "gradients_bytes": pick(grads, step_grads),
            "optimizer_states_bytes": pick(t["optimizer"], t["optimizer"]),
            "activations_bytes": pick(t["activations"], 0.0),
            "buffers_bytes": pick(buffers, t["step_buffers"]) + allowance,
            "cpu_memory_bytes": host_peak_bytes(t, self.hw.host_process_base_bytes, SUB_GROUP_ELEMENTS),
        }

    def _compute(self, b, tp) -> np.ndarray:
        """(..., 4): block fwd, block bwd, head fwd+bwd, embedding fwd+bwd seconds per (b, tp),
        evaluated once per distinct pair (cost/layer_time.py)."""
        key = b.astype(np.int64) * 4096 + tp.astype(np.int64)
        uniq, inverse = np.unique(key.ravel(), return_inverse=True)
        table = np.array([block_times(self._hw_json, self._model_json, self.seq_len, int(k // 4096),
                                      int(k % 4096), self.causal, self.kernels.at(int(k % 4096)))
                          for k in uniq])
        return table[inverse].reshape(b.shape + (4,))

    def _launches(self, tp) -> tuple[np.ndarray, np.ndarray]:
        """(forward, backward) kernel launches of one block pass per tp (layer_time.block_launches)."""
        tp = np.asarray(tp)
        fwd, bwd = np.zeros(tp.shape), np.zeros(tp.shape)
        for v in np.unique(tp):
            f, b = block_launches(self.model, int(v), self.kernels.at(int(v)))
            fwd, bwd = np.where(tp == v, float(f), fwd), np.where(tp == v, float(b), bwd)
        return fwd, bwd

    def time_parts(self, args: StageArgs) -> dict[str, np.ndarray]:
        """The named components the stage's time is assembled from (`_time_parts`): what
        bench/accuracy/trace_compare.py sets beside a profiled step."""
        a = args.arrays()
        return self._time_parts(self.terms(args), a["micro_batch"], a["dp"], a["tp"])

    def _time_parts(self, t, b, dp, tp) -> dict[str, np.ndarray]:
        """Per micro-batch ('*_mb') and per step components of the stage's time, in seconds."""
        rt, hw = self.rates, self.hw
        times = self._compute(b, tp)
        block_f, block_b, head, embedding = (times[..., i] for i in range(4))
        # ZeRO-3's linear adds the biased column-parallel linears' bias as kernels of their own
        # (cost/zero3_linear.py), in every forward and recomputed forward
        block_f = block_f + t["z3"] * bias_add_forward_s(self.hw, self.model, self.seq_len, b, tp)
        layers, recomputed = t["num_layers"], t["num_recompute"]
        p = {"blocks_fwd_mb": layers * block_f, "blocks_bwd_mb": layers * block_b,
             "head_mb": t["has_head"] * head, "embedding_mb": t["has_embedding"] * embedding,
             "deepspeed_copies_mb": rt.copy_s(t["mb_copy_bytes"]), "recompute_mb": recomputed * block_f}
        p["busy_compute_mb"] = (layers * (block_f + block_b) + p["head_mb"] + p["embedding_mb"]
                                + p["deepspeed_copies_mb"])
        p["tp_comm_mb"] = t["tp_ar_count"] * rt.collective_s("all_reduce", t["tp_ar_bytes"], tp, False)
        inter = (dp * tp > self.gpus_per_node) & (self.num_nodes > 1)
        p["dp_comm_mb"] = (rt.collective_s("all_reduce", t["dp_ar_mb_bytes"], dp, inter)
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
        p["rs_serial_mb"] = rt.collective_s("reduce_scatter", t["dp_rs_mb_bytes"], dp, inter)
        # side-stream copies (ZeRO-3 offload's gradient partition, stage3.py partition_grads
        # non_blocking) overlap compute; activation offload's copies run on the compute stream (torch
        # hooks: out in forward, back in backward; cost/act_offload.py, whose pack mode _host_parts
        # prices), and so do ZeRO-2 offload's per-parameter accumulation
        # copies (cost/work.py): they add to the micro-batch
        weight_h2d = rt.h2d_s(t["weight_h2d_mb_bytes"])
        # ZeRO-3 offload_param: with dp > 1 every gather copies the pinned 16-bit partition in by
        # `p.ds_tensor.to(device)` without non_blocking (partition_parameters.py _all_gather_dtype,
        # _all_gather_sequential) on the allgather stream: torch's copy_kernel_cuda then runs
        # at::cuda::memcpy_and_sync, so the host thread waits for each copy (host-side time, below);
        # with dp == 1 no gather runs and _no_gather_coalesced copies non_blocking (a side stream)
        host_copy = dp > 1
        p["h2d_mb"] = rt.h2d_s(t["h2d_mb_bytes"]) + np.where(host_copy, 0.0, weight_h2d)
        p["weight_h2d_host_mb"] = np.where(host_copy, weight_h2d, 0.0)
        p["d2h_mb"] = rt.d2h_s(t["d2h_mb_bytes"])
        p.update(offload_copies(self.model, self.seq_len, self.saves, self.kernels, rt, t, b, tp))
        p["sync_transfer_mb"] = (p["act_d2h_mb"] + p["act_h2d_mb"]
                                 + rt.d2h_s(t["sync_offload_mb_bytes"]) + rt.h2d_s(t["sync_offload_mb_bytes"]))
        busy = p["busy_compute_mb"] + p["recompute_mb"]
        p["overlapped_mb"] = rt.overlapped_s(busy, p["dp_comm_mb"] - p["rs_serial_mb"], p["h2d_mb"], p["d2h_mb"])
        # forward share of the GPU's micro-batch: block forwards, a third of the head and embedding
        # (backward ~ 2x forward, Narayanan et al. 2021 section 3.5)
        forward_busy = p["blocks_fwd_mb"] + (p["head_mb"] + p["embedding_mb"]) / 3
        p["forward_share"] = np.where(busy > 0, forward_busy / np.maximum(busy, 1e-30), 1.0 / 3.0)
        p["gpu_side_mb"] = p["overlapped_mb"] + p["tp_comm_mb"] + p["sync_transfer_mb"] + p["rs_serial_mb"]
        self._host_parts(p, t, layers, recomputed, tp, dp, inter)
        # once per step: ZeRO-0 all-reduce and pipelined ZeRO-1 reduce after the last backward;
        # ZeRO-1/2 (and BF16_Optimizer) all-gather the updated partitions after the step
        p["step_comm"] = (rt.collective_s("all_reduce", t["dp_ar_step_bytes"], dp, inter)
                          + rt.collective_s("all_gather", t["dp_ag_step_bytes"], dp, inter))
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
                               # offload_param (cost/work.py), priced at the calibrated rate of the
                               # mirror copy (pageable, converted on the CPU; its D2H rate is unmeasured)
                               + rt.pageable_h2d_s(t["pageable_d2h_bytes"]))
        p["host_step"] = np.broadcast_to(hw.host_step_overhead_s, np.shape(busy))
        p["boundary_mb"] = self._boundary(p, t)
        return p

    def _boundary(self, p, t):
        """What ZeRO-3 optimizer offload adds to the last micro-batch of a step (per step): its
        backward also copies the CPU sub-groups' fp32 gradients out (cost/work.py boundary_d2h_bytes).
        Every copy of partition_grads runs on reduce_and_partition_stream (stage3.py
        __reduce_and_partition_ipg_grads: `with stream(self.reduce_and_partition_stream)`), one
        stream, so the 16-bit round trip (h2d_mb + d2h_mb) and the fp32 copy run one after another,
        beside the backward (offload_param's weight copies run on the all-gather stream instead), and the backward's epilogue waits for them
        (independent_gradient_partition_epilogue: reduce_and_partition_stream.synchronize()): the
        step pays what the longer stream adds beyond the backward. The backward counted is its block,
        head and embedding gradient compute only (two thirds of head and embedding, as forward_share),
        not its recomputed forwards or host time: the search requires a step term that recompute and
        activation offload leave unchanged (tests/search/test_monotone.py), so this bound is the
        larger of the two possible charges."""
        backward = p["blocks_bwd_mb"] + (p["head_mb"] + p["embedding_mb"]) * 2 / 3
        stream = self.rates.h2d_s(t["h2d_mb_bytes"]) + self.rates.d2h_s(t["d2h_mb_bytes"])
        extra = self.rates.d2h_s(t["boundary_d2h_bytes"])
        return np.maximum(stream + extra - backward, 0.0) - np.maximum(stream - backward, 0.0)

    def _host_parts(self, p, t, layers, recomputed, tp, dp, inter) -> None:
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
        hw, rt = self.hw, self.rates
        # host-thread time per micro-batch (profile-calibrated): ZeRO-3 hooks per submodule fetch and
        # launch gaps per block pass overlap the GPU's queued kernels (host_overlap); the training
        # loop's per-micro-batch work does not (host_overlap's docstring: a sync ends every backward)
        p["zero3_fetch_mb"] = t["z3_fetches"] * hw.zero3_fetch_overhead_s
        # per block pass of a ZeRO-3 stage: its kernel launches (layer_time.block_launches, by model
        # and kernel set; config/hardware.py host_launch_overhead_s says why ZeRO-3 only)
        raw_f, raw_b = self._launches(tp)
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
        p["host_side_mb"] = host_blocks + hw.host_microbatch_overhead_s
        # activation offload's copies: out in the forward, back in the backward (cost/act_offload.py)
        d2h = p["act_d2h_mb"]
        gpu_f = (p["gpu_side_mb"] - d2h - p["act_h2d_mb"] - p["rs_serial_mb"]) * p["forward_share"]
        gpu_b = p["gpu_side_mb"] - d2h - gpu_f
        # the forward pass: L of the 2L + r passes' fetches and copies, the forward blocks' launches
        # and gathers (a recomputed forward runs inside the backward)
        host_f = per_pass * pass_f + layers * launch_f * hw.host_launch_overhead_s + gather_f
        p["host_forward_fraction"] = host_f / np.maximum(host_blocks, 1e-30)
        forward, backward, p["act_host_mb"] = pass_walls(t, p, (raw_f, raw_b), gpu_f, gpu_b, host_f,
                                                         host_blocks - host_f, hw, self.act_offload_copy)
        p["clock_forward_share"] = np.where(t["num_offloaded"] > 0, forward / np.maximum(forward + backward, 1e-30),
                                            p["forward_share"])
        p["stable_mb"] = forward + backward + hw.host_microbatch_overhead_s
        # activation offload's host price: beyond the overlap of the same copies without packs (a
        # blocking pack's serialisation; a non-blocking one's packs and unpacks where they show)
        p["act_serial_mb"] = p["stable_mb"] - (host_overlap(gpu_f + d2h, gpu_b, host_f, host_blocks - host_f)
                                               + hw.host_microbatch_overhead_s)
        p["host_exposed_mb"] = p["stable_mb"] - p["gpu_side_mb"]

    def _time(self, t, b, dp, tp, g) -> dict[str, np.ndarray]:
        p = self._time_parts(t, b, dp, tp)
        busy_compute, recompute = p["busy_compute_mb"], p["recompute_mb"]
        nccl = p["dp_comm_mb"] - p["rs_serial_mb"]      # the overlapped collectives
        h2d, d2h, sync_xfer = p["h2d_mb"], p["d2h_mb"], p["sync_transfer_mb"]
        extra = p["overlapped_mb"] - (busy_compute + recompute)
        share_dp = np.where(nccl + h2d + d2h > 0, nccl / np.maximum(nccl + h2d + d2h, 1e-30), 0.0)
        step_comm = p["step_comm"]
        gpu_opt = p["gpu_adam"] + p["step_copies"]
        cpu_adam, transfers = p["cpu_adam"], p["step_transfers"]
        cpu_side = cpu_adam + transfers
        # Twin-Flow (ZeRO-3 offload ratio): GPU and CPU parts of the step run concurrently
        optimizer = np.maximum(gpu_opt, cpu_side)
        cpu_wins = cpu_side >= gpu_opt
        tp_mb, stable = p["tp_comm_mb"], p["stable_mb"]
        # the host time the GPU waits for, by its parts' shares: ZeRO-3 fetch hooks count as DP
        # communication, offload_param's blocking copies as offload, the rest as compute
        exposed, host = p["host_exposed_mb"] - p["act_serial_mb"], np.maximum(p["host_side_mb"], 1e-30)
        fetch_x = exposed * (p["zero3_fetch_mb"] + p["gather_host_mb"]) / host
        copy_x = exposed * p["weight_h2d_host_mb"] / host
        return {
            "stable_time_s": stable, "forward_time_s": stable * p["clock_forward_share"],
            "delta_time_s": step_comm + optimizer + p["boundary_mb"] + self.hw.host_step_overhead_s,
            "compute_s": g * (busy_compute + exposed - fetch_x - copy_x), "recompute_s": g * recompute,
            "tp_comm_s": g * tp_mb,
            "dp_comm_s": g * (extra * share_dp + fetch_x + p["rs_serial_mb"]) + step_comm,
            "offload_s": (g * (extra * (1 - share_dp) + sync_xfer + copy_x + p["act_serial_mb"])
                          + np.where(cpu_wins, transfers, 0.0) + p["boundary_mb"]),
            "optimizer_s": np.where(cpu_wins, cpu_adam, gpu_opt) + self.hw.host_step_overhead_s,
        }

