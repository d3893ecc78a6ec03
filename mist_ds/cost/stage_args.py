"""StageArgs: what the cost model needs to know about one pipeline stage, and the ONE mapping from a
plan (or the search's bulk rows) to it. `predict_plan` and the search both call `stage_args`, so a
plan is costed the same way wherever it is costed."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mist_ds.config import Plan


@dataclass(frozen=True)
class StageArgs:
    """One stage strategy per element: ints/floats, or numpy arrays broadcast together."""

    num_layers: object
    """Transformer blocks of the stage."""
    micro_batch: object
    """Sequences per micro-batch per data-parallel rank."""
    dp: object
    """Data-parallel degree."""
    tp: object
    """Tensor-parallel degree."""
    zero_stage: object
    """ZeRO stage (0-3)."""
    offload_weights: object
    """Offloaded fraction of the 16-bit weights."""
    offload_gradients: object
    """Offloaded fraction of the gradients."""
    offload_optimizer: object
    """Offloaded fraction of the optimizer states."""
    num_offloaded: object
    """Blocks whose saved activations live in CPU memory."""
    num_recompute: object
    """Blocks that recompute their activations."""
    num_inflight: object
    """Micro-batches whose activations the stage holds at its peak (1F1B)."""
    grad_accum: object
    """Micro-batches per optimizer step."""
    has_embedding: object
    """The stage holds the embedding (first stage)."""
    has_head: object
    """The stage holds the final norm, LM head and loss (last stage)."""
    num_stages: object
    """Pipeline depth."""
    zero3_live_bound: object = 0
    """1 where ZeRO-3 bounds its gathered parameters to the reuse set (the plan's zero3_max_live =
    'reuse_set', cost/memory.py zero3_reuse_set), 0 where DeepSpeed's default bound holds."""
    zero3_block_fetch: object = 0
    """1 where ZeRO-3 fetches each block as one unit (the plan's zero3_fetch_unit = 'block',
    cost/work.py z3_fetches), 0 where it fetches every submodule."""

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field as float arrays broadcast to one shape."""
        values = np.broadcast_arrays(*[np.asarray(getattr(self, f.name)) for f in fields(self)])
        return {f.name: v.astype(float) for f, v in zip(fields(self), values)}


def inflight_microbatches(stage_index, num_stages, grad_accum):
    """Micro-batches whose activations stage i holds at its peak under 1F1B: min(S - i, G), at least 1
    (Narayanan et al. 2021, PipeDream-Flush; DeepSpeed pipe/schedule.py TrainSchedule.num_pipe_buffers
    allocates max(2, min(S - i, G)) buffers). Works on ints and numpy arrays."""
    return np.maximum(1, np.minimum(np.asarray(num_stages) - np.asarray(stage_index), grad_accum))


def stage_args(*, stage_index, num_stages, num_layers, micro_batch, dp, tp, grad_accum, zero_stage,
               offload_weights, offload_gradients, offload_optimizer, num_recompute, num_offloaded,
               zero3_live_bound=0, zero3_block_fetch=0) -> StageArgs:
    """The cost-model arguments of stage `stage_index` of a `num_stages`-stage pipeline (any argument
    may be a numpy array: the search evaluates many strategies at once)."""
    stage_index, num_stages = np.asarray(stage_index), np.asarray(num_stages)
    return StageArgs(
        num_layers=num_layers, micro_batch=micro_batch, dp=dp, tp=tp, zero_stage=zero_stage,
        offload_weights=offload_weights, offload_gradients=offload_gradients,
        offload_optimizer=offload_optimizer, num_offloaded=num_offloaded, num_recompute=num_recompute,
        num_inflight=inflight_microbatches(stage_index, num_stages, grad_accum), grad_accum=grad_accum,
        has_embedding=stage_index == 0, has_head=stage_index == num_stages - 1, num_stages=num_stages,
        zero3_live_bound=zero3_live_bound, zero3_block_fetch=zero3_block_fetch)


def plan_stage_args(plan: Plan, index: int) -> StageArgs:
    """stage_args of stage `index` of `plan`."""
    stage, memory = plan.stages[index], plan.stage_memory(index)
    return stage_args(
        stage_index=index, num_stages=plan.num_stages, num_layers=stage.num_layers,
        micro_batch=plan.micro_batch_size, dp=plan.dp, tp=plan.tp, grad_accum=plan.grad_accum_steps,
        zero_stage=memory.zero_stage, offload_weights=memory.offload_weights_ratio,
        offload_gradients=memory.offload_gradients_ratio, offload_optimizer=memory.offload_optimizer_ratio,
        num_recompute=stage.num_recompute_layers, num_offloaded=stage.num_offloaded_layers,
        zero3_live_bound=int(plan.zero3_max_live == "reuse_set"),
        zero3_block_fetch=int(plan.zero3_fetch_unit == "block"))
