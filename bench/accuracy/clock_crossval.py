#!/usr/bin/env python3
"""What-if: the cost model with a clock-aware GEMM price, cross-validated (CPU only; issue 10, the GEMM clock).

    python bench/accuracy/clock_crossval.py [--offset 0.027] [crossval.py's arguments, e.g. --split random:5 --jobs 2 --json]

Nothing in mist_ds changes: in this process (and the crossval folds it forks) predict_plan prices each plan twice,
first as shipped, then with its GEMMs at the clock the power cap gives its micro-batches' window:
gemm_share.py clock_factor (session 29's power balance) of the window's GEMM, other-kernel and idle seconds
(micro_batch_window: blocks, head and loss from cost/layer_time.py, the idle time what each stage's predicted
micro-batch wall leaves), plus --offset (the balance's mean miss against 11 profiled steps' block GEMMs:
bench/results/elementwise_audit.md), at most 1. bench/accuracy/crossval.py then fits the run-derived time terms fold by
fold with that price, so the host terms no longer absorb GEMMs priced at the loop's clock; its held-out errors
compare with bench/results/crossval.json's for the same split and seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bench.accuracy.scoring as scoring  # noqa: E402
import mist_ds.cost.plan_predict as plan_predict  # noqa: E402
from bench.accuracy import crossval  # noqa: E402
from bench.accuracy.gemm_share import clock_factor, clocked  # noqa: E402
from mist_ds.config import HardwareProfile, Plan, PlanPrediction  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.layer_time import block_parts, head_parts  # noqa: E402

SHIPPED_PREDICT = plan_predict.predict_plan
DEFAULT_OFFSET = 0.027


def micro_batch_window(plan: Plan, hw: HardwareProfile, conditions: RunConditions | None,
                       prediction: PlanPrediction) -> tuple[float, float, float]:
    """(GEMM, other kernels, idle) seconds of the plan's micro-batches over its stages: blocks (recomputed forwards
    too), head and loss on the last stage, embedding on the first; idle is what the predicted wall leaves."""
    kernels = (conditions or RunConditions()).kernels
    blocks = block_parts(hw, plan.model, plan.micro_batch_size, plan.seq_len, plan.tp, kernels=kernels)
    edge = head_parts(hw, plan.model, plan.micro_batch_size * plan.seq_len, plan.tp, kernels=kernels)
    gemm = other = idle = 0.0
    for index, (stage, predicted) in enumerate(zip(plan.stages, prediction.stages)):
        layers, recomputed = stage.num_layers, stage.num_recompute_layers
        first, last = index == 0, index == plan.num_stages - 1
        g = layers * sum(blocks["gemm"]) + recomputed * blocks["gemm"][0] + last * edge["head_gemm"]
        k = (layers * (sum(blocks["attention"]) + sum(blocks["other"]))
             + recomputed * (blocks["attention"][0] + blocks["other"][0])
             + last * (edge["loss"] + edge["final_norm"]) + first * edge["embedding"])
        wall = predicted.microbatch_forward_s + predicted.microbatch_backward_s
        steps = plan.grad_accum_steps
        gemm, other, idle = gemm + steps * g, other + steps * k, idle + steps * max(0.0, wall - g - k)
    return gemm, other, idle


def clock_aware(offset: float):
    """predict_plan with the clock-aware GEMM price (module docstring)."""
    def predict(plan: Plan, hw: HardwareProfile, conditions: RunConditions | None = None) -> PlanPrediction:
        first = SHIPPED_PREDICT(plan, hw, conditions)
        factor = min(1.0, clock_factor(*micro_batch_window(plan, hw, conditions, first))[1] + offset)
        return SHIPPED_PREDICT(plan, clocked(hw, factor), conditions)
    return predict


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    offset = DEFAULT_OFFSET
    if "--offset" in argv:
        at = argv.index("--offset")
        offset = float(argv[at + 1])
        del argv[at:at + 2]
    plan_predict.predict_plan = scoring.predict_plan = clock_aware(offset)
    try:
        return crossval.main(argv, prog=f"bench/accuracy/clock_crossval.py --offset {offset}")
    finally:
        plan_predict.predict_plan = scoring.predict_plan = SHIPPED_PREDICT


if __name__ == "__main__":
    sys.exit(main())
