"""Schemas (pydantic v2): inputs, plans, hardware profiles and run reports. Pure: no torch."""

from __future__ import annotations

from pathlib import Path

from mist_ds.config.base import StrictModel
from mist_ds.config.cluster import ClusterSpec
from mist_ds.config.hardware import (
    AttentionSample,
    CollectiveFit,
    CpuAdamSample,
    HardwareProfile,
    InterferenceFactor,
    MatmulSample,
    MemoryKernelSample,
    Provenance,
)
from mist_ds.config.hf_import import model_spec_from_hf_config
from mist_ds.config.model_spec import ModelSpec
from mist_ds.config.plan import Plan, StagePlan
from mist_ds.config.prediction import MemoryBreakdown, PlanPrediction, StagePrediction, TimeBreakdown
from mist_ds.config.presets import PRESETS, UnknownPresetError, get_preset
from mist_ds.config.request import SearchSpace, TuneRequest
from mist_ds.config.run_report import RunReport


def resolve_model(name_or_path: str) -> ModelSpec:
    """A preset name, or a path to a Hugging Face config.json (or its folder)."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    looks_like_path = "/" in name_or_path or name_or_path.endswith(".json")
    if looks_like_path or Path(name_or_path).exists():
        return model_spec_from_hf_config(name_or_path)
    return get_preset(name_or_path)


__all__ = [
    "PRESETS", "AttentionSample", "ClusterSpec", "CollectiveFit", "CpuAdamSample", "HardwareProfile",
    "InterferenceFactor", "MatmulSample", "MemoryBreakdown", "MemoryKernelSample", "ModelSpec", "Plan",
    "PlanPrediction",
    "Provenance", "RunReport", "SearchSpace", "StagePlan", "StagePrediction", "StrictModel",
    "TimeBreakdown", "TuneRequest", "UnknownPresetError", "get_preset", "model_spec_from_hf_config",
    "resolve_model",
]
