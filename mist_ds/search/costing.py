"""The search's view of the cost model: one stage cost model per executor and request, plus pipeline
p2p time."""

from __future__ import annotations

import numpy as np

from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.memory import ELEM
from mist_ds.cost.mistpipe import MistpipeStageCostModel, evaluate_by_executor, memory_by_executor
from mist_ds.cost.clock import slowest_boundary_p2p_s
from mist_ds.cost.stage import StageCostModel
from mist_ds.search.space import Layout


class StageCostAdapter:
    """Builds the compiled cost model once and answers the layout-level questions of the search."""

    def __init__(self, request: TuneRequest, hardware: HardwareProfile, fused_head_loss: bool = False):
        cluster = request.cluster
        self.request = request
        self.fused_head_loss = fused_head_loss
        """mistpipe stages are priced with the fused head loss (Plan.head_loss 'fused'); stock ones never."""
        self.model = StageCostModel(request.model, hardware, request.seq_len, request.dtype,
                                    num_nodes=cluster.num_nodes, gpus_per_node=cluster.gpus_per_node)
        self.rates = self.model.rates
        self._p2p: dict[tuple[int, int, int], float] = {}
        self._mistpipe: MistpipeStageCostModel | None = None

    def evaluate(self, args, per_stage_memory=False):
        """StageCost of `args`; rows flagged `per_stage_memory` are mistpipe stages (cost/mistpipe.py)."""
        if not np.any(per_stage_memory):
            return self.model.evaluate(args)
        return evaluate_by_executor(self.model, self.mistpipe, args, per_stage_memory)

    def memory(self, args, per_stage_memory=False) -> tuple[np.ndarray, np.ndarray]:
        """(peak_memory_bytes, cpu_memory_bytes) of evaluate(args, per_stage_memory), without the time
        terms."""
        if not np.any(per_stage_memory):
            return self.model.memory(args)
        return memory_by_executor(self.model, self.mistpipe, args, per_stage_memory)

    @property
    def mistpipe(self) -> MistpipeStageCostModel:
        """mistpipe's stage cost model for the request and the adapter's head loss (built on first use)."""
        if self._mistpipe is None:
            request, cluster = self.request, self.request.cluster
            conditions = RunConditions(fused_head_loss=self.fused_head_loss)
            self._mistpipe = MistpipeStageCostModel(request.model, self.model.hw, request.seq_len, request.dtype,
                                                    num_nodes=cluster.num_nodes, gpus_per_node=cluster.gpus_per_node,
                                                    conditions=conditions)
        return self._mistpipe

    def p2p_s(self, layout: Layout) -> float:
        """Slowest stage-boundary transfer of one micro-batch's activation (b x s x h 16-bit values),
        cached per (micro-batch, stages, GPUs per stage); mist_ds.cost.clock.slowest_boundary_p2p_s."""
        key = (layout.micro_batch, layout.num_stages, layout.dp * layout.tp)
        if key not in self._p2p:
            request = self.request
            nbytes = ELEM * layout.micro_batch * request.seq_len * request.model.hidden_size
            per_stage = layout.dp * layout.tp
            boundaries = [(index * per_stage, nbytes) for index in range(1, layout.num_stages)]
            self._p2p[key] = slowest_boundary_p2p_s(self.rates, boundaries,
                                                    request.cluster.gpus_per_node,
                                                    request.cluster.num_nodes)
        return self._p2p[key]
