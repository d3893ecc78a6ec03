"""The offloaded optimizer share's update in a mistpipe stage, priced for both of the engine's paths
(runtime/mistpipe/optimizer.py, swapadam.py): `offload_step_s` for cost/mistpipe.py's per-iteration
term, `host_adam_rate` for the cpu_adam path's host side. Pure: numpy only."""

from __future__ import annotations

import numpy as np

from mist_ds.config.executors import MISTPIPE
from mist_ds.cost.memory import ELEM, FP32
from mist_ds.cost.rates import Rates

SWAP_IN_BYTES, SWAP_OUT_BYTES = 4 * FP32, 3 * FP32  # swapadam.py: master, m, v, grad in; master, m, v out
OPTIMIZER_PATH = "gpu_swap"  # the engine's default path for the offloaded share (runtime/mistpipe/engine.py)
# The host side of the cpu_adam path, bench/results/engine/s4_offload/host_step.json (355.8M fp32
# elements per rank, 2 ranks x 16 threads at once, the 32-core H200 host): DeepSpeedCPUAdam 0.343
# ns/element where the profile's one-process 16-thread rate says 0.194 (profiles/h200.json cpu_adam:
# ranks stepping together get 0.566 of it, memory bandwidth), the fp32 -> 16-bit copy 0.106 ns and the
# clip multiply 0.095 ns: 0.31 and 0.28 of Adam's time. (The host norm, 0.323 ns, is gone: optimizer.py.)
HOST_CONCURRENCY, HOST_BF16_PER_ADAM, HOST_CLIP_PER_ADAM = 0.566, 0.31, 0.28


def host_adam_rate(rt: Rates) -> float:
    """DeepSpeedCPUAdam elements/s of one rank under share_host_cores (engine.py: the node's cores
    split among its ranks), all ranks stepping at once (HOST_CONCURRENCY, host_step.json)."""
    samples = sorted(rt.hw.cpu_adam, key=lambda x: x.num_threads)
    threads = max(1, rt.hw.host_cpu_cores // rt.ranks_per_node)
    rate = float(np.interp(threads, [x.num_threads for x in samples], [x.params_per_s for x in samples]))
    return rate * (HOST_CONCURRENCY if rt.ranks_per_node > 1 else 1.0)


def offload_step_s(rt: Rates, n, in_sections, units, path: str | None = None):
    """(step, early d2h) seconds of the offloaded share's update, n elements of which `in_sections`
    come from host gradient sections, over `units` units (optimizer.py, swapadam.py).
    gpu_swap: every tail's fp32 gradient goes d2h while the gradients are reduced (early); the
    step streams 16 B/element in and 12 out (full duplex, double-buffered: the first chunk's load
    exposed), Adam and the clip on the device. cpu_adam: only the host-section tails go early; the
    rest goes d2h after the norm, clipped on the device, unit by unit under the host's work (the
    first unit's copy exposed); the host runs Adam, the 16-bit copy and the clip of the early tails
    (host_step.json ratios), then each unit's 16-bit weights go h2d (the last one exposed).
    `path` None: OPTIMIZER_PATH, the engine's default."""
    path = path or OPTIMIZER_PATH  # read at call time: bench/engine/mistpipe_offload.py prices both
    n, in_sections = np.asarray(n, float), np.asarray(in_sections, float)
    if path == "gpu_swap":
        first = np.minimum(n, MISTPIPE.constants.swap_chunk_elements)
        step = (np.maximum(rt.h2d_s(SWAP_IN_BYTES * n), rt.d2h_s(SWAP_OUT_BYTES * n))
                + rt.h2d_s(SWAP_IN_BYTES * first) + rt.gpu_adam_s(n))
        return np.where(n > 0, step, 0.0), rt.d2h_s(FP32 * n)
    adam = n / host_adam_rate(rt)
    host = adam * (1 + HOST_BF16_PER_ADAM) + in_sections / host_adam_rate(rt) * HOST_CLIP_PER_ADAM
    late = n - in_sections
    step = (np.maximum(host, rt.d2h_s(FP32 * late)) + rt.d2h_s(FP32 * late / units)
            + rt.h2d_s(ELEM * n / units))
    return np.where(n > 0, step, 0.0), rt.d2h_s(FP32 * in_sections)
