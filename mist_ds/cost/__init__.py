"""Cost model: symbolic (sympy) memory and time of pipeline stages as DeepSpeed executes them,
compiled once to vectorised numpy. Pure: no torch, torch.distributed, deepspeed or rich."""

from __future__ import annotations

from mist_ds.cost.clock import closed_form_bound, simulate_pipeline
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.plan_predict import predict_plan
from mist_ds.cost.stage import StageCost, StageCostModel
from mist_ds.cost.stage_args import StageArgs, inflight_microbatches, plan_stage_args, stage_args

__all__ = ["RunConditions", "StageArgs", "StageCost", "StageCostModel", "closed_form_bound", "inflight_microbatches",
           "plan_stage_args", "predict_plan", "simulate_pipeline", "stage_args"]
