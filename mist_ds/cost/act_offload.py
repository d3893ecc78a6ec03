"""Time of the stock executor's activation offload: the na blocks after the recomputed ones keep
their saved tensors in pinned host memory (runtime/model.py OffloadedBlock, block_roles), copied
out in forward by a pack hook and back in backward by an unpack hook. How the pack copies is a
parameter, `copy` (config/run_report.py ActOffloadCopy, RunReport.activation_offload_copy):

* 'non_blocking' (COPY_DEFAULT: the runtime since runtime/host_saves.py save_on_host, on every
  torch; torch >= 2.13's save_on_cpu, pytorch/pytorch PR 175421, torch/autograd/graph.py
  pack_to_cpu `packed.copy_(tensor, non_blocking=is_pinnable)`): the copy is queued on the compute
  stream, serial with the block's kernels on the GPU, and the host runs on. The forward is then
  host_overlap's max(GPU + copies out, host + packs): no serialisation.
* 'blocking' (torch < 2.13's save_on_cpu, which the runs before the record used: every committed
  RunReport.torch_version is 2.11.0, bench/results/accuracy/*.run.json; conditions.py
  act_offload_copy_of): pack_to_cpu copies with `packed.copy_(tensor)`, WITHOUT non_blocking. A
  blocking device-to-host copy runs at::cuda::memcpy_and_sync on the current stream
  (aten/src/ATen/native/cuda/Copy.cu copy_kernel_cuda): the host thread waits until the compute
  stream has run everything queued before the copy and the copy itself. Almost every op of the
  block saves a tensor (cost/activations.py block_saves: 20 activation saves and 6 weights for a
  Llama block), so inside an offloaded block's forward the host never runs ahead of the GPU: its
  launch and hook work, the block's kernels and the copies run one after another
  (serialized_forward; bench/accuracy/ACT_OFFLOAD.md).

What both modes share (torch 2.11 and 2.13 save_on_cpu, runtime/host_saves.py):
* one pack per save call of the block's forward (every tensor autograd saves, the gathered weights
  of ZeRO-3 among them; a view or a tensor saved before is copied again): `torch.empty(tensor.size(),
  pin_memory=True)` and a copy into it; each pack is one more op on the forward's host path;
* unpack, on first use of a saved tensor in backward (inside the block's backward, not
  prefetched): `tensor.to(device, non_blocking=True)` from the pinned copy: asynchronous for the
  host, but on the current (compute) stream, so the copy is serial with the backward's kernels;
* the pinned buffers come from torch's CachingHostAllocator (aten/src/ATen/core/
  CachingHostAllocator.h allocate: PowerOf2Ceil size, free list per size, blocks cached when freed,
  reused once the copies' recorded events complete), so after the first step no micro-batch pays
  cudaHostAlloc: the measured pinned peak of l7-2g-c78-z3-mb1-rc16-act16 (21.07 GiB per rank,
  RunReport.host_pinned_peak_bytes) is one micro-batch's rounded set (cost/host_memory.py), not a
  growing one. The copies run at the profile's pinned rates measured with all GPUs copying at once
  (config/hardware.py d2h_bandwidth_gbps, h2d_bandwidth_gbps; mist_ds/profile/comm.py copies).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mist_ds.config import ModelSpec
from mist_ds.cost.activations import Attention, block_saves, per_tp, stored_bytes
from mist_ds.cost.shapes import saved_weight_numels

COPY_MODES = ("blocking", "non_blocking")
"""The pack's copy modes (config/run_report.py ActOffloadCopy)."""
COPY_DEFAULT = "non_blocking"
"""The mode the runtime packs with (runtime/host_saves.py COPY_MODE): what the search and predict cost."""


def check_copy_mode(copy: str) -> str:
    """`copy` if it names a COPY_MODES entry, else ValueError."""
    if copy not in COPY_MODES:
        raise ValueError(f"activation offload copy must be one of {', '.join(COPY_MODES)}, not {copy!r}")
    return copy


