"""MistPipelineModule: a DeepSpeed PipelineModule whose stage boundaries come from the plan.

Layer list: [embedding, block 0 .. block L-1, final norm, LM head]; stage s owns blocks
[layer_start, layer_end) of plan.stages[s], stage 0 also the embedding, the last stage the norm and
head. With tied embeddings the embedding and head are one TiedLayerSpec (DeepSpeed all-reduces the
tied gradient between the first and last stage; with one stage — a mistpipe plan, or mistpipe's
tests — both are the same module). Layers are LayerSpecs,
so each rank builds only its own stage (DeepSpeed PipelineModule._build).
"""

from __future__ import annotations

from deepspeed.pipe import LayerSpec, PipelineModule, TiedLayerSpec

from mist_ds.config import Plan
from mist_ds.runtime.blocks import Norm
from mist_ds.runtime.model import (BuildOptions, Embedding, LMHead, VocabParallelLoss, block_roles,
                                   block_class, tied_head_forward)


def spec_boundaries(plan: Plan) -> list[int]:
    """DeepSpeed `parts` (layer-list indices, len S+1) for the plan's stage boundaries."""
    inner = [stage.layer_end + 1 for stage in plan.stages[:-1]]  # +1: the embedding is index 0
    return [0, *inner, plan.model.num_layers + 3]


def plan_roles(plan: Plan) -> dict[int, str]:
    """recompute / offload / keep for every block, from each stage's own counts."""
    roles: dict[int, str] = {}
    for stage in plan.stages:
        roles.update(block_roles(stage.layer_start, stage.layer_end, stage.num_recompute_layers,
                                 stage.num_offloaded_layers))
    return roles


def layer_specs(plan: Plan, opts: BuildOptions) -> list:
    """The lazily built layer list of the whole model."""
    spec = plan.model
    roles = plan_roles(plan)
    if spec.tie_embeddings:  # one stage: PipelineModule builds the "embed" key once and shares it
        first = TiedLayerSpec("embed", Embedding, spec, opts, True, tied_weight_attr=["tok.weight"])
        last = TiedLayerSpec("embed", Embedding, spec, opts, False, forward_fn=tied_head_forward,
                             tied_weight_attr=["tok.weight"])
    else:
        first, last = LayerSpec(Embedding, spec, opts), LayerSpec(LMHead, spec, opts)
    blocks = [LayerSpec(block_class(roles[i]), spec, opts.tp_group, opts.dtype, layer_index=i,
                        recompute=roles[i] == "recompute", **opts.block_kwargs())
              for i in range(spec.num_layers)]
    norm = LayerSpec(Norm, spec, device=opts.device, dtype=opts.dtype, impl=opts.kernels.norm)
    return [first, *blocks, norm, last]


class MistPipelineModule(PipelineModule):
    """PipelineModule with explicit, possibly uneven, stage boundaries taken from the plan."""

    def __init__(self, plan: Plan, opts: BuildOptions, topology):
        # set before PipelineModule.__init__, which calls _partition_layers from inside
        object.__setattr__(self, "_mist_parts", spec_boundaries(plan))
        super().__init__(layers=layer_specs(plan, opts), topology=topology,
                         loss_fn=VocabParallelLoss(plan.model, opts.tp_group, opts.loss),
                         partition_method="mist-explicit")

    def _partition_layers(self, method: str = "mist-explicit") -> None:
        stage_id = self._topo.get_coord(self.global_rank).pipe
        self.parts = list(self._mist_parts)
        if len(self.parts) != self.num_stages + 1:
            raise ValueError(f"plan has {len(self.parts) - 1} stages, topology {self.num_stages}")
        self._set_bounds(start=self.parts[stage_id], stop=self.parts[stage_id + 1])
