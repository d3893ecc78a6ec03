"""Tiny pipeline cases for the mistpipe CPU tests: a stock-DeepSpeed reference per mesh, and the
memory strategies mistpipe must match it with (same seed, data and mesh -> the same losses)."""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.runtime.mistpipe import StageMemory

from .plans import GPT


@dataclass(frozen=True)
class Case:
    """A pipeline layout (make_plan stage dicts + mesh) and per-stage memory (None: stock DeepSpeed;
    "plan": a mistpipe plan whose stages carry `plan_memory` and the engine reads it off the plan)."""

    stages: tuple
    memory: tuple | str | None = None
    lr: float | None = None  # None: the worker's --lr
    options: tuple = ()  # extra build_mistpipe_engine keywords, as (name, value) pairs
    dp: int = 1
    tp: int = 1
    plan_memory: tuple = ()  # memory == "plan": MemoryStrategy fields of each stage
    model: str = "gpt"  # "gpt" (plans.GPT, 4 blocks) or "llama" (plans.LLAMA, 3 blocks)

    @property
    def num_ranks(self) -> int:
        return len(self.stages) * self.dp * self.tp

    def with_memory(self, memory, **kw) -> Case:
        return Case(self.stages, memory, dp=self.dp, tp=self.tp, model=self.model, **kw)


def mesh(pp: int, dp: int, recompute: tuple = (0, 0), tp: int = 1) -> Case:
    """A stock case for GPT (4 blocks): pp 1 -> one stage; pp 2 -> blocks 0-1 | 2-3."""
    ends = (GPT.num_layers,) if pp == 1 else (2, GPT.num_layers)
    return Case(tuple({"end": end, "num_recompute_layers": recompute[i]} for i, end in enumerate(ends)),
                dp=dp, tp=tp)


def mem(**fields) -> StageMemory:
    return StageMemory(**fields)


DP2, PP2, PP2_RECOMPUTE, PP2DP2 = mesh(1, 2), mesh(2, 1), mesh(2, 1, (1, 0)), mesh(2, 2)
PP2TP2, DP2TP2 = mesh(2, 1, tp=2), mesh(1, 2, tp=2)
PP2_LLAMA = Case(({"end": 2}, {"end": 3}), model="llama")
PLAN_ROLES = Case(({"end": 2, "num_recompute_layers": 1, "num_offloaded_layers": 1},
                   {"end": 4, "num_offloaded_layers": 1}))

