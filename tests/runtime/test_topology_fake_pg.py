"""Rank and group arithmetic at world sizes 8..1024 on torch's fake process group (no processes):
MistMpu's groups, DeepSpeed's topology, and the rank layout the cost model assumes (stages as
consecutive rank blocks, TP groups inside a node)."""

from __future__ import annotations

import pytest
import torch.distributed as dist
from torch.testing._internal.distributed.fake_pg import FakeStore

from mist_ds.config import ClusterSpec, get_preset
from mist_ds.cost.groups import stage_first_gpu
from mist_ds.runtime.topology import MistMpu, make_topology
from tests.helpers import make_plan

# (nodes, gpus per node, pp, dp, tp)
MESHES = [(1, 8, 2, 2, 2), (2, 8, 4, 2, 2), (4, 8, 2, 4, 4), (8, 8, 8, 4, 2), (16, 8, 4, 16, 2),
          (128, 8, 8, 16, 8)]


def _mpu_of(rank: int, world: int, pp: int, dp: int, tp: int) -> MistMpu:
    dist.init_process_group("fake", rank=rank, world_size=world, store=FakeStore())
    try:
        return MistMpu(make_topology(pp, dp, tp))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("nodes, per_node, pp, dp, tp", MESHES)
def test_groups_have_the_plan_degrees_and_tp_stays_in_a_node(nodes, per_node, pp, dp, tp):
    world = nodes * per_node
    assert pp * dp * tp == world
    for rank in sorted({0, 1, world // 2 + 1, world - 1}):
        mpu = _mpu_of(rank, world, pp, dp, tp)
        assert (mpu.get_pipe_parallel_world_size(), mpu.get_data_parallel_world_size(),
                mpu.get_model_parallel_world_size()) == (pp, dp, tp)
        model_ranks = mpu._ranks["model"]
        assert rank in model_ranks and rank in mpu.get_data_parallel_group_ranks()
        # TP neighbours: consecutive ranks, all on the rank's node (feasibility.tp_within_node)
        assert model_ranks == list(range(model_ranks[0], model_ranks[0] + tp))
        assert {r // per_node for r in model_ranks} == {rank // per_node}
        # the data-parallel group of a stage strides over the TP ranks inside the stage's block
        stage_base = rank - rank % (dp * tp)
        assert mpu.get_data_parallel_group_ranks() == [stage_base + rank % tp + i * tp for i in range(dp)]


@pytest.mark.parametrize("nodes, per_node, pp, dp, tp", MESHES)
def test_stages_are_the_consecutive_rank_blocks_the_cost_model_assumes(nodes, per_node, pp, dp, tp):
    topology = make_topology(pp, dp, tp)
    layers = get_preset("llama-7b").model_copy(update={"num_layers": 2 * pp})
    plan = make_plan(layers, [{"end": 2 * (i + 1)} for i in range(pp)], dp=dp, tp=tp, micro_batch=1,
                     global_batch=dp, zero_stage=0)
    plan = plan.model_copy(update={"cluster": ClusterSpec(num_nodes=nodes, gpus_per_node=per_node)})
    for stage in range(pp):
        first = topology.get_rank(pipe=stage, data=0, model=0)
        assert first == stage_first_gpu(plan, stage)
        block = topology.filter_match(pipe=stage)
        assert block == list(range(first, first + dp * tp))
