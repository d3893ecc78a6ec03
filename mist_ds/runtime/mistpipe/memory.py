"""StageMemory: the memory strategy of one pipeline stage, as the engine reads it.

A plan (schema version 2) carries the same numbers: the stage's ZeRO/offload setting is
`plan.stage_memory(i)` (the stage's own `memory`, else the plan's) and its activation offload is
`plan.stages[i].num_offloaded_layers`; `StageMemory.from_plan(plan, i)` joins them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageMemory:
    """How a stage holds its weights, gradients, optimizer states and activations."""

    zero_stage: int = 1
    """0: every DP rank keeps all optimizer states; 1 and 2: fp32 master weights, Adam states and the
    fp32 gradients are sharded over the stage's DP group (one reduce-scatter per iteration, after
    the last micro-batch: in this engine ZeRO-1 and ZeRO-2 run the same code); 3: as 2, and the
    16-bit weights of every block are sharded too, all-gathered per block when used."""
    offload_weights_ratio: float = 0.0
    """Fraction of each block's stored 16-bit weights (its shard with ZeRO-3, else all of it) kept in
    pinned host memory and copied in (prefetched) when the block runs."""
    offload_gradients_ratio: float = 0.0
    """Fraction of each block's gradient-accumulation buffer kept in pinned host memory between
    micro-batches: copied in before the block's backward and out after it."""
    offload_optimizer_ratio: float = 0.0
    """Fraction of the rank's optimizer shard (fp32 master weights, Adam m and v, fp32 gradients)
    held in host memory and updated by the stage's optimizer offload path (offload_path)."""
    num_offloaded_layers: int = 0
    """Blocks right after the stage's recomputed ones whose saved activations are copied to pinned
    host memory on a side stream in forward and prefetched back before their backward
    (StagePlan.num_offloaded_layers)."""

    def __post_init__(self) -> None:
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError(f"zero_stage must be 0..3, got {self.zero_stage}")
        for name in ("offload_weights_ratio", "offload_gradients_ratio", "offload_optimizer_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.num_offloaded_layers < 0:
            raise ValueError("num_offloaded_layers must be >= 0")

    @classmethod
    def of(cls, obj) -> "StageMemory":
        """A StageMemory from any object carrying the same five attribute names."""
        if isinstance(obj, cls):
            return obj
        return cls(**{name: getattr(obj, name) for name in cls.__dataclass_fields__})

    @classmethod
    def from_plan(cls, plan, index: int) -> "StageMemory":
        """Stage `index` of a (version-2) Plan: its ZeRO/offload setting and activation offload."""
        memory = plan.stage_memory(index)
        return cls(zero_stage=memory.zero_stage, offload_weights_ratio=memory.offload_weights_ratio,
                   offload_gradients_ratio=memory.offload_gradients_ratio,
                   offload_optimizer_ratio=memory.offload_optimizer_ratio,
                   num_offloaded_layers=plan.stages[index].num_offloaded_layers)

    @property
    def shards_weights(self) -> bool:
        return self.zero_stage == 3

    @property
    def shards_optimizer(self) -> bool:
        return self.zero_stage >= 1


def offload_path(ds_config: dict, stage_id: int, forced: str | None = None) -> str:
    """The path that updates stage `stage_id`'s offloaded optimizer share: `forced` (an engine option),
    else what the ds_config's mistpipe section says for the stage (emit/ds_config.py writes the cost
    model's choice, cost/mistpipe_step.py optimizer_path, so prediction and run agree), else the
    default (a ds_config written by hand or before the choice was recorded)."""
    from mist_ds.cost.mistpipe_step import DEFAULT_PATH, PATHS

    stages = (ds_config.get("mistpipe") or {}).get("stages") or []
    entry = stages[stage_id] if 0 <= stage_id < len(stages) and isinstance(stages[stage_id], dict) else {}
    path = forced or entry.get("optimizer_offload_path") or DEFAULT_PATH
    if path not in PATHS:
        raise ValueError(f"mistpipe: optimizer_offload_path must be one of {PATHS}, not {path!r}")
    return path


def adam_impl_of(ds_config: dict, offloading_stages, forced: str | None = None) -> str:
    """RunReport.adam_impl of a mistpipe run: torch's AdamW on the device plus the offload path of
    each stage in `offloading_stages` (those with an offloaded optimizer share), e.g.
    'torch_adamw+gpu_swap', 'torch_adamw+cpu_adam+gpu_swap' (cost/conditions.py optimizer_path_of
    reads it back)."""
    paths = sorted({offload_path(ds_config, s, forced) for s in offloading_stages})
    return "+".join(["torch_adamw", *paths])
