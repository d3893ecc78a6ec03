"""Cost model: symbolic (sympy) memory and time of pipeline stages as DeepSpeed executes them,
compiled once to vectorised numpy. Pure: no torch, torch.distributed, deepspeed or rich."""

from __future__ import annotations

from mist_ds.cost.pipeline import inflight_microbatches, pipeline_iteration_time
from mist_ds.cost.plan_predict import predict_plan
from mist_ds.cost.stage import StageCost, StageCostModel

__all__ = ["StageCost", "StageCostModel", "inflight_microbatches", "pipeline_iteration_time",
           "predict_plan"]
