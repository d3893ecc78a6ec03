"""Hardware rates from a HardwareProfile, vectorised over numpy arrays.

Rules (stated once, used everywhere):
* collectives: the profile's alpha-beta fit (CollectiveFit docstring) of the same kind and scope;
  latency and bus bandwidth are interpolated linearly in log2(group size) between measured sizes
  and held at the nearest measured size outside the measured range (ring bus bandwidth is
  roughly flat in n; nccl-tests PERFORMANCE.md). Group size 1 costs nothing. reduce_scatter and
  all_gather stand in for each other when one is missing (same bus factor).
* GEMMs: the measured grid (matmul_samples) interpolated in log2(tokens) = log2(m); without a grid,
  the scalar matmul_tflops.
* CPU Adam: params/s interpolated in thread count; each rank gets host_cpu_cores / GPUs-per-node
  threads (DeepSpeedCPUAdam uses OpenMP threads of its own process).
* interference: Mist's model (MIST.md section 2, interference_estimate_for_one_group): active
  channels run at 1/slowdown of their speed until the first one finishes, then the rest continue
  with the factors of the smaller set; profile entries give the factors, missing sets mean none.
"""

from __future__ import annotations

import itertools

import numpy as np

from mist_ds.config import HardwareProfile

CHANNELS = ("compute", "nccl", "h2d", "d2h")
_BUS_FACTOR = {"all_reduce": lambda n: 2 * (n - 1) / n, "all_gather": lambda n: (n - 1) / n,
               "reduce_scatter": lambda n: (n - 1) / n, "p2p": lambda n: np.ones_like(n)}
_STAND_IN = {"reduce_scatter": "all_gather", "all_gather": "reduce_scatter"}


class Rates:
    """Numeric lookups of one HardwareProfile, precomputed once."""

    def __init__(self, hw: HardwareProfile, gpus_per_node: int):
        self.hw = hw
        self._fits = {}
        for fit in hw.collectives:
            self._fits.setdefault((fit.kind, fit.scope), []).append(fit)
        for key in self._fits:
            self._fits[key].sort(key=lambda f: f.group_size)
        self.threads = max(1, hw.host_cpu_cores // max(1, gpus_per_node))
        samples = sorted(hw.cpu_adam, key=lambda s: s.num_threads)
        self.cpu_adam_params_per_s = float(np.interp(
            self.threads, [s.num_threads for s in samples], [s.params_per_s for s in samples]))
        self._interference = _interference_table(hw)

    def _fit_table(self, kind: str, scope: str):
        fits = self._fits.get((kind, scope)) or self._fits.get((_STAND_IN.get(kind, ""), scope))
        if not fits:
            raise ValueError(f"hardware profile {self.hw.name} has no {kind} fit for {scope}")
        sizes = np.log2([f.group_size for f in fits])
        return sizes, [f.latency_s for f in fits], [f.bus_bandwidth_gbps for f in fits]

    def collective_s(self, kind: str, nbytes, group, inter_node):
        """Seconds of one collective of `nbytes` (full buffer) over `group` ranks."""
        nbytes, group, inter = np.broadcast_arrays(np.asarray(nbytes, float),
                                                   np.asarray(group, float),
                                                   np.asarray(inter_node, bool))
        out = np.zeros(nbytes.shape)
        for scope, mask in (("intra_node", ~inter), ("inter_node", inter)):
            if not mask.any():
                continue
            sizes, lat, bw = self._fit_table(kind, scope)
            n = group[mask]
            x = np.log2(np.maximum(n, 1))
            t = np.interp(x, sizes, lat) + nbytes[mask] * _BUS_FACTOR[kind](n) / (
                np.interp(x, sizes, bw) * 1e9)
            out[mask] = np.where((n > 1) & (nbytes[mask] > 0), t, 0.0)
        return out

    def matmul_s(self, flops, tokens):
        """Seconds of `flops` GEMM work at the rate measured for m = tokens."""
        samples = self.hw.matmul_samples
        if not samples:
            return np.asarray(flops, float) / (self.hw.matmul_tflops * 1e12)
        by_m: dict[int, list[float]] = {}
        for smp in samples:
            by_m.setdefault(smp.m, []).append(smp.tflops)
        ms = sorted(by_m)
        rate = np.interp(np.log2(np.asarray(tokens, float)), np.log2(ms),
                         [float(np.mean(by_m[m])) for m in ms])
        return np.asarray(flops, float) / (rate * 1e12)

    def attention_s(self, flops):
        """Seconds of causal attention FLOPs at the profile's attention rate."""
        return np.asarray(flops, float) / (self.hw.attention_tflops * 1e12)

    def memory_s(self, nbytes):
        """Seconds of memory-bound traffic at the profile's effective HBM bandwidth."""
        return np.asarray(nbytes, float) / (self.hw.memory_bandwidth_gbps * 1e9)

    def h2d_s(self, nbytes):
        """Pinned host-to-device copy time (0 bytes -> 0 s)."""
        nbytes = np.asarray(nbytes, float)
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / (self.hw.h2d_bandwidth_gbps * 1e9), 0.0)

    def d2h_s(self, nbytes):
        """Pinned device-to-host copy time (0 bytes -> 0 s)."""
        nbytes = np.asarray(nbytes, float)
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / (self.hw.d2h_bandwidth_gbps * 1e9), 0.0)

    def cpu_adam_s(self, params):
        """DeepSpeedCPUAdam step time of `params` fp32 parameters on this rank's threads."""
        return np.asarray(params, float) / self.cpu_adam_params_per_s

    def overlapped_s(self, *channel_times):
        """Wall time of the four channels (compute, nccl, h2d, d2h) run concurrently."""
        rem = np.array(np.broadcast_arrays(*[np.asarray(t, float) for t in channel_times]))
        total = np.zeros(rem.shape[1:])
        weights = (1 << np.arange(len(CHANNELS))).reshape((-1,) + (1,) * total.ndim)
        for _ in CHANNELS:
            active = rem > 0
            mask = (active * weights).sum(axis=0)
            if not mask.any():
                break
            slow = np.moveaxis(self._interference[mask], -1, 0)     # (4, ...)
            scaled = np.where(active, rem * slow, np.inf)
            seg = np.min(scaled, axis=0)
            seg = np.where(np.isfinite(seg), seg, 0.0)
            rem = np.where(active, np.maximum(rem - seg / slow, 0.0), 0.0)
            rem = np.where(rem < 1e-15, 0.0, rem)
            total += seg
        return total


def _interference_table(hw: HardwareProfile) -> np.ndarray:
    """(16, 4) slowdowns indexed by the bitmask of active channels; 1 where not measured."""
    table = np.ones((1 << len(CHANNELS), len(CHANNELS)))
    for entry in hw.interference:
        mask = sum(1 << CHANNELS.index(c) for c in entry.channels)
        for channel, slowdown in zip(entry.channels, entry.slowdowns):
            table[mask, CHANNELS.index(channel)] = slowdown
    return table


def all_subsets():
    """Every channel subset of size >= 2 (for documentation and tests)."""
    return [c for n in range(2, 5) for c in itertools.combinations(CHANNELS, n)]
