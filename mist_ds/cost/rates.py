"""Hardware rates from a HardwareProfile, vectorised over numpy arrays of strategies.

The profile is read through mist_ds.config.hw_lookup, the same rules the profiler states in every
measured profile's provenance:
* collectives: the alpha-beta fit of the same kind and scope; an unmeasured group size takes the
  nearest measured size's bus bandwidth and scales its latency by the ring's step count
  (hw_lookup.collective_fit). Group size 1 costs nothing.
* block compute: kernel sums per (micro-batch, tp) (cost/layer_time.py).
* CPU Adam: params/s interpolated in thread count. The deepspeed launcher leaves OMP_NUM_THREADS
  unset unless --bind_cores_to_rank (launcher/launch.py; emit/launch.py does not pass it), so every
  rank's DeepSpeedCPUAdam runs OpenMP threads on all host_cpu_cores, and the node's ranks step at the
  same time: each gets an equal share of the node's best one-process rate (Rates.cpu_adam_s; measured
  with 2 processes x 32 threads at once in bench/results/engine/s4_offload/host_step.json).
* copies from pageable host memory: the profile's calibrated pageable_h2d_bandwidth_gbps per rank
  (config/hardware.py says why not shared; the pinned rate while it is not calibrated), and ZeRO-3's
  write-back into the CPU partition at pageable_d2h_bandwidth_gbps per rank (that rate while it is not).
* GPU Adam: the measured fused-Adam rate, else the adam_step kernel bandwidth over the bytes
  Adam moves per parameter.
* interference: Mist's model (MIST.md section 2, interference_estimate_for_one_group): active
  channels run at 1/slowdown of their speed until the first one finishes, then the rest continue
  with the factors of the smaller set; factors per set from hw_lookup.interference_slowdowns.
"""

from __future__ import annotations

import numpy as np

from mist_ds.config import HardwareProfile
from mist_ds.config.hw_lookup import (bus_factor, collective_fit, interference_slowdowns,
                                      memory_kernel_gbps)

CHANNELS = ("compute", "nccl", "h2d", "d2h")
KEY_TABLE = 1 << 16
"""collective_s codes (ranks, inter-node) pairs through a table of this many entries at most (groups up to
32,767 ranks); larger keys are sorted (np.unique)."""
ADAM_BYTES_PER_PARAM = 4 * 4 + 3 * 4 + 2  # read p, g, m, v; write p, m, v (fp32); write 16-bit p
# The host's work beside DeepSpeedCPUAdam, bench/results/engine/s4_offload/host_step.json (355.8M fp32
# elements per rank, 2 ranks x 16 threads at once, the 32-core H200 host): DeepSpeedCPUAdam 0.343
# ns/element where the profile's one-process 16-thread rate says 0.194 (profiles/h200.json cpu_adam:
# ranks stepping together get 0.566 of it, memory bandwidth), the fp32 -> 16-bit copy 0.106 ns and the
# clip multiply 0.095 ns: 0.31 and 0.28 of Adam's time. Read by the stock model (cost/stage_time.py) and
# mistpipe's cpu_adam path (cost/mistpipe_step.py).
HOST_CONCURRENCY, HOST_BF16_PER_ADAM, HOST_CLIP_PER_ADAM = 0.566, 0.31, 0.28
# ZeRO-3's step passes (cost/work.py z3_step_copy_bytes: 42 bytes per partition element) run below the
# profile's copy rate: half their bytes go through torch's non-vectorized kernels (the dtype-converting
# copies bf16 -> fp64 of get_grad_norm_direct and bf16 -> fp32 of _prepare_fp32_grad_for_sub_group run
# as `unrolled_elementwise_kernel<direct_copy_kernel_cuda>`, the clip mul_ by a 0-dim tensor as
# `elementwise_kernel<128, 4, gpu_kernel_impl<BinaryFunctor<float...MulFunctor>>>`; stage3.py step).
# Fitted on one committed trace, the one cost/work.py counts the bytes on: the zero3-rc step
# (bench/results/runtime/parity/traces/zero3-rc.mist.rank0, llama-7b dp 2, 3.369e9-element partition:
# 52.6 ms of these kernels for 141.5 GB, 2.69 TB/s = 0.70 of the 3835 GB/s copy rate). Held out
# (bench/accuracy/ZERO3_DP1.md, `bench/accuracy/zero3_dp1.py --step`): l7-z3-rc0 (llama-7b dp 2)
# 52.0 ms measured / 52.7 predicted, g27-z3-rc24 (gpt-2.7b dp 1) 43.2 / 41.5, g13-z3 (gpt-1.3b dp 1)
# 21.7 / 20.6; at the copy rate the model said 36.9, 36.9, 29.0, 14.4.
ZERO3_STEP_PASS_FRACTION = 0.70


