"""Process groups for a plan's (pipe, data, model) grid and the `mpu` DeepSpeed expects.

Rank layout is DeepSpeed's PipeModelDataParallelTopology (runtime/pipe/topology.py): axes
[pipe, data, model], model fastest, so tensor-parallel ranks are neighbours (same node).
"""

from __future__ import annotations

import torch.distributed as dist
from deepspeed.runtime.pipe.topology import PipeModelDataParallelTopology


def make_topology(pp: int, dp: int, tp: int) -> PipeModelDataParallelTopology:
    """DeepSpeed's 3-axis topology for pp x dp x tp ranks."""
    return PipeModelDataParallelTopology(num_pp=pp, num_mp=tp, num_dp=dp)


class MistMpu:
    """The `mpu` handed to deepspeed.initialize: ZeRO partitions over the data-parallel group only,
    and gradient-norm clipping sums TP shards over the model-parallel group."""

    def __init__(self, topology: PipeModelDataParallelTopology):
        self.topology = topology
        rank = dist.get_rank()
        self._groups, self._ranks = {}, {}
        for axis in ("pipe", "data", "model"):
            for ranks in topology.get_axis_comm_lists(axis):  # every rank creates every group
                group = dist.new_group(ranks=ranks)
                if rank in ranks:
                    self._groups[axis], self._ranks[axis] = group, ranks
        self.coord = topology.get_coord(rank)

    def _size(self, axis: str) -> int:
        return len(self._ranks[axis])

    def _rank(self, axis: str) -> int:
        return self._ranks[axis].index(dist.get_rank())

    # data parallel
    def get_data_parallel_group(self):
        return self._groups["data"]

    def get_data_parallel_rank(self) -> int:
        return self._rank("data")

    def get_data_parallel_world_size(self) -> int:
        return self._size("data")

    def get_data_parallel_group_ranks(self) -> list[int]:
        return list(self._ranks["data"])

    # tensor (model) parallel
    def get_model_parallel_group(self):
        return self._groups["model"]

    def get_model_parallel_rank(self) -> int:
        return self._rank("model")

    def get_model_parallel_world_size(self) -> int:
        return self._size("model")

    get_tensor_model_parallel_group = get_model_parallel_group
    get_tensor_model_parallel_rank = get_model_parallel_rank
    get_tensor_model_parallel_world_size = get_model_parallel_world_size

    def get_tensor_model_parallel_src_rank(self) -> int:
        return self._ranks["model"][0]

    # pipeline
    def get_pipe_parallel_group(self):
        return self._groups["pipe"]

    def get_pipe_parallel_rank(self) -> int:
        return self._rank("pipe")

    def get_pipe_parallel_world_size(self) -> int:
        return self._size("pipe")

    @property
    def tp_group(self):
        """The tensor-parallel group, or None when tp = 1 (layers then skip all communication)."""
        return self._groups["model"] if self._size("model") > 1 else None
