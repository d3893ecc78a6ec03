"""The NCCL groups a plan's collectives run over, and whether each spans nodes: the one place for the
rules the cost model prices collectives with (stage_time, mistpipe, clock, plan_predict) and that
emit/coverage.py checks against what a hardware profile measured.

Rank layout: DeepSpeed's PipeDataParallelTopology orders the axes pipe, data, model
(deepspeed/runtime/pipe/topology.py), the pipe axis outermost, so a stage's dp x tp GPUs are
consecutive global ranks and its tensor-parallel ranks are adjacent; the search keeps TP inside a node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mist_ds.config.hardware import Scope

if TYPE_CHECKING:
    from mist_ds.config import Plan

Group = tuple[Scope, int]
"""(scope, ranks) of one collective group."""


def dp_spans_nodes(dp, tp, gpus_per_node: int, num_nodes: int):
    """Whether a stage's data-parallel group crosses nodes: its dp x tp ranks are consecutive, so on a
    cluster of more than one node it does when they outnumber one node's GPUs. Element-wise on numpy
    arrays of dp and tp."""
    return (dp * tp > gpus_per_node) & (num_nodes > 1)


def boundary_spans_nodes(first_rank: int, gpus_per_node: int, num_nodes: int) -> bool:
    """Whether the stage boundary before global rank `first_rank` (a stage's first GPU) lies between two
    nodes: the ranks on either side of it sit on different nodes."""
    return num_nodes > 1 and (first_rank - 1) // gpus_per_node != first_rank // gpus_per_node


def tied_sync_spans_nodes(num_nodes: int) -> bool:
    """Whether the tied-embedding all-reduce between the first and the last stage crosses nodes: priced so
    whenever the cluster has more than one node."""
    return num_nodes > 1


def stage_first_gpu(plan: Plan, index: int) -> int:
    """Global rank of stage `index`'s first GPU (stages occupy consecutive rank blocks: module doc)."""
    return index * plan.gpus_per_stage


def scope(spans_nodes: bool) -> Scope:
    """The profile's scope name of a group that does or does not span nodes."""
    return "inter_node" if spans_nodes else "intra_node"


def plan_groups(plan: Plan) -> frozenset[Group]:
    """Every (scope, ranks) group the cost model prices a collective over for `plan`: tensor parallelism
    inside a node, each stage's data-parallel group, the p2p pair at each stage boundary, and the
    tied-embedding all-reduce between the first and the last stage (plan_predict.tied_sync_s)."""
    cluster = plan.cluster
    groups: set[Group] = set()
    if plan.tp > 1:
        groups.add(("intra_node", plan.tp))
    if plan.dp > 1:
        groups.add((scope(bool(dp_spans_nodes(plan.dp, plan.tp, cluster.gpus_per_node, cluster.num_nodes))),
                    plan.dp))
    for index in range(1, plan.num_stages):
        first = stage_first_gpu(plan, index)
        groups.add((scope(boundary_spans_nodes(first, cluster.gpus_per_node, cluster.num_nodes)), 2))
    if plan.num_stages > 1 and plan.model.tie_embeddings:
        groups.add((scope(tied_sync_spans_nodes(cluster.num_nodes)), 2))
    return frozenset(groups)