class Rates:
    """Numeric lookups of one HardwareProfile, precomputed once per cost model."""

    def __init__(self, hw: HardwareProfile, gpus_per_node: int):
        self.hw = hw
        self._fits: dict[tuple[str, str, int], tuple[float, float]] = {}
        self.threads = hw.host_cpu_cores
        self.ranks_per_node = max(1, gpus_per_node)
        # cpu_adam_s: the best rate the host's cores reach (the curve up to host_cpu_cores), shared
        samples = sorted(hw.cpu_adam, key=lambda s: s.num_threads)
        at_cores = float(np.interp(self.threads, [s.num_threads for s in samples], [s.params_per_s for s in samples]))
        self.cpu_adam_params_per_s = max([at_cores] + [s.params_per_s for s in samples
                                                        if s.num_threads <= self.threads]) / self.ranks_per_node
        self.pageable_h2d_bytes_per_s = (None if hw.pageable_h2d_bandwidth_gbps is None
                                         else hw.pageable_h2d_bandwidth_gbps * 1e9)
        self.pageable_d2h_bytes_per_s = (None if hw.pageable_d2h_bandwidth_gbps is None
                                         else hw.pageable_d2h_bandwidth_gbps * 1e9)
        self.gpu_adam_params_per_s = hw.gpu_adam_params_per_s or (
            memory_kernel_gbps(hw, "adam_step") * 1e9 / ADAM_BYTES_PER_PARAM)
        self._interference = _interference_table(hw)
        self.copy_bytes_per_s = memory_kernel_gbps(hw, "copy") * 1e9

    def _fit(self, kind: str, scope: str, group: int) -> tuple[float, float]:
        key = (kind, scope, group)
        if key not in self._fits:
            fit = collective_fit(self.hw, kind, scope, group)
            self._fits[key] = (fit.latency_s, fit.bus_bandwidth_gbps * 1e9)
        return self._fits[key]

    def collective_s(self, kind: str, nbytes, group, inter_node):
        """Seconds of one collective of `nbytes` (full buffer) over `group` ranks."""
        nbytes, group, inter = np.broadcast_arrays(np.asarray(nbytes, float),
                                                   np.asarray(group, float),
                                                   np.asarray(inter_node, bool))
        key = group.astype(np.int64) * 2 + inter
        flat = key.ravel()
        if flat.size and (flat == flat[0]).all():  # one group kind (the common case): no sort
            uniq, inverse = flat[:1], np.zeros(flat.size, np.int64)
        elif flat.size and flat.min() >= 0 and flat.max() < KEY_TABLE:  # small keys (2 x ranks + 1): a table
            present = np.zeros(int(flat.max()) + 1, bool)
            present[flat] = True
            uniq = np.flatnonzero(present)
            slot = np.zeros(len(present), np.int64)
            slot[uniq] = np.arange(len(uniq))
            inverse = slot[flat]
        else:
            uniq, inverse = np.unique(flat, return_inverse=True)
        latency, inv_bw = np.zeros(len(uniq)), np.zeros(len(uniq))
        for i, value in enumerate(uniq):
            size, scope = int(value // 2), ("inter_node" if value % 2 else "intra_node")
            if size > 1:
                lat, bandwidth = self._fit(kind, scope, size)
                latency[i], inv_bw[i] = lat, bus_factor(kind, size) / bandwidth
        inverse = inverse.reshape(key.shape)
        return np.where(nbytes > 0, latency[inverse] + nbytes * inv_bw[inverse], 0.0)

    def h2d_s(self, nbytes):
        """Pinned host-to-device copy time (0 bytes -> 0 s)."""
        nbytes = np.asarray(nbytes, float)
        rate = self.hw.h2d_bandwidth_gbps * 1e9
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / rate, 0.0)

    def d2h_s(self, nbytes):
        """Pinned device-to-host copy time (0 bytes -> 0 s)."""
        nbytes = np.asarray(nbytes, float)
        rate = self.hw.d2h_bandwidth_gbps * 1e9
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / rate, 0.0)

    def cpu_adam_s(self, params):
        """DeepSpeedCPUAdam step time of `params` fp32 parameters on one rank while all the node's
        ranks step at once (module docstring): an equal share of the node's throughput, the best rate
        of the profile's one-process curve at up to host_cpu_cores threads (a smaller host, --cpu-cores,
        reaches less of it; Adam is bound by host memory bandwidth, 28 bytes per
        parameter). The curve's 32-thread point (2.81e9/s, below the 16-thread 5.15e9/s on the
        32-vCPU H200 host) is one process oversubscribing the host, not the node's limit: measured,
        bench/results/engine/s4_offload/host_step.json (2 processes x 32 threads at once, 355.8M
        elements each) gives 0.401 ns per element per process, where this rule gives 0.389 ns and the
        former one (the 32-thread rate split between the 2 ranks) 0.712 ns. With one rank the rule
        takes the best point (0.194 ns): not measured in a training process; the 1-GPU offload runs
        (g13-1g-c24-s2048-z1/z2-off1-mb2) fit it, the 32-thread point over-predicts them by 25-30%
        (bench/accuracy/ZERO3_OFFLOAD.md)."""
        return np.asarray(params, float) / self.cpu_adam_params_per_s

    def pageable_h2d_s(self, nbytes):
        """Host-to-device copy from pageable memory at this rank's rate."""
        if self.pageable_h2d_bytes_per_s is None:
            return self.h2d_s(nbytes)
        nbytes = np.asarray(nbytes, float)
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / self.pageable_h2d_bytes_per_s, 0.0)

    def pageable_d2h_s(self, nbytes):
        """ZeRO-3's write-back of GPU fp32 masters into the 16-bit CPU partition under offload_param
        (device-to-host through a pageable temporary, converted on the CPU) at this rank's calibrated
        rate; uncalibrated, at the pageable host-to-device rate of the mirror copy."""
        if self.pageable_d2h_bytes_per_s is None:
            return self.pageable_h2d_s(nbytes)
        nbytes = np.asarray(nbytes, float)
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / self.pageable_d2h_bytes_per_s, 0.0)

    def staged_h2d_s(self, nbytes):
        """The runtime's 'device' write-back of CPU fp32 masters into 16-bit GPU partitions (host conversion into
        pinned chunks overlapped with their DMA: runtime/writeback_cast.py upload_into) at the profile's
        staged_h2d_bandwidth_gbps per rank; unmeasured, at the pinned host-to-device rate."""
        rate = self.hw.staged_h2d_bandwidth_gbps
        if rate is None:
            return self.h2d_s(nbytes)
        nbytes = np.asarray(nbytes, float)
        return np.where(nbytes > 0, self.hw.pcie_latency_s + nbytes / (rate * 1e9), 0.0)

    def gpu_adam_s(self, params):
        """GPU Adam step time of `params` fp32 parameters."""
        return np.asarray(params, float) / self.gpu_adam_params_per_s

    def copy_s(self, nbytes):
        """Memory-bound copy traffic (bytes read + written) at the profile's 'copy' kernel rate."""
        return np.asarray(nbytes, float) / self.copy_bytes_per_s

    def zero3_step_copy_s(self, nbytes):
        """ZeRO-3's step passes (bytes read + written) at ZERO3_STEP_PASS_FRACTION of the copy rate."""
        return self.copy_s(nbytes) / ZERO3_STEP_PASS_FRACTION

    def _slowdowns(self, active: np.ndarray) -> np.ndarray:
        """Each channel's slowdown (axis 0: compute, nccl, h2d, d2h) while the `active` ones (same shape,
        bool) run together: the interference table row of their bitmask."""
        weights = (1 << np.arange(len(CHANNELS))).reshape((-1,) + (1,) * (active.ndim - 1))
        return np.moveaxis(self._interference[(active * weights).sum(axis=0)], -1, 0)

    def concurrent_s(self, *channel_times):
        """Each channel's time (compute, nccl, h2d, d2h order) while all the non-zero ones run
        together from start to end: its time alone times its slowdown in that set."""
        rem = np.array(np.broadcast_arrays(*[np.asarray(t, float) for t in channel_times]))
        return rem * self._slowdowns(rem > 0)

    def overlapped_s(self, *channel_times):
        """Wall time of the four channels (compute, nccl, h2d, d2h) run concurrently."""
        rem = np.array(np.broadcast_arrays(*[np.asarray(t, float) for t in channel_times]))
        if not (rem[1:] > 0).any():
            return rem[0].copy()              # compute alone: nothing to interfere with
        shape = rem.shape[1:]
        rem = rem.reshape(len(CHANNELS), -1)
        total = np.zeros(rem.shape[1])
        rows = np.arange(rem.shape[1])        # the strategies with a channel still running
        for _ in CHANNELS:
            active = rem > 0
            live = active.any(axis=0)
            if not live.all():               # drop finished strategies: later segments get cheaper
                rem, active, rows = rem[:, live], active[:, live], rows[live]
            if rows.size == 0:
                break
            slow = self._slowdowns(active)                                  # (4, n)
            seg = np.min(np.where(active, rem * slow, np.inf), axis=0)
            rem = np.where(active, np.maximum(rem - seg / slow, 0.0), 0.0)
            rem[rem < 1e-15] = 0.0
            total[rows] += seg
        return total.reshape(shape)


def _interference_table(hw: HardwareProfile) -> np.ndarray:
    """(16, 4) slowdowns indexed by the bitmask of active channels (1 for inactive ones)."""
    table = np.ones((1 << len(CHANNELS), len(CHANNELS)))
    for mask in range(1 << len(CHANNELS)):
        active = [c for i, c in enumerate(CHANNELS) if mask >> i & 1]
        if len(active) >= 2:
            for channel, slowdown in interference_slowdowns(hw, active).items():
                table[mask, CHANNELS.index(channel)] = slowdown
    return table
