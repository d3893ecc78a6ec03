"""StageCostModel: peak memory and time of one pipeline stage for arrays of strategies (the time's
assembly from the compiled terms: cost/stage_time.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.cost.activations import ATTENTION_SAVES, pinned_activation_rounding
from mist_ds.cost.compiled import compile_stage
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.host_memory import host_peak_bytes
from mist_ds.cost.kernel_set import KernelChoice
from mist_ds.cost.layer_time import block_times
from mist_ds.cost.memory import ELEM, FP32, REDUCE_BUCKET_ELEMENTS, SUB_GROUP_ELEMENTS
from mist_ds.cost.rates import Rates
from mist_ds.cost.shapes import (param_tensor_stats, pinned_tensor_bytes, pinned_weight_rounding, stage_tensor_count,
                                 vocab_shard, zero3_open_bucket, zero3_sub_groups)
from mist_ds.cost.stage_args import StageArgs
from mist_ds.cost.stage_time import time_components, time_fields
from mist_ds.cost.writeback import with_writeback_cast

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
    host_wait_s: np.ndarray
    """Of the breakdown (inside it, not beside it): seconds per iteration the GPU waits for the
    training thread's own work, past what queued kernels hide (cost/host_overlap.py: hooks, launches,
    per-micro-batch and per-step bookkeeping)."""
    num_params: np.ndarray
    """Parameters of the stage on one TP rank (before ZeRO partitioning)."""

    def __getitem__(self, index) -> StageCost:
        """The same cost restricted to `index` of every array."""
        return StageCost(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def phase_parts(t: dict[str, np.ndarray], zero_init: bool) -> tuple[dict, dict, np.ndarray]:
    """The stage's peak phases from its terms (cost/memory.py), before the allocator allowance:
    (forward/backward parts, optimizer-step parts, build peak); each phase's parts are weights,
    gradients, optimizer, activations and buffers.

    Forward/backward peaks at the start of the last micro-batch's backward (the larger of the
    gradient partition and ZeRO-1's accumulated whole gradients; the larger of the head's backward and
    the blocks' backward: the head's backward holds the loss's logits working set, its fresh weight
    gradient and its input gradient (cost/memory.py 'head_backward'), and frees the logits before any
    block's backward working set ('working': a recomputed block's regenerated activations and the
    block's transients, inside 'activations') or the buffers that only exist once block gradients flow,
    so the two count once, at the larger: tests/cost/test_loss_and_recompute.py) or,
    for ZeRO-1 accumulating, at the boundary backward's first bucket reduction (boundary_partition beside the
    accumulated gradients; the blocks whose backward ran and the loss's working set freed), for ZeRO-2
    accumulating at the first bucket reduction of a later micro-batch (its fresh partition beside the
    accumulator partition, the same blocks freed), or, for
    ZeRO-3, at its first bucket reduction (the same blocks freed; z3_reduction: the reduce-scatter's
    flat copy and, under optimizer offload, a partition and its fp64 norm copy), whichever is larger.
    Build: ZeRO-3's start-up (cost/memory.py)."""
    common = {"weights": t["weights"], "optimizer": t["optimizer"]}
    start = {**common, "gradients": np.maximum(t["gradients"], t["accumulated_gradients"]),
             "activations": t["activations"],
             "buffers": t["buckets"] + t["gathered"]
             + np.maximum(t["logits"] + t["head_backward"] - t["working"], t["passing_buckets"])}
    boundary = {**common, "gradients": np.maximum(t["gradients"], t["accumulated_gradients"]) + t["boundary_partition"],
                "activations": t["activations"] - t["first_reduction_freed"],
                "buffers": t["buckets"] + t["gathered"] + t["passing_buckets"]}
    later = (t["boundary_partition"] > 0) & (sum(boundary.values()) > sum(start.values()))
    fb = {k: np.where(later, boundary[k], start[k]) for k in start}
    reduction = {**common, "gradients": t["gradients"], "activations": t["activations"] - t["first_reduction_freed"],
                 "buffers": t["buckets"] + t["gathered"] + t["z3_reduction"]}
    later = (t["z3_reduction"] > 0) & (sum(reduction.values()) > sum(fb.values()))
    fb = {k: np.where(later, reduction[k], fb[k]) for k in fb}
    step = {"weights": t["step_weights"], "gradients": t["step_gradients"] + t["step_convert"],
            "optimizer": t["optimizer"], "activations": 0.0, "buffers": t["step_buffers"]}
    return fb, step, t["build_weights_zero_init" if zero_init else "build_weights"]


