"""What ZeRO-3's replacement of torch.nn.functional.linear adds to a block's forward: the bias of a
biased column-parallel linear becomes a kernel of its own (GPU time; one more launch, not priced).

DeepSpeed 0.19.8: zero.Init (partition_parameters.py Init.__init__ / patch_init_and_builtins ->
_enable_mem_efficient_linear), and the engine's own conversion of a model built without it
(parameter_offload.py _convert_to_zero_parameters -> Init(module=...)), replace
`torch.nn.functional.linear` by zero3_linear_wrap for the rest of the process while the ZeRO config's
`memory_efficient_linear` is True (zero/config.py, default; emit/ds_config.py leaves it). Its
LinearFunctionForZeroStage3.forward (zero/linear.py) uses the fused addmm only for 2-D inputs; the
runtime's (b, s, h) activations take `output = input.matmul(weight.t()); output += bias`, so the bias
is an in-place add over the whole output, with a broadcast operand, where torch's own F.linear
folds a contiguous 3-D input into addmm and the bias rides the GEMM epilogue (at::linear,
_flatten_nd_linear). The backward is unchanged (the same two GEMMs and the dY sum of the bias).

Which linears: those that pass their bias into F.linear, the column-parallel ones (runtime/tp.py
ParallelLinear mode 'column', FusedColumnLinear): q|k|v (linear_bias or qkv_bias) and the MLP's up
or gate|up (linear_bias). Row-parallel linears add their bias themselves after the all-reduce
(`out + self.bias`), which cost/layer_time.py counts at every ZeRO stage.

Rate: the add with a broadcast operand runs TensorIterator's non-vectorized kernel
(`elementwise_kernel<128, 4, gpu_kernel_impl_nocast<CUDAFunctor_add<BFloat16>>>` right after the
qkv and up GEMMs in the profiled ZeRO-3 steps bench/results/accuracy/traces/g27-z3-rc24 and g13-z3),
so its read + write of the output run at layer_time.NONVECTORIZED_FRACTION of the profile's 'add'
rate (fitted on a micro-benchmark, no accuracy run; bench/accuracy/ZERO3_DP1.md compares it with
those traces). Recomputed forwards run it again (they are forwards: the caller charges them as such).

Host side: each add is one more launch of the forward (layer_time.block_launches does not count it),
but it is not added to the ZeRO-3 host path. host_launch_overhead_s is a fitted average over a
pass's whole host work, which the module hooks dominate, not the price of one aten op inside an
autograd Function; and the GPT traces hold 17 (g13-z3: two GEMMs without cuBLASLt's workspace
memset) and 19 (g27-z3-rc24) launches per forward block against block_launches' 17, so the count
the calibration saw stays within what the traces show.
"""

from __future__ import annotations

import numpy as np

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.hw_lookup import memory_kernel_gbps
from mist_ds.cost.layer_time import ELEM, NONVECTORIZED_FRACTION


def biased_column_widths(model: ModelSpec) -> tuple[int, int]:
    """(biased column-parallel linears of one block, their summed output width before TP)."""
    qkv = model.q_dim + 2 * model.kv_dim if (model.linear_bias or model.qkv_bias) else 0
    up = ((2 if model.activation == "swiglu" else 1) * model.ffn_hidden_size) if model.linear_bias else 0
    return int(qkv > 0) + int(up > 0), qkv + up


def bias_add_forward_s(hw: HardwareProfile, model: ModelSpec, seq_len: int, micro_batch, tp) -> np.ndarray:
    """Seconds of one block forward's bias adds under ZeRO-3 on one TP rank: read and write each
    biased column-parallel output (micro_batch * seq_len tokens, width / tp) once, non-vectorized."""
    width = biased_column_widths(model)[1]
    nbytes = 2 * ELEM * np.asarray(micro_batch, float) * seq_len * width / np.asarray(tp, float)
    return nbytes / (memory_kernel_gbps(hw, "add") * 1e9 * NONVECTORIZED_FRACTION)
