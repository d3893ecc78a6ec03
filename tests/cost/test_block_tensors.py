"""cost/shapes.py block_tensors: a block's parameter tensors in the runtime's order, which is the flat
order of a mistpipe unit (the fused-gradient credit, cost/mistpipe.py accumulate_s, depends on it)."""

from __future__ import annotations

import pytest

from mist_ds.cost.shapes import block_tensors, layer_shapes
from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model


@pytest.mark.parametrize("flags", [{}, *ARCHITECTURE_VARIANTS.values()], ids=["gpt", *ARCHITECTURE_VARIANTS])
def test_block_tensors_follow_the_runtime_blocks_parameter_order(flags):
    from mist_ds.runtime.blocks import TransformerBlock
    from mist_ds.runtime.tp import FusedColumnLinear, ParallelLinear

    spec = tiny_model(**flags)
    block = TransformerBlock(spec, layer_index=0)
    linear_weights = {id(m.weight) for m in block.modules() if isinstance(m, (ParallelLinear, FusedColumnLinear))}
    runtime = [(p.numel(), id(p) in linear_weights) for p in block.parameters()]
    assert [(t.sharded + t.replicated, t.linear_weight) for t in block_tensors(spec)] == runtime
    shapes = layer_shapes(spec)
    assert sum(t.sharded for t in block_tensors(spec)) == shapes.sharded_params
    assert sum(t.replicated for t in block_tensors(spec)) == shapes.replicated_params