class StageCostModel:
    """Memory and time of pipeline stages of one model on one hardware profile.

    The symbolic terms are compiled once (cost/compiled.py); evaluate() is pure numpy. `attention` is
    the plan's attention kernel (config/plan.py AttentionKernel); its saved-tensor family
    (activations.ATTENTION_SAVES) is what the memory model counts; compute time reads the profile's
    attention grid (measured with SDPA's default dispatch). `conditions` (cost/conditions.py; None:
    RunConditions(), what the runtime does and the search costs): this model reads its kernels (the
    element-wise and loss kernel set, cost/kernel_set.py), zero_init (the ZeRO-3 start-up term,
    cost/memory.py Build), act_offload_copy (cost/act_offload.py pass_walls) and writeback_cast (ZeRO-3's
    cross-device write-back, cost/writeback.py).
    """

    def __init__(self, model: ModelSpec, hw: HardwareProfile, seq_len: int, dtype: str = "bf16",
                 num_nodes: int = 1, gpus_per_node: int = 1, attention: str = "sdpa",
                 conditions: RunConditions | None = None):
        conditions = conditions or RunConditions()
        self.zero_init = conditions.zero_init
        self.act_offload_copy = conditions.act_offload_copy
        self.writeback_cast = conditions.writeback_cast
        self.model, self.hw, self.seq_len, self.dtype = model, hw, seq_len, dtype
        self.num_nodes, self.gpus_per_node = num_nodes, gpus_per_node
        self.causal = True
        self.saves = ATTENTION_SAVES[attention]
        self.kernels = KernelChoice.of(conditions.kernels)
        self.names, self._fn, self.host_names, self._host_fn = compile_stage(model, seq_len, self.saves,
                                                                             self.kernels)
        self.rates = Rates(hw, gpus_per_node)
        self._hw_json, self._model_json = hw.to_json(), model.to_json()
        self.allocator_fraction = hw.allocator_overhead_fraction

    def evaluate(self, args: StageArgs) -> StageCost:
        """Cost of every strategy of the broadcast arguments (scalars or numpy arrays)."""
        terms = self.terms(args)
        a = args.arrays()
        parts = self._time_parts(terms, a["micro_batch"], a["dp"], a["tp"])
        timing = time_fields(parts, a["grad_accum"])
        return StageCost(**self._memory(terms), **timing, num_params=terms["params"])

    def memory(self, args: StageArgs) -> tuple[np.ndarray, np.ndarray]:
        """(peak_memory_bytes, cpu_memory_bytes) of evaluate(args), without its time terms (what the
        search's memory screening reads)."""
        memory = self._memory(self.terms(args))
        return memory["peak_memory_bytes"], memory["cpu_memory_bytes"]

    def terms(self, args: StageArgs) -> dict[str, np.ndarray]:
        """The raw compiled terms (bytes, FLOPs, volumes; names: cost/memory.py, cost/work.py)."""
        a = args.arrays()
        return self._terms(a["num_layers"], a["micro_batch"], a["dp"], a["tp"], a["zero_stage"],
                           a["offload_weights"], a["offload_gradients"], a["offload_optimizer"],
                           a["num_offloaded"], a["num_recompute"], a["num_inflight"], a["has_embedding"],
                           a["has_head"], a["num_stages"], a["grad_accum"], a["zero3_live_bound"],
                           a["zero3_block_fetch"])

    def _terms(self, layers, b, dp, tp, zero, ow, og, oo, na, r, k, emb, head, stages, g, live_bound,
               block_fetch):
        pp = (stages > 1).astype(float)
        z = [(zero == i).astype(float) for i in range(4)]
        bf = z[0] * pp * float(self.dtype == "bf16")
        hc = head * np.maximum(pp, float(not self.model.tie_embeddings))
        vs = vocab_shard(self.model, tp.astype(int)).astype(float)
        persistent, largest = param_tensor_stats(self.model, tp.astype(int), layers, emb, head, hc,
                                                 PERSISTENCE_THRESHOLD)
        # DeepSpeed offloads whole optimizer sub-groups, formed in parameter order (cost/shapes.py
        # zero3_sub_groups); sub_group_size is the executor's constant emit/ds_config.py writes. Only
        # ZeRO-3 rows with optimizer or weight offload use the sub-groups, and only the former the open
        # bucket: the others are priced as one stand-in row (a search's rows are mostly those); _g names
        # the sub-groups' masked inputs, _b the open bucket's
        offloading = (z[3] > 0) & (oo > 0)
        grouped = (z[3] > 0) & ((oo > 0) | (ow > 0))
        tp_g, dp_g, layers_g = (np.where(grouped, v, 1.0) for v in (tp, dp, layers))
        emb_g, head_g, hc_g, oo_g = (np.where(grouped, v, 0.0) for v in (emb, head, hc, oo))
        cpu_share, cpu_buffers, gpu_group = zero3_sub_groups(self.model, tp_g, dp_g, layers_g, emb_g, head_g, hc_g,
                                                             oo_g, SUB_GROUP_ELEMENTS)
        oo_eff = np.where(z[3] > 0, cpu_share, oo)
        args = (b, layers, dp, tp, r, k, ow, og, oo_eff, na, *z, bf, emb, head, hc, pp,
                (r > 0).astype(float), vs, (oo > 0).astype(float), (g > 1).astype(float), persistent, largest,
                live_bound, block_fetch)
        shape = layers.shape
        terms = {n: np.broadcast_to(np.asarray(v, float), shape) for n, v in zip(self.names, self._fn(*args))}
        tp_b, layers_b, head_b, hc_b = (np.where(offloading, v, d) for v, d in ((tp, 1.0), (layers, 1.0), (head, 0.0),
                                                                                  (hc, 0.0)))
        open_bucket = zero3_open_bucket(self.model, tp_b, layers_b, head_b, hc_b, REDUCE_BUCKET_ELEMENTS)
        terms.update(num_layers=layers, num_recompute=r, num_offloaded=na, has_head=head, has_embedding=emb,
                     param_tensors=stage_tensor_count(self.model, layers, emb, hc, head),
                     z1=z[1], z2=z[2], z3=z[3], cpu_group_grad_buffers=np.where(z[3] > 0, cpu_buffers, 0.0),
                     # under offload_param each GPU sub-group's write-back (cost/work.py pageable_d2h_bytes)
                     # crosses through a fresh pageable fp32 host tensor of the sub-group's size (torch
                     # copy_kernel_cuda: at::empty_like(dst, src dtype)), freed after it: the largest is
                     # the step's host peak above the steady state
                     host_writeback_temp=np.where(grouped & (ow > 0), FP32 * gpu_group, 0.0),
                     # the bucket the backward leaves open, round-tripped after it under optimizer
                     # offload like the embedding's gradient (work.py tail_mb_bytes)
                     open_bucket_mb_bytes=z[3] * (oo > 0) * ELEM * open_bucket / dp,
                     # zero/utils.py defragment (stage3.py _create_fp16_partitions_with_defragmentation):
                     # the 16-bit partitions pass through a CPU buffer at start-up, without offload_param
                     host_defragment=z[3] * (1 - ow) * ELEM * terms["params"] / dp)
        terms.update(self._host_terms(args, (oo > 0) | (ow > 0) | (na > 0), b, tp, dp, layers, emb, head, hc))
        return with_writeback_cast(terms, self.writeback_cast)

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
                self.model, self.seq_len, self.saves, b, tp, lambda t: self.kernels.at(t).activation,
                rope_kernel=lambda t: self.kernels.at(t).rope)
        if np.any(out["cpu_packed_weights"] > 0):   # activation offload packs the weights too
            out["packed_weight_rounding"] = pinned_weight_rounding(self.model, tp)
        if np.any(out["host_accumulated"] > 0):     # ZeRO-2 offload: whole tensors of the partition
            out["pinned_accumulated"] = pinned_tensor_bytes(self.model, tp, dp, layers, emb, head, hc,
                                                            ELEM, split=False)
        if np.any(out["host_z3_params16"] > 0):     # ZeRO-3 offload_param: each tensor's partition
            out["pinned_param_partitions"] = pinned_tensor_bytes(self.model, tp, dp, layers, emb, head,
                                                                 hc, ELEM, split=True)
        return out

    def _memory(self, t) -> dict[str, np.ndarray]:
        """Peak = max(forward/backward, optimizer step, build) + allocator allowance: the profile's
        allocator_overhead_fraction of it, fitted so the peak targets max_memory_allocated, which
        decides OOM under expandable segments (config/hardware.py).

        The phases: phase_parts. Build is ZeRO-3's start-up, under deepspeed.zero.Init or
        (zero_init False) the whole 16-bit stage on the GPU before deepspeed.initialize partitions it
        (cost/memory.py).
        """
        fb, step, build = phase_parts(t, self.zero_init)
        fwd_bwd, step_total = sum(fb.values()), sum(step.values())
        raw = np.maximum(np.maximum(fwd_bwd, step_total), build)
        at_build, at_step = build >= raw, (build < raw) & (step_total > fwd_bwd)
        allowance = raw * self.allocator_fraction
        pick = lambda fb_value, step_value, build_value=0.0: np.where(  # noqa: E731
            at_build, build_value, np.where(at_step, step_value, fb_value))
        return {
            "peak_memory_bytes": raw + allowance,
            "weights_bytes": pick(fb["weights"], step["weights"], build),
            "gradients_bytes": pick(fb["gradients"], step["gradients"]),
            "optimizer_states_bytes": pick(fb["optimizer"], step["optimizer"]),
            "activations_bytes": pick(fb["activations"], 0.0),
            "buffers_bytes": pick(fb["buffers"], step["buffers"]) + allowance,
            "cpu_memory_bytes": host_peak_bytes(t, self.hw.host_process_base_bytes),
        }

    def _compute(self, b, tp) -> np.ndarray:
        """(..., 4): block fwd, block bwd, head fwd+bwd, embedding fwd+bwd seconds per (b, tp),
        evaluated once per distinct pair (cost/layer_time.py)."""
        return per_pair(b, tp, lambda mb, t: block_times(self._hw_json, self._model_json, self.seq_len, mb, t,
                                                        self.causal, self.kernels.at(t)), (4,))

    def time_parts(self, args: StageArgs) -> dict[str, np.ndarray]:
        """The named components the stage's time is assembled from (cost/stage_time.py
        time_components): what bench/accuracy/trace_compare.py sets beside a profiled step."""
        a = args.arrays()
        return self._time_parts(self.terms(args), a["micro_batch"], a["dp"], a["tp"])

    def _time_parts(self, t, b, dp, tp) -> dict[str, np.ndarray]:
        """Per micro-batch ('*_mb') and per step components of the stage's time, in seconds."""
        return time_components(self, t, self._compute(b, tp), b, dp, tp)


def per_pair(b: np.ndarray, tp: np.ndarray, value, value_shape: tuple[int, ...] = ()) -> np.ndarray:
    """value(micro_batch, tp), of shape `value_shape`, for every element of the arrays `b` and `tp`, evaluated
    once per distinct pair; the result has b's shape plus value_shape (empty arrays give an empty result)."""
    key = b.astype(np.int64) * 4096 + tp.astype(np.int64)
    uniq, inverse = np.unique(key.ravel(), return_inverse=True)
    table = np.array([value(int(k // 4096), int(k % 4096)) for k in uniq], dtype=float).reshape(-1, *value_shape)
    return table[inverse].reshape(b.shape + value_shape)
