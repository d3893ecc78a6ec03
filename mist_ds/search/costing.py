"""The search's view of the cost model: one StageCostModel per request, plus pipeline p2p time."""

from __future__ import annotations

import numpy as np

from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.cost.memory import ELEM
from mist_ds.cost.stage import StageCostModel
from mist_ds.search.space import Layout



class StageCostAdapter:
    """Builds the compiled cost model once and answers the layout-level questions of the search."""

    def __init__(self, request: TuneRequest, hardware: HardwareProfile):
        cluster = request.cluster
        self.request = request
        self.model = StageCostModel(request.model, hardware, request.seq_len, request.dtype,
                                    num_nodes=cluster.num_nodes, gpus_per_node=cluster.gpus_per_node)
        self.rates = self.model.rates
        self._p2p: dict[tuple[int, int, int], float] = {}

    def p2p_s(self, layout: Layout) -> float:
        """Slowest stage-boundary transfer of one micro-batch's activation (b x s x h 16-bit values),
        by the rule of mist_ds.cost.plan_predict.p2p_time_s: a boundary is inter-node when the last
        GPU of a stage and the first of the next sit on different nodes (stages are consecutive
        rank blocks: DeepSpeed PipeDataParallelTopology, runtime/pipe/topology.py)."""
        key = (layout.micro_batch, layout.num_stages, layout.dp * layout.tp)
        if key not in self._p2p:
            self._p2p[key] = self._p2p_uncached(layout)
        return self._p2p[key]

    def _p2p_uncached(self, layout: Layout) -> float:
        request = self.request
        nbytes = ELEM * layout.micro_batch * request.seq_len * request.model.hidden_size
        gpn, per_stage = request.cluster.gpus_per_node, layout.dp * layout.tp
        worst = 0.0
        for index in range(1, layout.num_stages):
            boundary = index * per_stage
            inter = request.cluster.num_nodes > 1 and (boundary - 1) // gpn != boundary // gpn
            worst = max(worst, float(self.rates.collective_s("p2p", nbytes, 2, inter)))
        return worst

    def stage_p2p_s(self, layout: Layout, stage: np.ndarray) -> np.ndarray:
        """p2p seconds per micro-batch added to each stage's stable time: one per neighbour
        (mist_ds.cost.pipeline.pipeline_iteration_time's convention)."""
        neighbours = (stage > 0).astype(float) + (stage < layout.num_stages - 1).astype(float)
        return self.p2p_s(layout) * neighbours
