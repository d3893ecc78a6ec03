"""Read a HardwareProfile the way the cost model needs it: collective times at any group size,
GEMM throughput at any shape, interference for any set of overlapped channels. Pure: no torch.

Extrapolation rule for collectives (stated in every measured profile's provenance notes):
a profile measures group sizes 2..G of one node (G = GPUs it was given). For another size g of
the same kind and scope we take the measured fit of the nearest size g0 (the largest one when
g > G) and keep its bus bandwidth -- nccl-tests' bus bandwidth is defined so that a ring's
per-link traffic, hence busBW, does not depend on g (NVIDIA/nccl-tests, doc/PERFORMANCE.md) --
while the fixed cost grows with the ring's step count: 2(g-1) for all-reduce, g-1 for
all-gather / reduce-scatter, 1 for p2p (Patarasuk & Yuan 2009, bandwidth-optimal all-reduce).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from mist_ds.config.hardware import (
    Channel,
    CollectiveFit,
    CollectiveKind,
    HardwareProfile,
    MatmulSample,
    Scope,
)


def bus_factor(kind: CollectiveKind, group_size: int) -> float:
    """nccl-tests' bus-bandwidth factor: bytes on the busiest link per byte of the full buffer."""
    n = group_size
    if kind == "all_reduce":
        return 2.0 * (n - 1) / n
    if kind in ("all_gather", "reduce_scatter"):
        return (n - 1) / n
    return 1.0


def ring_steps(kind: CollectiveKind, group_size: int) -> int:
    """Latency-bearing steps of a ring collective over `group_size` ranks (p2p: one)."""
    if kind == "all_reduce":
        return 2 * (group_size - 1)
    if kind in ("all_gather", "reduce_scatter"):
        return group_size - 1
    return 1


def collective_fit(hw: HardwareProfile, kind: CollectiveKind, scope: Scope, group_size: int) -> CollectiveFit:
    """The fit for (kind, scope, group_size): measured if present, else extrapolated (module doc)."""
    if group_size < 2:
        raise ValueError(f"collective over {group_size} rank(s) has no cost model")
    fits = sorted((f for f in hw.collectives if f.kind == kind and f.scope == scope),
                  key=lambda f: f.group_size)
    if not fits:
        raise ValueError(f"profile {hw.name} has no {scope} {kind} measurement")
    for fit in fits:
        if fit.group_size == group_size:
            return fit
    base = min(fits, key=lambda f: (abs(math.log2(f.group_size / group_size)), -f.group_size))
    if group_size > fits[-1].group_size:
        base = fits[-1]
    scale = ring_steps(kind, group_size) / ring_steps(kind, base.group_size)
    return CollectiveFit(kind=kind, scope=scope, group_size=group_size,
                         latency_s=base.latency_s * scale, bus_bandwidth_gbps=base.bus_bandwidth_gbps,
                         fit_rel_error=None)


def collective_time_s(hw: HardwareProfile, kind: CollectiveKind, scope: Scope, group_size: int,
                      num_bytes: float) -> float:
    """alpha-beta time of one collective on a buffer of `num_bytes` (the full, unsharded buffer)."""
    if group_size < 2 or num_bytes <= 0:
        return 0.0
    fit = collective_fit(hw, kind, scope, group_size)
    return fit.latency_s + num_bytes * bus_factor(kind, group_size) / (fit.bus_bandwidth_gbps * 1e9)


def _bracket(axis: Sequence[float], value: float) -> tuple[int, int, float]:
    """Neighbouring indices in a sorted axis and the log-space weight of the upper one (clamped)."""
    if value <= axis[0]:
        return 0, 0, 0.0
    if value >= axis[-1]:
        return len(axis) - 1, len(axis) - 1, 0.0
    hi = bisect.bisect_left(axis, value)
    lo = hi - 1
    weight = math.log(value / axis[lo]) / math.log(axis[hi] / axis[lo])
    return lo, hi, weight


