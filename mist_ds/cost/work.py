"""Work of one micro-batch / one iteration of a stage, per GPU (sympy): FLOPs, memory traffic,
collective volumes and host<->device bytes. Hardware turns these into seconds (cost/timing.py).

Sources:
* matmul FLOPs: 2*m*n*k per GEMM; backward = 2x forward (Narayanan et al. 2021, "Efficient
  Large-Scale Language Model Training on GPU Clusters", eq. 2 and its derivation);
* causal attention: 4*b*s^2*h forward for QK^T and PV, halved by causal masking in flash kernels
  (Dao 2023, FlashAttention-2, section 4.1 FLOP accounting); backward 2.5x forward (5 GEMMs vs 2);
* TP collectives: this runtime's layout (runtime/tp.py): every row-parallel linear all-reduces its
  (b, s, h) output in forward; every column-parallel linear all-reduces its input gradient in
  backward (one per linear: q, k, v, up [, gate]); recompute repeats the forward ones;
* DP: ZeRO-0 all-reduces 16-bit gradients once per step (engine.py allreduce_gradients);
  ZeRO-1/2 reduce-scatter gradients (stage_1_and_2.py average_tensor) then all-gather updated
  16-bit partitions after step (all_gather_dp_groups); ZeRO-2 reduces every micro-batch, ZeRO-1 at
  the boundary; ZeRO-3 all-gathers parameters in forward and backward of every micro-batch and
  reduce-scatters gradients every micro-batch (stage3.py, partitioned_param_coordinator.py);
* offload: optimizer offload moves the fp32 gradient partition to the CPU and the updated fp32
  partition back (stage_1_and_2.py async_inplace_copy_grad_to_fp32_buffer / step; stage3.py
  _optimizer_step); ZeRO-3 offload_param copies the 16-bit partition in for every gather;
  activation offload moves oa of the saved bytes out in forward and back in backward.
"""

from __future__ import annotations

import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.cost.memory import ELEM, FP32, stage_params
from mist_ds.cost.shapes import layer_shapes
from mist_ds.cost.symbols import BF, HD, Z0, Z1, Z2, Z3, E, L, b, dp, oo, ow, r, tp, VS

ADAM_BYTES_PER_PARAM = 4 * 4 + 3 * 4 + ELEM  # read p, g, m, v; write p, m, v (fp32); write 16-bit p


def compute_exprs(model: ModelSpec, seq_len: int, causal_factor: float) -> dict[str, sp.Expr]:
    """Forward FLOPs (matmul, attention) and elementwise bytes of one micro-batch."""
    shapes = layer_shapes(model)
    h, f, s = model.hidden_size, model.ffn_hidden_size, seq_len
    bs = b * s
    layer_mm = 2 * bs * shapes.matmul_params / tp
    layer_attn = 4 * bs * s * h / tp * causal_factor
    # elementwise traffic (read + write, elements): 2 norms, 2 residual adds, activation,
    # RoPE on q and k, attention-output relayout; Korthikanti's accounting of non-GEMM ops
    act_elems = (3 if model.activation == "gelu" else 5) * f / tp
    rope = 6 * (h + model.kv_dim) / tp if model.position_embedding == "rope" else 0
    layer_elt = ELEM * bs * (4 * h + 6 * h + 2 * h / tp + act_elems + rope)
    head_mm = 2 * bs * h * VS
    head_elt = (ELEM + 3 * FP32) * bs * VS          # upcast, log-softmax (read+write), loss
    return {
        "mm_flops": L * layer_mm + HD * head_mm,
        "attn_flops": L * layer_attn,
        "elt_bytes": L * layer_elt + HD * head_elt + E * 2 * ELEM * bs * h,
        "re_mm_flops": r * layer_mm,
        "re_attn_flops": r * layer_attn,
        "re_elt_bytes": r * layer_elt,
    }


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
        # per micro-batch (ZeRO-2/3): gradient reduce-scatter, ZeRO-3 gathers (fwd + bwd)
        "dp_rs_mb_bytes": (Z2 + Z3) * grad_bytes,
        "dp_ag_mb_bytes": Z3 * 2 * grad_bytes,
        # once per step: ZeRO-0 all-reduce, ZeRO-1 reduce-scatter, ZeRO-1/2 param all-gather;
        # BF16_Optimizer (ZeRO-0 bf16 pipeline) all-reduces grads and all-gathers params
        "dp_ar_step_bytes": Z0 * grad_bytes,
        "dp_rs_step_bytes": Z1 * grad_bytes,
        "dp_ag_step_bytes": (Z1 + Z2 + BF) * grad_bytes,
        # host<->device
        "h2d_mb_bytes": Z3 * ow * 2 * ELEM * (n / dp),
        "opt_d2h_bytes": FP32 * n * shard * oo,
        "opt_h2d_bytes": FP32 * n * shard * oo,
        # optimizer work (parameters updated on GPU / CPU)
        "gpu_adam_bytes": ADAM_BYTES_PER_PARAM * n * shard * (1 - oo),
        "cpu_adam_params": n * shard * oo,
    }