def save_calls(model: ModelSpec, seq_len: int, attention: Attention, micro_batch, tp,
               activation_kernel: Callable[[int], str],
               rope_kernel: Callable[[int], str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(save calls per block, bytes copied per stored byte) of one offloaded block on one TP rank,
    vectorised over arrays of micro-batch size and tp. Calls: the block's activation saves
    (activations.block_saves) plus its saved weights (shapes.saved_weight_numels), one pack each.
    Copied bytes: pack_to_cpu copies every call, a VIEW or SAME save again too (the o-projection's
    input, RoPE's tables for k), over the NEW bytes cost/memory.py offloaded_per_microbatch counts
    (activations.stored_bytes); the weights' bytes are counted once per call there already.
    `activation_kernel(tp)` / `rope_kernel(tp)`: the SwiGLU / RoPE implementation that runs at that tp
    (cost/kernel_set.py; rope None: 'torch')."""
    mb, tp = np.broadcast_arrays(np.asarray(micro_batch, np.int64), np.asarray(tp, np.int64))
    pairs, inverse = np.unique(np.stack([mb.ravel(), tp.ravel()], axis=1), axis=0, return_inverse=True)
    calls, ratio = np.zeros(len(pairs)), np.ones(len(pairs))
    for i, (batch, t) in enumerate(pairs.tolist()):
        saves = block_saves(model, seq_len, attention, 2, "cuda", activation_kernel(t), tp=t,
                            rope_kernel=per_tp(rope_kernel)(t))
        calls[i] = len(saves) + len(saved_weight_numels(model, t))
        stored = float(stored_bytes(saves, batch * seq_len))
        if stored > 0:
            ratio[i] = sum(float(s.nbytes(batch * seq_len)) for s in saves) / stored
    inverse = inverse.ravel()
    return calls[inverse].reshape(mb.shape), ratio[inverse].reshape(mb.shape)


def serialized_forward(gpu_forward, host_forward, serial_gpu, serial_host, host_share, d2h):
    """Wall time of a micro-batch's forward whose offloaded blocks block the host on every pack.

    The blocks that are not offloaded overlap as every pass does (cost/host_overlap.py):
    max(GPU, host) of what is left of the pass. The offloaded blocks add their GPU work
    (`serial_gpu`), their host work (`serial_host`) and the device-to-host copies (`d2h`) one after
    another (module docstring: memcpy_and_sync drains the compute stream at every save call).
    `host_share` is the part of `host_forward` the offloaded blocks' own passes take (`serial_host`
    holds it and the packs). With nothing offloaded (all zero) this is max(gpu_forward, host_forward)."""
    rest = np.maximum(gpu_forward - serial_gpu, host_forward - host_share)
    return rest + serial_gpu + serial_host + d2h


def offload_copies(model: ModelSpec, seq_len: int, attention: Attention, kernels, rates, t, b, tp) -> dict:
    """The offloaded blocks' copies per micro-batch, seconds: act_d2h_mb (forward), act_h2d_mb
    (backward), and act_calls (save calls per block, save_calls). One pinned copy per save call,
    each paying the link's latency (cost/rates.py d2h_s / h2d_s): calls x latency + bytes / rate.
    `kernels`: the stage model's KernelChoice; `t`: its terms (num_offloaded, layer_saved and
    offloaded_per_microbatch, cost/memory.py activation_exprs); all zero where nothing is offloaded."""
    na = t["num_offloaded"]
    calls, ratio = np.zeros(np.shape(na)), np.ones(np.shape(na))
    if np.any(na > 0):
        calls, ratio = save_calls(model, seq_len, attention, b, tp, lambda v: kernels.at(v).activation,
                                  lambda v: kernels.at(v).rope)
    act = na * t["layer_saved"]   # the NEW bytes; the rest of offloaded_per_microbatch is the weights
    copied, n = act * ratio + (t["offloaded_per_microbatch"] - act), na * calls
    per_call = copied / np.maximum(n, 1.0)
    return {"act_calls": calls, "act_d2h_mb": np.where(n > 0, n * rates.d2h_s(per_call), 0.0),
            "act_h2d_mb": np.where(n > 0, n * rates.h2d_s(per_call), 0.0)}


def pack_host_s(z3, launches, hw):
    """Host seconds of one pack (or unpack): one more eager op of the block's pass, priced as the
    stock model prices the pass's own launches (cost/stage_time.py host_parts, config/hardware.py):
    under ZeRO-3 each launch on the host path costs host_launch_overhead_s; without ZeRO-3 a whole
    pass costs host_layer_overhead_s, i.e. host_layer_overhead_s / `launches` (the pass's host launches,
    layer_time.host_launches) per launch. A pack runs no module hooks, so it is a launch of the
    pass and nothing more."""
    return z3 * hw.host_launch_overhead_s + (1.0 - z3) * hw.host_layer_overhead_s / np.maximum(launches, 1.0)


def pass_walls(t, p, launches, gpu_f, gpu_b, host_f, host_b, hw, copy: str = COPY_DEFAULT):
    """(forward, backward, pack host work) of one micro-batch, seconds, per pass as cost/stage_time.py
    host_parts gives host_overlap them, with activation offload's copies priced for the pack's `copy` mode.

    Forward, 'non_blocking': max(GPU + copies out (act_d2h_mb), host + packs): the copies queue on
    the compute stream behind the block's kernels and the host runs ahead as in any pass.
    Forward, 'blocking': serialized_forward with the na offloaded blocks' kernels (blocks_fwd_mb / L
    each), their host work and the copies out: their share of the forward host path `host_f` (the
    per-pass work; under ZeRO-3 also the fetch hooks, launches and gathers) and the packs.
    Packs: act_calls per block, pack_host_s each, in both modes. Backward (both modes): the copies
    back are GPU time (gpu_b holds act_h2d_mb); each unpack's `.to` is one more op on the backward
    host path. `launches`: (forward, backward) host launches of one block pass. The third value
    (act_host_mb) is the packs' and unpacks' host time; everything is zero without offload."""
    na, z3, calls = t["num_offloaded"], t["z3"], p["act_calls"]
    packs = na * calls * pack_host_s(z3, launches[0], hw)
    unpacks = na * calls * pack_host_s(z3, launches[1], hw)
    if check_copy_mode(copy) == "blocking":
        share = host_f * na / np.maximum(t["num_layers"], 1.0)
        forward = serialized_forward(gpu_f, host_f, na * p["blocks_fwd_mb"] / np.maximum(t["num_layers"], 1.0),
                                     share + packs, share, p["act_d2h_mb"])
    else:
        forward = np.maximum(gpu_f + p["act_d2h_mb"], host_f + packs)
    return forward, np.maximum(gpu_b, host_b + unpacks), packs + unpacks
