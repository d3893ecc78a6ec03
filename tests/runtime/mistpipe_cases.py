"""Tiny pipeline cases for the mistpipe CPU tests: a stock-DeepSpeed reference per mesh, and the
memory strategies mistpipe must match it with (same seed, data and mesh -> the same losses)."""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.runtime.mistpipe import StageMemory

from .plans import GPT


@dataclass(frozen=True)
class Case:
    """A pipeline layout (make_plan stage dicts) and per-stage memory (None: stock DeepSpeed)."""

    stages: tuple
    memory: tuple | str | None = None  # "plan": each stage's StagePlan
    lr: float | None = None  # None: the worker's --lr
    options: tuple = ()  # extra build_mistpipe_engine keywords, as (name, value) pairs

    @property
    def num_ranks(self) -> int:
        return sum(s.get("dp", 1) * s.get("tp", 1) for s in self.stages)


def mesh(pp: int, dp: int, recompute: tuple = (0, 0), tp: int = 1) -> tuple:
    """Stage dicts for GPT (4 blocks): pp 1 -> one stage; pp 2 -> blocks 0-1 | 2-3."""
    ends = (GPT.num_layers,) if pp == 1 else (2, GPT.num_layers)
    return tuple({"end": end, "dp": dp, "tp": tp, "num_recompute_layers": recompute[i]}
                 for i, end in enumerate(ends))


def mem(**fields) -> StageMemory:
    return StageMemory(**fields)


DP2, PP2, PP2_RECOMPUTE, PP2DP2 = mesh(1, 2), mesh(2, 1), mesh(2, 1, (1, 0)), mesh(2, 2)
PP2TP2 = mesh(2, 1, tp=2)
PLAN_ROLES = ({"end": 2, "num_recompute_layers": 1, "offload_activations_ratio": 1.0},
              {"end": 4, "offload_activations_ratio": 0.5, "zero_stage": 1})

CASES_2 = {
    # one stage, two data-parallel ranks: sharding inside the stage
    "stock_dp2": Case(DP2),
    "dp2_zero0": Case(DP2, (mem(zero_stage=0),)),
    "dp2_zero1": Case(DP2, (mem(zero_stage=1),)),
    "dp2_zero2": Case(DP2, (mem(zero_stage=2),)),
    "dp2_zero3": Case(DP2, (mem(zero_stage=3),)),
    "dp2_zero3_offload": Case(DP2, (mem(zero_stage=3, offload_weights_ratio=0.5,
                                        offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5),)),
    "dp2_zero1_weights_offload": Case(DP2, (mem(zero_stage=1, offload_weights_ratio=0.5),)),
    "dp2_zero3_deferred_step": Case(DP2, (mem(zero_stage=3, offload_optimizer_ratio=0.5),),
                                    options=(("defer_optimizer_step", "first"),)),
    # two stages, one rank each: each offload kind at a fractional ratio, per stage
    "stock_pp2": Case(PP2),
    "stock_pp2_frozen": Case(PP2, lr=0.0),  # no update: shows the curves really train
    "pp2_weights_offload": Case(PP2, (mem(offload_weights_ratio=0.5), mem(offload_weights_ratio=0.25))),
    "pp2_grads_offload": Case(PP2, (mem(offload_gradients_ratio=0.5), mem(offload_gradients_ratio=0.75))),
    "pp2_optimizer_offload": Case(PP2, (mem(offload_optimizer_ratio=0.5), mem(offload_optimizer_ratio=0.3))),
    "pp2_optimizer_offload_swap": Case(
        PP2, (mem(offload_optimizer_ratio=0.5), mem(offload_optimizer_ratio=0.3)),
        options=(("optimizer_offload_path", "gpu_swap"),)),
    "pp2_act_offload": Case(PP2, (mem(num_offloaded_activation_layers=2),
                                  mem(num_offloaded_activation_layers=1))),
    "pp2_deferred_step": Case(
        PP2, (mem(offload_weights_ratio=0.5, offload_optimizer_ratio=0.5), mem(offload_gradients_ratio=0.5)),
        options=(("defer_optimizer_step", "all"),)),
    "stock_pp2_recompute": Case(PP2_RECOMPUTE),
    # a module built from plan roles (OffloadedBlock = save_on_cpu) and the memory read off the plan
    "stock_pp2_plan_roles": Case(PLAN_ROLES),
    "pp2_plan_roles": Case(PLAN_ROLES, "plan"),
    "pp2_recompute_mixed": Case(PP2_RECOMPUTE, (
        mem(zero_stage=3, offload_weights_ratio=0.5, num_offloaded_activation_layers=1),
        mem(offload_gradients_ratio=0.5, offload_optimizer_ratio=0.5, num_offloaded_activation_layers=2))),
}

CASES_4 = {
    "stock_pp2dp2": Case(PP2DP2),
    "pp2dp2_zero2": Case(PP2DP2, (mem(zero_stage=2), mem(zero_stage=2))),
    "pp2dp2_zero3": Case(PP2DP2, (mem(zero_stage=3), mem(zero_stage=3))),
    "pp2dp2_mixed": Case(PP2DP2, (
        mem(zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.5,
            num_offloaded_activation_layers=1),
        mem(zero_stage=2, offload_optimizer_ratio=0.5, num_offloaded_activation_layers=2))),
    "stock_pp2tp2": Case(PP2TP2),
    "pp2tp2_mixed": Case(PP2TP2, (
        mem(offload_weights_ratio=0.5, offload_gradients_ratio=0.5, num_offloaded_activation_layers=1),
        mem(offload_optimizer_ratio=0.5, num_offloaded_activation_layers=2))),
    "pp2dp2_deferred_swap": Case(PP2DP2, (
        mem(zero_stage=3, offload_weights_ratio=0.5, offload_optimizer_ratio=0.5),
        mem(zero_stage=1, offload_optimizer_ratio=0.5, num_offloaded_activation_layers=1)),
        options=(("defer_optimizer_step", "all"), ("optimizer_offload_path", "gpu_swap"))),
}

# (reference, other) pairs that must give the same losses and gradient norms
PAIRS_2 = [("stock_dp2", name) for name in CASES_2 if name.startswith("dp2_")] + \
          [("stock_pp2", name) for name in ("pp2_weights_offload", "pp2_grads_offload",
                                            "pp2_optimizer_offload", "pp2_optimizer_offload_swap",
                                            "pp2_act_offload", "pp2_deferred_step")] + \
          [("stock_pp2_recompute", "pp2_recompute_mixed"), ("stock_pp2_plan_roles", "pp2_plan_roles")]
PAIRS_4 = [("stock_pp2dp2", name) for name in CASES_4 if name.startswith("pp2dp2_")] + \
          [("stock_pp2tp2", "pp2tp2_mixed")]
