"""Test fixtures shared across test folders: building version-2 plans in one line."""

from __future__ import annotations

import socket

from mist_ds.config import ClusterSpec, ModelSpec, Plan, StagePlan
from mist_ds.config.plan import MemoryStrategy


def make_plan(model: ModelSpec, stages: list[dict], *, dp: int = 1, tp: int = 1, micro_batch: int = 2,
              global_batch: int = 8, seq_len: int = 32, zero_stage: int = 1, offload_weights: float = 0.0,
              offload_optimizer: float = 0.0, offload_gradients: float | None = None, **plan_fields) -> Plan:
    """A plan from per-stage dicts holding 'end' (layer_end) and optional StagePlan fields; gradients
    are offloaded with the optimizer states unless said otherwise; grad accum follows from the batch."""
    built, start = [], 0
    for stage in stages:
        fields = dict(stage)
        end = fields.pop("end")
        built.append(StagePlan(layer_start=start, layer_end=end, **fields))
        start = end
    memory = MemoryStrategy(zero_stage=zero_stage, offload_weights_ratio=offload_weights,
                            offload_optimizer_ratio=offload_optimizer,
                            offload_gradients_ratio=offload_optimizer if offload_gradients is None
                            else offload_gradients)
    gpus = dp * tp * len(built)
    return Plan(model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus), global_batch_size=global_batch,
                seq_len=seq_len, dp=dp, tp=tp, micro_batch_size=micro_batch,
                grad_accum_steps=global_batch // (micro_batch * dp), memory=memory, stages=tuple(built),
                **plan_fields)


def free_port() -> int:
    """A TCP port nothing listens on now (for a test's DeepSpeed master; tests may run in parallel)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
