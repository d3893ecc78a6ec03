"""How a micro-batch's host thread and GPU work overlap: the stock DeepSpeed model's rule
(cost/stage_time.py), which the mistpipe model (cost/mistpipe.py) and activation offload
(cost/act_offload.py) reuse."""

from __future__ import annotations

import numpy as np


def host_overlap(gpu_forward, gpu_backward, host_forward, host_backward):
    """Wall time of one micro-batch whose host thread and GPU work overlap, per pass:
    max(GPU, host) of the forward plus that of the backward (with its recomputed forwards).

    The host thread (DeepSpeed's hooks, launches, offload_param's blocking copies) runs ahead of
    the GPU while kernels are queued, so its time shows only where it exceeds the GPU's. Measured:
    the profiled ZeRO-3 + recompute step bench/results/runtime/parity/traces/zero3-rc.mist.rank0
    .trace.json.gz (llama-7b, 2x H200, mb 2, ga 2) has 10.6 ms of GPU idle in its micro-batches
    while the former model added 556 ms of host time to the GPU's (bench/accuracy/trace_compare.py).
    Per pass, not per micro-batch: the host cannot run a whole pass ahead (ZeRO-3 holds at most
    two fetch events in flight, partitioned_param_coordinator.py __max_ongoing_fetch_events, and
    its all-gathers queue behind the backward's reduce-scatters on the process group's NCCL
    stream), so a light forward cannot hide a heavy backward's host work.

    The per-micro-batch host work (hw.host_microbatch_overhead_s, a ZeRO-3 stage's hw.zero3_microbatch_s:
    engine forward/backward/step bookkeeping, the next batch's start) is added outside the max, as are the per-step
    terms: every backward ends in a host wait that drains the GPU queue, so nothing queued is left to hide it.
    DeepSpeed 0.19.8: engine.backward -> _backward_epilogue -> the optimizer's
    independent_gradient_partition_epilogue, which under ZeRO-3 runs
    reduce_and_partition_stream.synchronize() (zero/stage3.py, that stream waits on the compute
    stream before each bucket) and under ZeRO-1/2 with overlap_comm get_accelerator().synchronize()
    (zero/stage_1_and_2.py); the pipeline engine exchanges activations and gradients by blocking
    p2p.send / p2p.recv (pipe/p2p.py, async_op asserted False) once per micro-batch and stage.
    offload_param's `ds_tensor.to(device)` waits only on the allgather stream (memcpy_and_sync of
    that stream), not on the compute queue, so it stays on the overlapping side."""
    return np.maximum(gpu_forward, host_forward) + np.maximum(gpu_backward, host_backward)
