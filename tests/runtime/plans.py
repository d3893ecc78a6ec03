"""Tiny plans for the CPU runtime tests (2 ranks, fp32): one per configuration compared."""

from __future__ import annotations

from mist_ds.config import ModelSpec, Plan
from tests import helpers

GPT = ModelSpec(name="tiny-gpt", family="gpt", num_layers=4, hidden_size=32, num_heads=4,
                num_kv_heads=4, ffn_hidden_size=64, vocab_size=256, max_seq_len=64,
                tie_embeddings=True, norm="layernorm", activation="gelu",
                position_embedding="learned", linear_bias=True)
LLAMA = ModelSpec(name="tiny-llama", family="llama", num_layers=3, hidden_size=32, num_heads=4,
                  num_kv_heads=2, ffn_hidden_size=64, vocab_size=256, max_seq_len=64,
                  tie_embeddings=False, norm="rmsnorm", activation="swiglu",
                  position_embedding="rope", linear_bias=False)
# Qwen3's block: heads of 16 (q 64 wide from 32), per-head q/k RMSNorms whose weight TP replicates
QWEN3 = LLAMA.model_copy(update={"name": "tiny-qwen3", "head_dim_override": 16, "qk_norm": True})
GLOBAL_BATCH, SEQ_LEN = 8, 32


def make_plan(model: ModelSpec, stages: list[dict], **kw) -> Plan:
    """tests.helpers.make_plan at the runtime tests' batch (8) and sequence (32); ZeRO-1 by default."""
    return helpers.make_plan(model, stages, global_batch=GLOBAL_BATCH, seq_len=SEQ_LEN, **kw)


def one_stage(model: ModelSpec = GPT, **kw) -> Plan:
    """Two data-parallel ranks, no pipeline; stage fields (num_recompute_layers, num_offloaded_layers)
    go to the stage, the rest to the plan."""
    stage = {k: kw.pop(k) for k in ("num_recompute_layers", "num_offloaded_layers") if k in kw}
    return make_plan(model, [{"end": model.num_layers, **stage}], dp=2, **kw)


CASES: dict[str, Plan] = {
    "zero0": one_stage(zero_stage=0),
    "zero1": one_stage(zero_stage=1),
    "zero2": one_stage(zero_stage=2),
    "zero3": one_stage(zero_stage=3),
    "recompute": one_stage(zero_stage=1, num_recompute_layers=4),
    "act_offload": one_stage(zero_stage=1, num_offloaded_layers=4),
    "pipe_uneven": make_plan(GPT, [{"end": 1}, {"end": 4}]),
    "pipe_recompute": make_plan(GPT, [{"end": 1, "num_recompute_layers": 1},
                                      {"end": 4, "num_recompute_layers": 2}]),
    "zero2_opt_offload": one_stage(zero_stage=2, offload_optimizer=1.0),
    "zero3_param_offload": one_stage(zero_stage=3, offload_weights=1.0, offload_optimizer=1.0),
    "zero3_param_offload_gpu_optimizer": one_stage(zero_stage=3, offload_weights=1.0),
    "zero3_half_opt_offload": one_stage(zero_stage=3, offload_optimizer=0.5),
    "llama_tp1": one_stage(LLAMA, zero_stage=1),
    "llama_tp2": make_plan(LLAMA, [{"end": 3}], tp=2),
    # ZeRO-3 builds under deepspeed.zero.Init: Llama's fused q|k|v and gate|up, RoPE and untied head
    # partitioned at creation over 2 ranks, and the TP layers (tp 2, one data-parallel rank)
    "llama_zero3": one_stage(LLAMA, zero_stage=3),
    "llama_tp2_zero3": make_plan(LLAMA, [{"end": 3}], tp=2, zero_stage=3),
    # the q/k norm weight's gradient is each TP rank's sum over its heads until the runtime all-reduces it
    "qwen3_tp1": one_stage(QWEN3, zero_stage=1),
    "qwen3_tp2": make_plan(QWEN3, [{"end": 3}], tp=2),
    # mistpipe through build_runtime: one stage (a one-stage PipelineModule with the tied embedding
    # shared), ZeRO-3 with half of the optimizer states and gradients on the host
    "mistpipe_one_stage": one_stage(zero_stage=3, offload_optimizer=0.5, executor="mistpipe"),
    # ZeRO-3 fetching whole blocks (Plan.zero3_fetch_unit): with recompute (the recomputed forward runs
    # inside the block's backward fetch), and with weights and optimizer on the host
    "zero3_block_recompute": one_stage(zero_stage=3, num_recompute_layers=2, zero3_fetch_unit="block"),
    "llama_zero3_block_offload": one_stage(LLAMA, zero_stage=3, offload_weights=1.0, offload_optimizer=1.0,
                                           num_recompute_layers=1, zero3_fetch_unit="block",
                                           zero3_max_live="reuse_set"),
}

# 4 ranks: pipeline x tensor parallel (tied embedding across stages, vocab-parallel on both ends).
CASES_4: dict[str, Plan] = {
    "pipe_tp2": make_plan(GPT, [{"end": 1}, {"end": 4, "num_recompute_layers": 1}], tp=2),
}

# (reference, other): the same seed and data must give the same loss curve.
PAIRS = [
    ("zero0", "zero1"), ("zero0", "zero2"), ("zero0", "zero3"), ("zero1", "pipe_uneven"),
    ("zero1", "recompute"), ("zero1", "act_offload"), ("pipe_uneven", "pipe_recompute"),
    ("zero2", "zero2_opt_offload"), ("zero3", "zero3_param_offload"),
    ("zero3", "zero3_param_offload_gpu_optimizer"),
    ("zero3", "zero3_half_opt_offload"), ("llama_tp1", "llama_tp2"), ("zero1", "mistpipe_one_stage"),
    ("llama_tp1", "llama_zero3"), ("llama_tp1", "llama_tp2_zero3"), ("zero3", "zero3_block_recompute"),
    ("llama_zero3", "llama_zero3_block_offload"), ("qwen3_tp1", "qwen3_tp2"),
]
