"""Feasibility predicates of the search: each says why a strategy cannot run, and cites the reason.

These are the mesh and batch rules; what an executor accepts of ZeRO and offload is declared with the
executor (mist_ds/config/executors.py), which the search enumerates from.
"""

from __future__ import annotations

from mist_ds.config import ClusterSpec, ModelSpec
from mist_ds.config.request import host_need_bytes


def tp_divides_heads(model: ModelSpec, tp: int) -> bool:
    """Megatron-style tensor parallelism splits attention by heads: tp must divide the query heads and
    the key/value heads (Shoeybi et al. 2019, section 3; Plan._tp_divides_heads)."""
    return model.num_heads % tp == 0 and model.num_kv_heads % tp == 0


def tp_within_node(cluster: ClusterSpec, tp: int) -> bool:
    """TP all-reduces run every layer: keep each TP group inside one node. DeepSpeed's
    PipeModelDataParallelTopology (runtime/pipe/topology.py) makes the model axis the fastest-varying,
    so TP groups are runs of `tp` consecutive ranks, inside a node exactly when tp divides the node size."""
    return cluster.gpus_per_node % tp == 0


def uniform_mesh(cluster: ClusterSpec, num_stages: int, tp: int) -> bool:
    """PipeModelDataParallelTopology gives every pipeline stage the same dp x tp grid, so the stage
    count times tp must divide the GPU count (runtime/pipe/topology.py)."""
    return cluster.num_gpus % (num_stages * tp) == 0


def stages_have_layers(model: ModelSpec, num_stages: int) -> bool:
    """Every pipeline stage holds at least one transformer block (Plan._layer_range_ordered)."""
    return num_stages <= model.num_layers


def batch_divides(global_batch: int, micro_batch: int, dp: int) -> bool:
    """DeepSpeed requires train_batch_size = micro_batch x grad_accum x dp exactly
    (runtime/config.py, _batch_assertion)."""
    return global_batch % (micro_batch * dp) == 0


def host_memory_fits(cpu_bytes_per_gpu, gpus_per_node: int, host_memory_bytes: float, margin_bytes: float = 0.0):
    """Offloaded state of all ranks of a node, plus a margin per rank when it offloads anything, must
    fit in the node's host memory (TuneRequest.host_limits: --host-memory-gb, else the profile's;
    issue 18: a plan predicted at 95% of host memory was killed by the kernel); vectorised over
    numpy arrays (config/request.py host_need_bytes)."""
    return host_need_bytes(cpu_bytes_per_gpu, margin_bytes, gpus_per_node) <= host_memory_bytes
