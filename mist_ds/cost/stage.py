"""StageCostModel: peak memory and time of one pipeline stage for arrays of strategies."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.cost.activations import Attention
from mist_ds.cost.compiled import compile_stage
from mist_ds.cost.shapes import vocab_shard
from mist_ds.cost.timing import Rates

BWD_MATMUL = 2.0    # backward GEMMs = 2x forward (Narayanan et al. 2021)
BWD_ATTENTION = 2.5  # flash backward = 2.5x forward FLOPs (Dao 2023, FlashAttention-2, sec. 4.1)
BWD_ELEMENTWISE = 2.0  # backward of an elementwise op reads the saved input and the output grad


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
    stable_time_s: np.ndarray
    """One micro-batch fwd+bwd in steady state (compute, recompute, TP comm, exposed DP/offload)."""
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

    The symbolic terms are compiled once (cost/compiled.py); evaluate() is pure numpy.
    """

    def __init__(self, model: ModelSpec, hw: HardwareProfile, seq_len: int, dtype: str = "bf16",
                 num_nodes: int = 1, gpus_per_node: int = 1, attention: Attention = "sdpa"):
        self.model, self.hw, self.seq_len, self.dtype = model, hw, seq_len, dtype
        self.num_nodes, self.gpus_per_node = num_nodes, gpus_per_node
        causal = 1.0 if attention == "math" else 0.5
        self.names, self._fn = compile_stage(model, seq_len, attention, causal)
        self.rates = Rates(hw, gpus_per_node)
        self.allocator_fraction = hw.allocator_overhead_fraction

    def evaluate(self, *, num_layers, micro_batch, dp, tp, zero_stage, offload_weights=0.0,
                 offload_gradients=0.0, offload_optimizer=0.0, offload_activations=0.0,
                 num_recompute=0, num_inflight=1, grad_accum=1, has_embedding=False,
                 has_head=False, num_stages=1) -> StageCost:
        """Cost of every strategy of the broadcast arguments (scalars or numpy arrays)."""
        arrays = np.broadcast_arrays(*[np.asarray(a) for a in (
            num_layers, micro_batch, dp, tp, zero_stage, offload_weights, offload_gradients,
            offload_optimizer, offload_activations, num_recompute, num_inflight, grad_accum,
            has_embedding, has_head, num_stages)])
        (layers, b, dp_, tp_, zero, ow, og, oo, oa, r, k, g, emb, head, stages) = [
            a.astype(float) for a in arrays]
        terms = self._terms(layers, b, dp_, tp_, zero, ow, og, oo, oa, r, k, emb, head, stages)
        memory = self._memory(terms)
        timing = self._time(terms, b, dp_, tp_, zero, stages, g)
        return StageCost(**memory, **timing, num_params=terms["params"])

    def _terms(self, layers, b, dp, tp, zero, ow, og, oo, oa, r, k, emb, head, stages):
        pp = (stages > 1).astype(float)
        z = [(zero == i).astype(float) for i in range(4)]
        bf = z[0] * pp * float(self.dtype == "bf16")
        hc = head * np.maximum(pp, float(not self.model.tie_embeddings))
        vs = vocab_shard(self.model, tp.astype(int)).astype(float)
        out = self._fn(b, layers, dp, tp, r, k, ow, og, oo, oa, *z, bf, emb, head, hc, pp,
                       (r > 0).astype(float), vs)
        shape = layers.shape
        return {n: np.broadcast_to(np.asarray(v, float), shape) for n, v in zip(self.names, out)}

    def _memory(self, t) -> dict[str, np.ndarray]:
        """Peak = max(forward/backward peak, optimizer-step peak) + allocator allowance.

        The step peak holds the model states plus the fp32 gradient partition DeepSpeed allocates
        in step() (DESIGN.md: measured OOM at stage_1_and_2.step); activations and the ipg
        buckets are released by then (stage_1_and_2.py _release_ipg_buffers).
        """
        static = t["weights"] + t["gradients"] + t["optimizer"]
        buffers = t["buckets"] + t["gathered"] + t["logits"]
        fwd_bwd = static + t["activations"] + buffers
        step = static + t["step_grad"]
        at_step = step > fwd_bwd
        raw = np.maximum(fwd_bwd, step)
        allowance = raw * self.allocator_fraction
        return {
            "peak_memory_bytes": raw + allowance,
            "weights_bytes": t["weights"],
            "gradients_bytes": t["gradients"] + np.where(at_step, t["step_grad"], 0.0),
            "optimizer_states_bytes": t["optimizer"],
            "activations_bytes": np.where(at_step, 0.0, t["activations"]),
            "buffers_bytes": np.where(at_step, 0.0, buffers) + allowance,
            "cpu_memory_bytes": t["cpu_states"] + t["cpu_activations"],
        }

    def _time(self, t, b, dp, tp, zero, stages, g) -> dict[str, np.ndarray]:
        rt = self.rates
        tokens = b * self.seq_len
        mm, attn, elt = rt.matmul_s(t["mm_flops"], tokens), rt.attention_s(t["attn_flops"]), \
            rt.memory_s(t["elt_bytes"])
        fwd = mm + attn + elt
        bwd = BWD_MATMUL * mm + BWD_ATTENTION * attn + BWD_ELEMENTWISE * elt
        recompute = (rt.matmul_s(t["re_mm_flops"], tokens) + rt.attention_s(t["re_attn_flops"])
                     + rt.memory_s(t["re_elt_bytes"]))
        tp_mb = t["tp_ar_count"] * rt.collective_s("all_reduce", t["tp_ar_bytes"], tp, False)
        inter = (dp * tp > self.gpus_per_node) & (self.num_nodes > 1)
        nccl = (rt.collective_s("reduce_scatter", t["dp_rs_mb_bytes"], dp, inter)
                + 2 * rt.collective_s("all_gather", t["dp_ag_mb_bytes"] / 2, dp, inter))
        h2d = rt.h2d_s(t["h2d_mb_bytes"] + t["act_offload_mb_bytes"])
        d2h = rt.d2h_s(t["act_offload_mb_bytes"])
        busy = fwd + bwd + recompute
        overlapped = rt.overlapped_s(busy, nccl, h2d, d2h)
        extra = overlapped - busy
        xfer = h2d + d2h
        share_dp = np.where(nccl + xfer > 0, nccl / np.maximum(nccl + xfer, 1e-30), 0.0)
        # once per step: ZeRO-0 all-reduce; ZeRO-1 reduce-scatter (overlapped with the last
        # backward by overlap_comm when not pipelined); ZeRO-1/2 param all-gather after step
        rs_step = rt.collective_s("reduce_scatter", t["dp_rs_step_bytes"], dp, inter)
        rs_step = np.where(stages > 1, rs_step, np.maximum(rs_step - bwd, 0.0))
        step_comm = (rt.collective_s("all_reduce", t["dp_ar_step_bytes"], dp, inter) + rs_step
                     + rt.collective_s("all_gather", t["dp_ag_step_bytes"], dp, inter))
        gpu_opt = rt.memory_s(t["gpu_adam_bytes"])
        cpu_adam = rt.cpu_adam_s(t["cpu_adam_params"])
        transfers = rt.d2h_s(t["opt_d2h_bytes"]) + rt.h2d_s(t["opt_h2d_bytes"])
        cpu_side = cpu_adam + transfers
        # Twin-Flow (ZeRO-3 offload ratio): GPU and CPU parts of the step run concurrently
        optimizer = np.maximum(gpu_opt, cpu_side)
        cpu_wins = cpu_side >= gpu_opt
        stable = overlapped + tp_mb
        return {
            "stable_time_s": stable, "delta_time_s": step_comm + optimizer,
            "compute_s": g * (fwd + bwd), "recompute_s": g * recompute, "tp_comm_s": g * tp_mb,
            "dp_comm_s": g * extra * share_dp + step_comm,
            "offload_s": g * extra * (1 - share_dp) + np.where(cpu_wins, transfers, 0.0),
            "optimizer_s": np.where(cpu_wins, cpu_adam, gpu_opt),
        }
