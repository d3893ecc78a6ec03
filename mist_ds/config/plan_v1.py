"""Plan files of schema version 1 (before the executor-aware Plan): detection, migration, and the
hash version-1 runs recorded.

Version 1 repeated dp, tp, micro-batch, ZeRO stage and the model-state offload ratios on every stage
and stored activation offload as a ratio; the runtime of that version offloaded
`round(ratio x (layers - recomputed))` layers (Python's round, half to even:
runtime/model.py block_roles at commit dcb1e44), which migration keeps so a migrated plan describes
what ran. Version-1 predictions came from an older cost model and lack version-2 fields: migration
drops them (re-predict with `python -m mist_ds.predict`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pydantic_core

V1_STAGE_FIELDS = ("micro_batch_size", "dp", "tp", "zero_stage", "offload_weights_ratio",
                   "offload_gradients_ratio", "offload_optimizer_ratio")
MEMORY_FIELDS = ("zero_stage", "offload_weights_ratio", "offload_gradients_ratio", "offload_optimizer_ratio")


def is_version_1(data: Any) -> bool:
    """A mapping without schema_version whose stages carry dp (version-1 layout)."""
    if not isinstance(data, dict) or "schema_version" in data:
        return False
    stages = data.get("stages")
    return bool(stages) and isinstance(stages[0], dict) and "dp" in stages[0]


def _stage_v2(stage: dict[str, Any]) -> dict[str, Any]:
    layers = stage["layer_end"] - stage["layer_start"]
    recompute = stage.get("num_recompute_layers", 0)
    offloaded = round(stage.get("offload_activations_ratio", 0.0) * (layers - recompute))
    return {"layer_start": stage["layer_start"], "layer_end": stage["layer_end"],
            "num_recompute_layers": recompute, "num_offloaded_layers": offloaded}


def migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version-1 mapping -> version-2 mapping. Stages must agree on every engine-wide setting (the
    version-1 runtime ran stages[0]'s): a disagreement is a ValueError naming the field."""
    stages = data["stages"]
    first = stages[0]
    for index, stage in enumerate(stages[1:], start=1):
        for key in V1_STAGE_FIELDS:
            if stage.get(key, 0) != first.get(key, 0):
                raise ValueError(f"version-1 plan: stage {index} has {key}={stage.get(key)} but stage 0 has "
                                 f"{first.get(key)}; one engine runs one setting")
    out = {k: v for k, v in data.items() if k not in ("stages", "prediction")}
    out.update(schema_version=2, dp=first["dp"], tp=first["tp"], micro_batch_size=first["micro_batch_size"],
               memory={k: first.get(k, 0) for k in MEMORY_FIELDS},
               stages=[_stage_v2(stage) for stage in stages])
    return out


def _canonical_v1(data: dict[str, Any]) -> dict[str, Any]:
    """The version-1 Plan's field order with defaults filled, prediction removed."""
    stage_order = ("layer_start", "layer_end", *V1_STAGE_FIELDS, "offload_activations_ratio",
                   "num_recompute_layers")
    defaults = {"offload_weights_ratio": 0.0, "offload_gradients_ratio": 0.0, "offload_optimizer_ratio": 0.0,
                "offload_activations_ratio": 0.0, "num_recompute_layers": 0}
    stages = [{k: stage.get(k, defaults.get(k)) for k in stage_order} for stage in data["stages"]]
    order = ("model", "cluster", "global_batch_size", "seq_len", "dtype", "grad_accum_steps")
    out = {k: data.get(k, "bf16" if k == "dtype" else None) for k in order}
    out.update(stages=stages, gpu_memory_cap_bytes=data.get("gpu_memory_cap_bytes"), prediction=None)
    return out


def version_1_hash(text: str) -> str | None:
    """content_hash() that the version-1 runtime recorded in RunReport.plan_hash for this plan file
    text (None when the text is not a version-1 plan)."""
    data = json.loads(text)
    if not is_version_1(data):
        return None
    # pydantic's serializer: the same text (float spelling included) as StrictModel.to_json
    canonical = pydantic_core.to_json(_canonical_v1(data), indent=2).decode() + "\n"
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
