"""Communication of one micro-batch / one iteration of a stage, per GPU (sympy): collective
volumes, host<->device bytes and optimizer work. Hardware turns these into seconds
(cost/timing.py); compute time comes from the profile's kernel grid (cost/layer_time.py).

Sources:
* TP collectives: this runtime's layout (runtime/tp.py): every row-parallel linear all-reduces its
  (b, s, h) output in forward; every column-parallel linear all-reduces its input gradient in
  backward (one per linear: q, k, v, up [, gate]); recompute repeats the forward ones;
* DP: ZeRO-0 all-reduces 16-bit gradients once per step (engine.py allreduce_gradients);
  ZeRO-1/2 reduce-scatter gradients (stage_1_and_2.py average_tensor) every micro-batch (0.19;
  a pipeline's ZeRO-1 once per step) then all-gather updated 16-bit partitions after step
  (all_gather_dp_groups); ZeRO-3 all-gathers parameters in forward and backward of every micro-batch and
  reduce-scatters gradients every micro-batch (stage3.py, partitioned_param_coordinator.py);
* offload: optimizer offload moves the fp32 gradient partition to the CPU and the updated fp32
  partition back (stage_1_and_2.py async_inplace_copy_grad_to_fp32_buffer / step; stage3.py
  _optimizer_step); ZeRO-3 offload_param copies the 16-bit partition in for every gather;
  activation offload moves the saved bytes of na blocks out in forward and back in backward.
"""

from __future__ import annotations

import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.cost.memory import ELEM, FP32, stage_params
from mist_ds.cost.shapes import layer_shapes
from mist_ds.cost.symbols import BF, HD, OF, PP, Z0, Z1, Z2, Z3, E, L, b, dp, oo, ow, r


def comm_exprs(model: ModelSpec, seq_len: int) -> dict[str, sp.Expr]:
    """Collective and host<->device volumes (bytes of the full buffer, nccl-tests convention)."""
    shapes = layer_shapes(model)
    act_bytes = ELEM * b * seq_len * model.hidden_size
    n = stage_params(model)[0]
    grad_bytes = ELEM * n
    fp = Z0 - BF
    shard = fp + (1 - fp) / dp
    return {
        # per micro-batch, TP all-reduces of (b, s, h): count and size
        "tp_ar_count": (L * (shapes.num_row_linears + shapes.num_column_linears)
                        + r * shapes.num_row_linears + E + HD),
        "tp_ar_bytes": act_bytes,
        # per micro-batch (ZeRO-1/2 without pipeline, ZeRO-3): gradient reduce-scatter
        # (stage_1_and_2.py 0.19 reduces every micro-batch into the partition, measured in
        # tests/cost/test_deepspeed_states.py); ZeRO-3 gathers (fwd + bwd)
        "dp_rs_mb_bytes": (Z1 * (1 - PP) + Z2 + Z3) * grad_bytes,
        "dp_ag_mb_bytes": Z3 * 2 * grad_bytes,
        # once per step: ZeRO-0 all-reduce (engine.allreduce_gradients; BF16_Optimizer too),
        # pipelined ZeRO-1 reduce (pipe/engine.py _exec_reduce_grads -> reduce_gradients),
        # ZeRO-1/2 and BF16_Optimizer all-gather of the updated 16-bit partitions
        "dp_ar_step_bytes": Z0 * grad_bytes,
        "dp_rs_step_bytes": Z1 * PP * grad_bytes,
        "dp_ag_step_bytes": (Z1 + Z2 + BF) * grad_bytes,
        # ZeRO-3 submodule fetches per micro-batch (forward, backward, and the recomputed
        # forward of checkpointed blocks): every module with parameters of runtime/blocks.py
        # (2 norms + the linears), the embedding, and the final norm + head
        "z3_fetches": Z3 * ((2 * L + r) * (2 + shapes.num_column_linears + shapes.num_row_linears)
                            + 2 * E + 4 * HD),
        # host<->device
        "h2d_mb_bytes": Z3 * ow * 2 * ELEM * (n / dp),
        "opt_d2h_bytes": FP32 * n * shard * oo,
        "opt_h2d_bytes": FP32 * n * shard * oo,
        # memory-bound DeepSpeed passes outside the model (bytes read + written), GPU side:
        # per micro-batch, ZeRO-1/2 copy every fresh gradient into the ipg bucket (read 2 + write
        # 2 per element) and accumulate the reduced slice into the partition (read 4 + write 2 per
        # partition element) (stage_1_and_2.py reduce_independent_p_g_buckets_and_remove_grads,
        # copy_grads_in_partition); per step, ZeRO-1/2 flatten + upcast the partition (2+2, 2+4),
        # clip (norm read 4, scale read 4 + write 4) and copy the updated fp32 partition back to
        # 16 bits (4+2) (stage_1_and_2.py step, unscale_and_clip_grads); FP16_Optimizer /
        # BF16_Optimizer flatten + upcast, clip and copy back the same way (fp16/fused_optimizer.py
        # step, bf16_optimizer.py step); ZeRO-3 clips and copies back (stage3.py _optimizer_step)
        "mb_copy_bytes": (Z1 * (1 - PP) + Z2) * (1 - OF) * (4 * n + 6 * n / dp),
        "step_copy_bytes": (((Z1 + Z2 + fp) * 28 * n * shard + BF * 28 * n / dp)
                            + Z3 * 18 * n / dp) * (1 - OF),
        # optimizer work (parameters updated on GPU / CPU)
        "gpu_adam_params": n * shard * (1 - oo),
        "cpu_adam_params": n * shard * oo,
    }
