"""The search's view of the cost model: one StageCostModel per request, plus pipeline p2p time."""

from __future__ import annotations

from mist_ds.config import HardwareProfile, TuneRequest
from mist_ds.cost.memory import ELEM
from mist_ds.cost.pipeline import slowest_boundary_p2p_s
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
        cached per (micro-batch, stages, GPUs per stage); mist_ds.cost.pipeline.slowest_boundary_p2p_s."""
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
