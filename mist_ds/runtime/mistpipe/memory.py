"""StageMemory: the memory strategy of one pipeline stage, as the engine reads it.

The plan schema carries the same five numbers per stage; `build_mistpipe_engine` accepts this class
or any object with these attributes (`StageMemory.of(obj)` copies and validates them).
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
    held in host memory and updated there by DeepSpeed's CPU Adam."""
    num_offloaded_activation_layers: int = 0
    """Blocks right after the stage's recomputed ones whose saved activations are copied to pinned
    host memory on a side stream in forward and prefetched back before their backward."""

    def __post_init__(self) -> None:
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError(f"zero_stage must be 0..3, got {self.zero_stage}")
        for name in ("offload_weights_ratio", "offload_gradients_ratio", "offload_optimizer_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.num_offloaded_activation_layers < 0:
            raise ValueError("num_offloaded_activation_layers must be >= 0")

    @classmethod
    def of(cls, obj) -> "StageMemory":
        """A StageMemory from any object carrying the same attribute names (a plan's stage). A
        stage that gives `offload_activations_ratio` instead of the count gets the count the model
        builder uses (model.block_roles: round(ratio * non-recomputed blocks))."""
        if isinstance(obj, cls):
            return obj
        fields = {name: getattr(obj, name) for name in cls.__dataclass_fields__ if hasattr(obj, name)}
        if "num_offloaded_activation_layers" not in fields:
            kept = (obj.layer_end - obj.layer_start) - obj.num_recompute_layers
            fields["num_offloaded_activation_layers"] = round(obj.offload_activations_ratio * kept)
        return cls(**fields)

    @property
    def shards_weights(self) -> bool:
        return self.zero_stage == 3

    @property
    def shards_optimizer(self) -> bool:
        return self.zero_stage >= 1