def _trilinear(table: dict[tuple[int, int, int], float], axes: tuple[list[int], ...],
               point: tuple[int, int, int]) -> float:
    brackets = [_bracket(axis, value) for axis, value in zip(axes, point)]
    total = 0.0
    for corner in range(8):
        weight, key = 1.0, []
        for dim, (lo, hi, w) in enumerate(brackets):
            upper = (corner >> dim) & 1
            weight *= w if upper else 1.0 - w
            key.append(axes[dim][hi if upper else lo])
        if weight:
            total += weight * math.log(table[tuple(key)])
    return math.exp(total)


def _nearest(samples: Sequence[MatmulSample], point: tuple[int, int, int], count: int = 4) -> float:
    """Inverse-distance (log space) mean of the nearest samples' log throughput."""
    def dist(s: MatmulSample) -> float:
        return math.dist([math.log2(s.m), math.log2(s.n), math.log2(s.k)], [math.log2(v) for v in point])

    near = sorted(samples, key=dist)[:count]
    if dist(near[0]) < 1e-9:
        return near[0].tflops
    weights = [1.0 / dist(s) ** 2 for s in near]
    return math.exp(sum(w * math.log(s.tflops) for w, s in zip(weights, near)) / sum(weights))


def matmul_tflops_at(hw: HardwareProfile, m: int, n: int, k: int) -> float:
    """bf16 GEMM throughput at (m, n, k): log-space trilinear interpolation of the measured grid
    (clamped at its edges), inverse-distance weighting where the grid has holes, and the
    scalar matmul_tflops when nothing was measured."""
    samples = hw.matmul_samples
    if not samples:
        return hw.matmul_tflops
    table = {(s.m, s.n, s.k): s.tflops for s in samples}
    axes = tuple(sorted({key[d] for key in table}) for d in range(3))
    if len(table) == len(axes[0]) * len(axes[1]) * len(axes[2]):
        return _trilinear(table, axes, (m, n, k))
    return _nearest(samples, (m, n, k))


def matmul_time_s(hw: HardwareProfile, m: int, n: int, k: int) -> float:
    """Time of one bf16 GEMM (m x k) @ (k x n): 2mnk FLOPs at the interpolated throughput."""
    return 2.0 * m * n * k / (matmul_tflops_at(hw, m, n, k) * 1e12)


def interference_slowdowns(hw: HardwareProfile, channels: Sequence[Channel]) -> dict[str, float]:
    """Time multiplier of each channel when `channels` overlap. A measured set is used as is;
    an unmeasured one multiplies the measured pairwise slowdowns (the pairwise-product model,
    whose error on the measured triples is in the profile's notes); unknown pairs count 1."""
    wanted = tuple(dict.fromkeys(channels))
    result = {c: 1.0 for c in wanted}
    if len(wanted) < 2:
        return result
    by_set = {frozenset(f.channels): f for f in hw.interference}
    exact = by_set.get(frozenset(wanted))
    if exact is not None:
        return {c: exact.slowdowns[exact.channels.index(c)] for c in wanted}
    for c in wanted:
        for other in wanted:
            pair = by_set.get(frozenset((c, other)))
            if other != c and pair is not None:
                result[c] *= pair.slowdowns[pair.channels.index(c)]
    return result


ATTENTION_BWD_FLOPS_PER_FWD = 2.5
"""Attention's backward FLOPs over its forward's (FlashAttention-2, Dao 2023, sec. 4.1: 2.5x)."""


def attention_flops(batch: int, heads: int, seq: int, head_dim: int, causal: bool) -> float:
    """Forward FLOPs: 4*b*h*s^2*d, halved when causal (FlashAttention-2, Dao 2023, sec. 4.1)."""
    return 4.0 * batch * heads * seq * seq * head_dim / (2.0 if causal else 1.0)


def sample_flops(s) -> float:
    """attention_flops of an AttentionSample's shape."""
    return attention_flops(s.batch, s.num_heads, s.seq_len, s.head_dim, s.causal)


