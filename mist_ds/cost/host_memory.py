"""Peak resident host memory (RSS) of one rank: the process base plus every host allocation
DeepSpeed 0.19 makes for offload, as the allocator really sizes it (issue 18). Pure numpy over the
compiled terms of cost/memory.py (one term per allocation); no torch.

Allocations (bytes per rank; n = the stage's parameters per TP rank, P = n / dp, r = the offloaded
optimizer ratio; DeepSpeed files under deepspeed/runtime/zero/):
* ZeRO-1/2 optimizer offload (stage_1_and_2.py __init__ / initialize_optimizer_states): the fp32
  master partition (4P, pin_memory), its fp32 gradient (4P, pinned), the 16-bit copy the step
  writes back from (param_buffer_of_bit16_for_cpu_offload_groups, 2P, pinned), the largest-tensor
  staging buffer (temp_grad_buffer_for_cpu_offload, pinned); with gradient accumulation ZeRO-2 also
  keeps a pinned 16-bit copy of every parameter of its partition (accumulated_grads_in_cpu,
  async_accumulate_grad_in_cpu_via_gpu); DeepSpeedCPUAdam's exp_avg / exp_avg_sq (8P, pageable).
* ZeRO-3 optimizer offload (stage3.py): the 16-bit gradient partition of every sub-group on the CPU
  (grad_partitions_flat_buffer, 2P, pinned); a pinned fp32 gradient per CPU sub-group
  (initialize_optimizer_states: subgroup_gradient_buffer, its own sub-group's elements each);
  fp32 master partitions of the CPU sub-groups (_create_fp32_partitions: .to('cpu').clone(),
  pageable, 4rP) and their Adam states (8rP, pageable). offload_param: the 16-bit partitions in one
  pinned flat buffer (_create_param_groups_fp16_flat_cpu_memory, 2P) after each parameter's own
  pinned partition (partition_parameters.py _partition_param) was freed into torch's host cache.
  Without offload_param, defragment (zero/utils.py) copies the 16-bit partitions through a CPU
  buffer once at start-up (2P, pageable, freed before the optimizer states exist). The gradient
  buffer is pinned by copying a pageable one (2P, live while it is copied: _z3_pin_transient); the
  GPU sub-groups' fp32 gradients are pinned first too, and the blocks they free stay in torch's host
  cache unless a later request takes them (cost/shapes.py _pinned_gradient_blocks). Under
  offload_param every step writes each GPU sub-group's fp32 master back to the 16-bit CPU partition
  through a fresh pageable fp32 tensor of the sub-group's size (host_writeback_temp: the largest, 4 B
  per element; cost/work.py pageable_d2h_bytes), on top of the steady state: Qwen3-4B's 389M-element
  embedding group (1.45 GiB) was the 1.63 GiB its S41-3 run exceeded the prediction by.
* Activation offload: the saved tensors of the offloaded blocks (torch save_on_cpu, pinned), the
  blocks' weights among them (cost/memory.py activation_exprs). save_on_cpu's pack hook
  (torch/autograd/graph.py pack_to_cpu) allocates one pinned tensor per save call, sized as the
  saved tensor or view, so a tensor saved by two ops is copied twice, and each is rounded:
  cpu_activations (unique storages) times activation_rounding (cost/activations.py
  pinned_activation_rounding), cpu_packed_weights times packed_weight_rounding (shapes.py
  pinned_weight_rounding). l7-2g-c78-z3-mb1-rc16-act16 (llama-7b, mb 1, seq 4096, 16 blocks):
  per block 603 MiB of activations become 805 MiB pinned (SwiGLU's four 86 MiB tensors 128 MiB
  each, the attention output saved again by the o-projection, RoPE's tables twice) and 386 MiB
  of weights 544 MiB: 21.1 GiB for 16 blocks, as measured (host_pinned_peak_bytes).
* Pinned memory comes from torch's CachingHostAllocator, which rounds every request up to a power
  of two (aten/src/ATen/core/CachingHostAllocator.h) and keeps freed blocks cached; pinned pages are
  resident, so they count in RSS.
Measured on 2xH200 (bench/results/accuracy, host_pinned_peak_bytes): g13-1g-c24-s2048-z1-off1-mb2
pinned 20.25 GiB = 8 + 8 + 4 GiB (4P, 4P, 2P rounded) + 0.25 GiB staging; l7-2g-c40-b4-z1-off1-rc32
40.25 GiB = 16 + 16 + 8 + 0.25.
The process base (Python, torch, CUDA context and libraries, DeepSpeed, NCCL) is the profile's
run-derived host_process_base_bytes.
"""