CASES_2 = {
    # one stage, two data-parallel ranks: sharding inside the stage
    "stock_dp2": DP2,
    "dp2_zero0": DP2.with_memory((mem(zero_stage=0),)),
    "dp2_zero1": DP2.with_memory((mem(zero_stage=1),)),
    "dp2_zero2": DP2.with_memory((mem(zero_stage=2),)),
    "dp2_zero3": DP2.with_memory((mem(zero_stage=3),)),
    "dp2_zero3_offload": DP2.with_memory((mem(zero_stage=3, offload_weights_ratio=0.5,
                                              offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5),)),
    "dp2_zero1_weights_offload": DP2.with_memory((mem(zero_stage=1, offload_weights_ratio=0.5),)),
    "dp2_zero3_deferred_step": DP2.with_memory((mem(zero_stage=3, offload_optimizer_ratio=0.5),),
                                               options=(("defer_optimizer_step", "first"),)),
    # two stages, one rank each: each offload kind at a fractional ratio, per stage
    "stock_pp2": PP2,
    "stock_pp2_frozen": PP2.with_memory(None, lr=0.0),  # no update: shows the curves really train
    "pp2_weights_offload": PP2.with_memory((mem(offload_weights_ratio=0.5), mem(offload_weights_ratio=0.25))),
    "pp2_grads_offload": PP2.with_memory((mem(offload_gradients_ratio=0.5), mem(offload_gradients_ratio=0.75))),
    "pp2_optimizer_offload": PP2.with_memory((mem(offload_optimizer_ratio=0.5), mem(offload_optimizer_ratio=0.3))),
    "pp2_optimizer_offload_swap": PP2.with_memory(
        (mem(offload_optimizer_ratio=0.5), mem(offload_optimizer_ratio=0.3)),
        options=(("optimizer_offload_path", "gpu_swap"),)),
    # the swapped tail partly in device gradient sections (read on the device) and partly in host ones
    "pp2_swap_mixed_sections": PP2.with_memory(
        (mem(offload_gradients_ratio=0.25, offload_optimizer_ratio=0.5), mem(offload_optimizer_ratio=0.75)),
        options=(("optimizer_offload_path", "gpu_swap"),)),
    "pp2_swap_gradients_via_host": PP2.with_memory(  # the engine's round trip of before, an option now
        (mem(offload_gradients_ratio=0.25, offload_optimizer_ratio=0.5), mem(offload_optimizer_ratio=0.75)),
        options=(("optimizer_offload_path", "gpu_swap"), ("swap_gradients", "host"))),
    "pp2_optimizer_offload_cpu_adam": PP2.with_memory(
        (mem(offload_optimizer_ratio=0.5), mem(offload_gradients_ratio=0.25, offload_optimizer_ratio=0.3)),
        options=(("optimizer_offload_path", "cpu_adam"),)),
    "pp2_act_offload": PP2.with_memory((mem(num_offloaded_layers=2), mem(num_offloaded_layers=1))),
    # Llama blocks save strided SwiGLU halves, transposed q/k and a reshaped attention output; on the
    # CPU their RMSNorm unpacks x after its weight's gradient (actoffload.py copy_span, retire)
    "stock_pp2_llama": PP2_LLAMA,
    "pp2_llama_act_offload": PP2_LLAMA.with_memory((mem(num_offloaded_layers=2), mem(num_offloaded_layers=1))),
    "pp2_llama_act_offload_d2h_queue": PP2_LLAMA.with_memory(
        (mem(num_offloaded_layers=2), mem(num_offloaded_layers=1)), options=(("d2h_queue_bytes", 0),)),
    "pp2_deferred_step": PP2.with_memory(
        (mem(offload_weights_ratio=0.5, offload_optimizer_ratio=0.5), mem(offload_gradients_ratio=0.5)),
        options=(("defer_optimizer_step", "all"),)),
    "stock_pp2_recompute": PP2_RECOMPUTE,
    # a module built from plan roles (OffloadedBlock = save_on_cpu) and a mistpipe plan whose stages
    # carry their own memory settings: the engine reads both off the plan (StageMemory.from_plan)
    "stock_pp2_plan_roles": PLAN_ROLES,
    "pp2_plan_roles": PLAN_ROLES.with_memory("plan", plan_memory=(
        {"zero_stage": 3, "offload_weights_ratio": 0.5, "offload_gradients_ratio": 0.5},
        {"zero_stage": 1, "offload_optimizer_ratio": 0.25})),
    "pp2_recompute_mixed": PP2_RECOMPUTE.with_memory((
        mem(zero_stage=3, offload_weights_ratio=0.5, num_offloaded_layers=1),
        mem(offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5, num_offloaded_layers=2))),
    # every weight gradient added by a separate kernel (fused_wgrad off; the default adds block linears'
    # in their GEMM, runtime/wgrad.py): pp2_recompute_mixed's settings
    "pp2_unfused_wgrad": PP2_RECOMPUTE.with_memory((
        mem(zero_stage=3, offload_weights_ratio=0.5, num_offloaded_layers=1),
        mem(offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5, num_offloaded_layers=2)),
        options=(("fused_wgrad", False),)),
    # the LM head and its loss in one chunked pass (runtime/fused_head_loss.py): a tied head on one stage,
    # an untied one on the last of two, into the engine's buffer (a wgrad sink) or, fused_wgrad off, fresh
    "dp2_zero1_fused_head_loss": DP2.with_memory((mem(zero_stage=1),), options=(("fused_head_loss", True),)),
    "pp2_llama_fused_head_loss": PP2_LLAMA.with_memory((mem(), mem(offload_optimizer_ratio=0.5)),
                                                       options=(("fused_head_loss", True),)),
    "pp2_llama_fused_head_loss_fresh": PP2_LLAMA.with_memory((mem(), mem()), options=(
        ("fused_head_loss", True), ("fused_wgrad", False))),
}