ATTENTION_HEAD_DIM_TILE = 64
"""Head dims the fused attention kernels compute in: a head dim between tiles costs the next tile's work.
Measured: llama-2.7b's head dim 80 (32 heads, seq 4096, micro-batch 2, cuDNN SM90 flash kernels) ran
541 us forward and ~1.59 ms backward per block in the profiled steps of bench/results/runtime/fastest_1g/
(traces/*.trace.json.gz, `python bench/accuracy/trace_compare.py`), what this profile predicts at head dim
128 (537.5 us / 1.63 ms), not at 80 (396 us / 1.20 ms); cuDNN's kernel names carry 64-wide tiles
('..._64x64x128_...'). FlashAttention-2 instantiates head dims 32, 64, 96, 128, ... (its kHeadDim
templates): a coarser rule than flash-attn's, kept for the kernels the runtime runs (SDPA's dispatch)."""


def tiled_head_dim(head_dim: int) -> int:
    """The head dim the fused kernel computes in: head_dim rounded up to ATTENTION_HEAD_DIM_TILE."""
    return -(-int(head_dim) // ATTENTION_HEAD_DIM_TILE) * ATTENTION_HEAD_DIM_TILE


def _rate_batch(pool, batch: int, seq: int) -> int:
    """The batch at which to read the FLOP rate: `batch`, at most the largest sampled at the sampled
    sequence length nearest `seq`. More sequences add independent (batch, head) tiles, which never
    lower the kernel's rate, while the nearest-sample mean would borrow a larger batch's rate from
    shorter, slower sequences (S27: Llama 3.2 1B at micro-batch 8, seq 4096, priced at the 1024-token
    samples' rate, 56% above its micro-batch-1 time per sequence; ran 10.9% faster than predicted)."""
    nearest = min({s.seq_len for s in pool}, key=lambda n: abs(math.log2(n) - math.log2(seq)))
    return min(batch, max(s.batch for s in pool if s.seq_len == nearest))


def attention_time_s(hw: HardwareProfile, batch: int, heads: int, seq: int, head_dim: int,
                     causal: bool = True) -> tuple[float, float]:
    """(forward, backward) seconds of fused attention: the throughput of the nearest measured
    shapes (log distance in batch, heads, sequence and head dim -- heads and batch apart: on H100
    (4 x 8 heads) runs at half the FLOP rate of (1 x 32); same causal flag; inverse-distance mean of
    the 3 nearest) times this shape's FLOPs (backward: ATTENTION_BWD_FLOPS_PER_FWD x forward FLOPs). Without
    samples: attention_tflops and attention_bwd_tflops (or attention_tflops) from the profile."""
    head_dim = tiled_head_dim(head_dim)
    flops = attention_flops(batch, heads, seq, head_dim, causal)
    bwd_flops = ATTENTION_BWD_FLOPS_PER_FWD * flops
    pool = [s for s in hw.attention_samples if s.causal == causal] or list(hw.attention_samples)
    if not pool:
        bwd_rate = hw.attention_bwd_tflops or hw.attention_tflops
        return flops / (hw.attention_tflops * 1e12), bwd_flops / (bwd_rate * 1e12)
    target = (math.log2(_rate_batch(pool, batch, seq)), math.log2(heads), math.log2(seq), 2 * math.log2(head_dim))

    def dist(s) -> float:
        here = (math.log2(s.batch), math.log2(s.num_heads), math.log2(s.seq_len), 2 * math.log2(s.head_dim))
        return math.dist(target, here)

    near = sorted(pool, key=dist)[:3]
    weights = [1.0 / max(dist(s), 1e-6) ** 2 for s in near]
    total = sum(weights)
    fwd_rate = sum(w * sample_flops(s) / s.fwd_time_s for w, s in zip(weights, near)) / total
    bwd_rate = sum(w * ATTENTION_BWD_FLOPS_PER_FWD * sample_flops(s) / s.bwd_time_s
                   for w, s in zip(weights, near)) / total
    return flops / fwd_rate, bwd_flops / bwd_rate


def memory_kernel_gbps(hw: HardwareProfile, kernel: str) -> float:
    """Measured effective bandwidth of a named memory-bound kernel, else memory_bandwidth_gbps."""
    for sample in hw.memory_kernels:
        if sample.kernel == kernel:
            return sample.bandwidth_gbps
    return hw.memory_bandwidth_gbps