from __future__ import annotations

import numpy as np

from mist_ds.cost.shapes import pow2_bytes


def _steady_bytes(t: dict[str, np.ndarray]) -> np.ndarray:
    """Offloaded state in host memory: pinned allocations rounded, pageable ones as they are."""
    z12, z3 = t["z1"] + t["z2"], t["z3"]
    pinned = (z12 * (pow2_bytes(t["host_master"]) + pow2_bytes(t["host_fp32_grads"]))
              + pow2_bytes(t["host_bf16_buffer"]) + pow2_bytes(t["host_staging"])
              + np.where(t["host_accumulated"] > 0, t["pinned_accumulated"], 0.0)
              + pow2_bytes(t["host_z3_grads16"])
              + z3 * t["cpu_group_grad_buffers"]
              + np.where(t["host_z3_params16"] > 0,
                         pow2_bytes(t["host_z3_params16"]) + t["pinned_param_partitions"], 0.0))
    pageable = t["host_adam"] + z3 * t["host_master"] + t["host_writeback_temp"]
    return (pinned + pageable + t["cpu_activations"] * t["activation_rounding"]
            + t["cpu_packed_weights"] * t["packed_weight_rounding"])


def _z3_pin_transient(t: dict[str, np.ndarray]) -> np.ndarray:
    """ZeRO-3 optimizer offload's start-up peak (stage3.py _setup_for_real_optimizer): the 16-bit
    gradient buffer is made as zero-filled pageable memory (grad_partitions_flat_buffer, 2P) and only
    then copied into its pinned block, after the CPU sub-groups' fp32 masters and every sub-group's
    pinned fp32 gradient (cpu_group_grad_buffers, cached blocks included) exist and before CPU Adam
    makes its states (cpu_adam.py: at the first step). S27: at ratio 0.125 (Llama 3.2 1B) this is
    above the steady state; at 0.5 and 1 it is 2-15 GiB below it."""
    pinned = (pow2_bytes(t["host_z3_grads16"]) + t["z3"] * t["cpu_group_grad_buffers"]
              + np.where(t["host_z3_params16"] > 0,
                         pow2_bytes(t["host_z3_params16"]) + t["pinned_param_partitions"], 0.0))
    return np.where(t["host_z3_grads16"] > 0, pinned + t["host_master"] + t["host_z3_grads16"], 0.0)


def host_peak_bytes(t: dict[str, np.ndarray], base_bytes: float) -> np.ndarray:
    """Peak RSS of one rank of the stage: base + max(start-up transients, steady offloaded state).

    `t` holds the compiled host terms (cost/memory.py; zero where t['host_rows'] is False: nothing
    offloaded), the ZeRO-stage indicators z1..z3, the CPU optimizer sub-groups' pinned fp32 gradients
    (cpu_group_grad_buffers, cost/shapes.py zero3_sub_groups), the start-up transients
    (host_defragment; ZeRO-3 offload's pinning of its gradient buffer, _z3_pin_transient) and the
    per-tensor pinned sums of the stage (pinned_accumulated, pinned_param_partitions,
    packed_weight_rounding, activation_rounding) from cost/stage.py."""
    if not np.any(t["host_rows"]):
        return base_bytes + t["host_defragment"]
    return base_bytes + np.maximum.reduce([_steady_bytes(t), t["host_defragment"], _z3_pin_transient(t)])
