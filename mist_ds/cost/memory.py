"""Per-GPU memory of one pipeline stage as DeepSpeed 0.19 allocates it (sympy expressions).

Model states, per GPU, with N = the stage's parameters on one TP rank and e = 2 (bf16/fp16):

* 16-bit weights: e*N; ZeRO-3 partitions them (zero/partition_parameters.py) except "persistent"
  parameters below stage3_param_persistence_threshold (norms, biases), which stay whole.
* gradients:
  - ZeRO-0 without pipeline: DeepSpeed wraps the optimizer in FP16_Optimizer (engine.py
    _do_optimizer_sanity_check -> DDP_BFLOAT16/FP16 -> fp16/fused_optimizer.py): 16-bit grads e*N,
    an fp32 master copy 4N and, during step, an fp32 flat gradient 4N;
  - ZeRO-0 bf16 pipeline: BF16_Optimizer (engine.py -> bf16_optimizer.py): 16-bit grads e*N plus a
    full grad-accumulation buffer in the grad-accum dtype (bf16 by default, e*N), fp32 master
    partitioned over DP (4N/dp), and at step the fp32 copy of the grad partition (4N/dp);
  - ZeRO-1 (stage_1_and_2.py, partition_gradients=False): 16-bit grads e*N stay whole until the
    boundary; ZeRO-2: the reduced gradient partition e*N/dp; ZeRO-3 (stage3.py): grad partition
    e*N/dp; all three allocate an fp32 gradient partition 4N/dp in step();
* optimizer states: fp32 master + Adam m, v = 12 bytes per parameter of the partition
  (ZeRO-1/2/3 and BF16_Optimizer partition over DP; FP16_Optimizer does not).
* offload (offload_config.py): the offloaded fraction of fp32 master, moments and fp32 gradient
  partition lives in pinned CPU memory (DeepSpeedCPUAdam); ZeRO-3 offload_param keeps the 16-bit
  partition on CPU.

Buffers: the ipg reduce buckets (stage_1_and_2.py setup_buckets: reduce_bucket_size elements,
two of them with overlap_comm; one with pipeline reduce_gradients; stage3.py: one flat ipg bucket),
ZeRO-3's gathered working set (one block's full parameters plus the prefetch bucket, bounded by
stage3_max_live_parameters), the last stage's logits, and the allocator allowance of the profile.
"""

from __future__ import annotations

import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.cost import activations as act
from mist_ds.cost.shapes import layer_shapes
from mist_ds.cost.symbols import (BF, HC, HD, PP, RP, Z0, Z1, Z2, Z3, E, L, b, dp, k, maximum,
                                  minimum, oa, og, oo, ow, r, tp, VS)
from mist_ds.emit.ds_config import (REDUCE_BUCKET_ELEMENTS, STAGE3_MAX_LIVE_PARAMETERS,
                                    STAGE3_PREFETCH_ELEMENTS)

ELEM = 2          # bytes of a bf16 / fp16 element
MASTER_ADAM = 12  # fp32 master weight + Adam exp_avg + exp_avg_sq, bytes per parameter
FP32 = 4


def stage_params(model: ModelSpec):
    """Parameters of the stage on one TP rank (before ZeRO), and the ZeRO-3-persistent part."""
    shapes = layer_shapes(model)
    per_layer = shapes.sharded_params / tp + shapes.replicated_params
    positions = model.max_seq_len * model.hidden_size if model.position_embedding == "learned" else 0
    embedding = VS * model.hidden_size + positions
    head = model.norm_params + HC * VS * model.hidden_size
    total = L * per_layer + E * embedding + HD * head
    # params at or below stage3_param_persistence_threshold (1e5) are not partitioned: the
    # replicated norms/biases of every block and the final norm (stage3.py persistent params)
    persistent = L * shapes.replicated_params + HD * model.norm_params
    return total, persistent, per_layer, embedding, head


def model_state_exprs(model: ModelSpec) -> dict[str, sp.Expr]:
    """weights, gradients, optimizer states and the step-time fp32 gradient partition, bytes."""
    n, persistent, per_layer, embedding, head = stage_params(model)
    fp = Z0 - BF                                     # FP16_Optimizer: nothing partitioned
    shard = fp + (1 - fp) / dp                       # share of optimizer state a rank owns
    weights = ELEM * ((1 - Z3) * n + Z3 * ((n - persistent) / dp * (1 - ow) + persistent))
    grads = ELEM * (fp * n + BF * 2 * n + Z1 * n + (Z2 + Z3) * n / dp * (1 - og))
    optimizer = MASTER_ADAM * n * shard * (1 - oo)
    step_grad = FP32 * n * shard * (1 - oo)
    gathered = Z3 * ELEM * minimum(maximum(per_layer, maximum(E * embedding, HD * head))
                                   + STAGE3_PREFETCH_ELEMENTS, STAGE3_MAX_LIVE_PARAMETERS)
    buckets = ELEM * REDUCE_BUCKET_ELEMENTS * ((Z1 + Z2) * (2 - PP) + Z3)
    cpu = (FP32 + MASTER_ADAM) * n * shard * oo + Z3 * ELEM * (n - persistent) / dp * ow \
        + ELEM * (Z2 + Z3) * n / dp * og
    return {"weights": weights, "gradients": grads, "optimizer": optimizer,
            "step_grad": step_grad, "gathered": gathered, "buckets": buckets, "cpu_states": cpu,
            "params": n}


def activation_exprs(model: ModelSpec, seq_len: int, attention: act.Attention) -> dict[str, sp.Expr]:
    """Saved activations of k in-flight micro-batches, the working set, and logits, bytes.

    Recompute keeps only the input of the first r blocks (plus one block's activations while it is
    recomputed, RP); offload moves the fraction oa of saved activations to CPU memory.
    1F1B in-flight count k: Narayanan et al. 2021 (PipeDream-Flush), stage i of S holds S - i.
    """
    full = act.layer_saved_bytes(model, seq_len, attention, ELEM)
    ckpt = act.checkpoint_saved_bytes(model, seq_len, ELEM)
    saved = (L - r) * full + r * ckpt + E * act.embedding_saved_bytes(seq_len) \
        + HD * act.head_saved_bytes(model, seq_len, ELEM)
    # pipeline engine: one input and one output buffer (b, s, h) per in-flight micro-batch
    # (deepspeed/runtime/pipe/engine.py _reserve_pipe_buffers); the input is the first block's
    # saved input, so only the outputs add.
    p2p = PP * k * ELEM * b * seq_len * model.hidden_size
    working = RP * full + act.layer_transient_bytes(model, seq_len, ELEM)
    gpu_saved = k * saved * (1 - oa)
    return {"activations": gpu_saved + working + p2p, "cpu_activations": k * saved * oa,
            "saved_per_microbatch": saved, "logits": HD * act.logits_bytes(seq_len, ELEM),
            "layer_saved": full}
