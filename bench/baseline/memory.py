"""Per-GPU memory estimate of a baseline grid point (bench/baseline/grid.py), from published formulas only.

Independent of mist_ds's cost model by design (the baseline must share no code or numbers with
mist_ds/cost): model states follow DeepSpeed's autotuner, activations Korthikanti et al. 2022, the
LM-head loss Hugging Face's ForCausalLMLoss. The grid skips a point whose estimate exceeds
SAFETY_FACTOR x the cap; the factor is derived from the committed baseline runs (see its docstring).
"""

from __future__ import annotations

SAFETY_FACTOR = 1.10
"""A point without checkpointing is skipped when model_states_bytes + activation_bytes > SAFETY_FACTOR x cap
(grid.py skip_reason: checkpointed points are never pruned on the estimate). Derived from the
committed baseline runs (bench/results/baseline/<workload>/*.json, 10 ok and 8 out-of-memory points on
H200 at a 78 GiB cap, tests/bench/test_baseline_memory.py recomputes all of this): the estimate over the
cap is at most 1.054 for an ok point (gpt6.7b-2g-c78 z1-mb2-ckpt: 82.2 GiB estimated, 74.7 GiB measured)
and at least 1.119 for an OOM point (llama7b-2g-c78 z1-mb4-ckpt). 1.10 keeps the tightest ok point 4.4%
(3.6 GiB) below the threshold; every committed OOM point is above it (the 7 without checkpointing are
skipped). The estimate overshoots because ZeRO-1/2's states peak (optimizer step) and the activation peak
(start of backward) are not simultaneous, and the autotuner's 16 B/parameter optimizer term is an upper bound."""


def model_states_bytes(params: int, zero: int, dp: int, offload: bool) -> float:
    """DeepSpeed autotuner's per-GPU model-state estimate for 16-bit training with Adam (deepspeed/autotuning/
    autotuner.py get_instantiation_memory_required_per_gpu, fp16 branch): 2 B weights, 2 B gradients, 16 B
    optimizer per parameter, divided by dp from ZeRO stage 3/2/1 on; with optimizer offload the optimizer
    bytes leave the GPU."""
    weights, grads, optim = 2.0 * params, 2.0 * params, (0.0 if offload else 16.0 * params)
    if zero >= 1:
        optim /= dp
    if zero >= 2:
        grads /= dp
    if zero >= 3:
        weights /= dp
    return weights + grads + optim


def layer_activation_bytes(seq: int, batch: int, hidden: int, heads: int, flash: bool = True) -> float:
    """Activations one transformer layer stores for backward, 16-bit: s*b*h*(34 + 5*a*s/h) bytes
    (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
    arXiv:2205.05198, Sec. 4.1, eq. 1: attention 11sbh + 5as^2b, MLP 19sbh, two norms 4sbh). The 5as/h
    term (the s x s softmax output, its dropout mask and dropout output) is never stored by memory-efficient
    / flash attention (Dao et al. 2022, FlashAttention), which torch SDPA dispatches to for bf16: flash=True
    drops it, leaving the 34sbh of the paper's selective recomputation (Sec. 5)."""
    per_token = 34.0 + (5.0 * heads * seq / hidden if not flash else 0.0)
    return seq * batch * hidden * per_token


def loss_bytes(seq: int, batch: int, vocab: int) -> float:
    """Peak of the LM-head loss: 12*s*b*V bytes. transformers (5.x) loss/loss_utils.py ForCausalLMLoss upcasts
    the 16-bit logits with `logits.float()` and calls torch cross_entropy = log_softmax (saves its fp32
    output, 4sbV) + nll_loss; the backward of the loss then holds the saved fp32 log-probabilities, their
    fp32 gradient (nll_loss backward, 4sbV) and the fp32 gradient of the logits (log_softmax backward,
    4sbV) at once. (The forward holds 2sbV 16-bit logits + 4sbV fp32 copy + 4sbV log-probabilities = 10sbV,
    less.)"""
    return 12.0 * seq * batch * vocab


def activation_bytes(seq: int, batch: int, hidden: int, heads: int, layers: int, vocab: int,
                     checkpointing: bool, flash: bool = True) -> float:
    """Activation memory of one micro-batch at the start of backward. Without checkpointing every layer's
    layer_activation_bytes; with full (HF gradient) checkpointing only each layer's 16-bit input, 2sbh per
    layer (Korthikanti et al. 2022, Sec. 5: 2sbhL), plus one layer's recomputed activations. Plus loss_bytes
    in both cases (summed, an upper bound: the loss backward precedes the first recompute)."""
    layer = layer_activation_bytes(seq, batch, hidden, heads, flash)
    stored = layers * 2.0 * seq * batch * hidden + layer if checkpointing else layers * layer
    return stored + loss_bytes(seq, batch, vocab)


def estimate_bytes(spec, seq: int, micro_batch: int, zero: int, dp: int, checkpointing: bool,
                   offload: bool) -> float:
    """model_states_bytes + activation_bytes of a grid point (spec: a mist_ds ModelSpec, for its shape only)."""
    states = model_states_bytes(spec.num_params, zero, dp, offload)
    return states + activation_bytes(seq, micro_batch, spec.hidden_size, spec.num_heads, spec.num_layers,
                                     spec.vocab_size, checkpointing)


FORMULA = ("DeepSpeed autotuner model states + Korthikanti et al. 2022 activations sbh*34 per layer "
           "(flash attention; 2sbh per layer + one layer with checkpointing) + 12sbV fp32 loss")
"""How skip reasons name the estimate."""