CASES_4 = {
    "stock_pp2dp2": PP2DP2,
    "pp2dp2_zero2": PP2DP2.with_memory((mem(zero_stage=2), mem(zero_stage=2))),
    "pp2dp2_zero3": PP2DP2.with_memory((mem(zero_stage=3), mem(zero_stage=3))),
    "pp2dp2_mixed": PP2DP2.with_memory((
        mem(zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.5, num_offloaded_layers=1),
        mem(zero_stage=2, offload_optimizer_ratio=0.5, num_offloaded_layers=2))),
    "stock_pp2tp2": PP2TP2,
    "pp2tp2_mixed": PP2TP2.with_memory((
        mem(offload_weights_ratio=0.5, offload_gradients_ratio=0.5, num_offloaded_layers=1),
        mem(offload_optimizer_ratio=0.5, num_offloaded_layers=2))),
    "pp2dp2_deferred_swap": PP2DP2.with_memory((
        mem(zero_stage=3, offload_weights_ratio=0.5, offload_optimizer_ratio=0.5),
        mem(zero_stage=1, offload_optimizer_ratio=0.5, num_offloaded_layers=1)),
        options=(("defer_optimizer_step", "all"), ("optimizer_offload_path", "gpu_swap"))),
    "pp2dp2_cpu_adam": PP2DP2.with_memory((
        mem(zero_stage=2, offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5),
        mem(zero_stage=1)), options=(("optimizer_offload_path", "cpu_adam"),)),
    # ZeRO-3 weight sharding (and weight offload) under tensor parallelism
    "stock_dp2tp2": DP2TP2,
    "dp2tp2_zero3": DP2TP2.with_memory((mem(zero_stage=3, offload_weights_ratio=0.5,
                                            offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5,
                                            num_offloaded_layers=1),)),
    "pp2tp2_unfused_wgrad": PP2TP2.with_memory((mem(zero_stage=0), mem(zero_stage=0)),
                                               options=(("fused_wgrad", False),)),
    # the fused head loss over vocabulary slices (a tied head's copy on the last stage, TP 2)
    "pp2tp2_fused_head_loss": PP2TP2.with_memory((mem(zero_stage=0), mem(zero_stage=0)),
                                                 options=(("fused_head_loss", True),)),
}

# (reference, other) pairs that must give the same losses and gradient norms
PAIRS_2 = [("stock_dp2", name) for name in CASES_2 if name.startswith("dp2_")] + \
          [("stock_pp2", name) for name in ("pp2_weights_offload", "pp2_grads_offload",
                                            "pp2_optimizer_offload", "pp2_optimizer_offload_swap",
                                            "pp2_swap_mixed_sections", "pp2_swap_gradients_via_host",
                                            "pp2_optimizer_offload_cpu_adam",
                                            "pp2_act_offload", "pp2_deferred_step")] + \
          [("stock_pp2_recompute", "pp2_recompute_mixed"), ("stock_pp2_recompute", "pp2_unfused_wgrad"),
           ("stock_pp2_plan_roles", "pp2_plan_roles")] + \
          [("stock_pp2_llama", name) for name in ("pp2_llama_act_offload", "pp2_llama_act_offload_d2h_queue",
                                                  "pp2_llama_fused_head_loss", "pp2_llama_fused_head_loss_fresh")]
PAIRS_4 = [("stock_pp2dp2", name) for name in CASES_4 if name.startswith("pp2dp2_")] + \
          [("stock_pp2tp2", "pp2tp2_mixed"), ("stock_pp2tp2", "pp2tp2_unfused_wgrad"),
           ("stock_pp2tp2", "pp2tp2_fused_head_loss"), ("stock_dp2tp2", "dp2tp2_zero3")]
