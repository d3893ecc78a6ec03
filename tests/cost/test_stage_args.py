"""The one (plan, stage) -> cost-model arguments mapping, and the stage-boundary p2p rule, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mist_ds.config import get_preset
from mist_ds.cost.clock import slowest_boundary_p2p_s
from mist_ds.cost.stage import per_pair
from mist_ds.cost.stage_args import plan_stage_args
from tests.helpers import make_plan


def test_plan_stage_args_by_hand():
    model = get_preset("llama-7b")
    plan = make_plan(model, [{"end": 10, "num_recompute_layers": 2}, {"end": 20, "num_offloaded_layers": 3},
                             {"end": 32}], dp=1, micro_batch=1, global_batch=8, seq_len=4096, zero_stage=1,
                     offload_optimizer=1.0, offload_gradients=1.0)
    args = [plan_stage_args(plan, i) for i in range(3)]
    assert [bool(a.has_embedding) for a in args] == [True, False, False]
    assert [bool(a.has_head) for a in args] == [False, False, True]
    assert [int(a.num_inflight) for a in args] == [3, 2, 1]          # 1F1B: min(S - i, G)
    assert [a.num_layers for a in args] == [10, 10, 12]
    assert (args[0].num_recompute, args[1].num_offloaded) == (2, 3)
    assert all(int(a.num_stages) == 3 and a.grad_accum == 8 and a.micro_batch == 1 for a in args)
    assert all((a.zero_stage, a.offload_optimizer, a.offload_gradients, a.offload_weights) == (1, 1.0, 1.0, 0.0)
               for a in args)


class _Rates:
    """Records which p2p transfers were asked for: 1 s inside a node, 10 s across nodes."""

    def __init__(self):
        self.calls = []

    def collective_s(self, kind, nbytes, group, inter):
        self.calls.append((kind, nbytes, group, bool(inter)))
        return 10.0 if inter else 1.0


def test_only_boundaries_between_nodes_pay_inter_node_p2p():
    # 2 nodes x 2 GPUs, 4 one-GPU stages: boundaries before ranks 1, 2, 3; only rank 2 starts a node
    rates = _Rates()
    assert slowest_boundary_p2p_s(rates, [(1, 8.0), (2, 8.0), (3, 8.0)], 2, 2) == 10.0
    assert [c[3] for c in rates.calls] == [False, True, False]
    assert all(c[:3] == ("p2p", 8.0, 2) for c in rates.calls)
    one_node = _Rates()
    assert slowest_boundary_p2p_s(one_node, [(1, 8.0), (2, 8.0), (3, 8.0)], 4, 1) == 1.0
    assert slowest_boundary_p2p_s(_Rates(), [], 4, 1) == 0.0


def test_per_pair_evaluates_each_distinct_pair_once_and_handles_no_rows():
    """cost/stage.py per_pair: one call per distinct (micro-batch, tp), spread back over the arrays' shape with
    the value's own shape; an empty candidate set (a search with nothing left to cost) gives an empty table of
    the right shape, not an error."""
    calls = []

    def value(mb, tp):
        calls.append((mb, tp))
        return (mb, tp, mb * tp, 0)

    b, tp = np.array([[1, 2], [1, 4]]), np.array([[2, 2], [2, 1]])
    table = per_pair(b, tp, value, (4,))
    assert table.shape == (2, 2, 4) and sorted(calls) == [(1, 2), (2, 2), (4, 1)]
    assert table[1, 0].tolist() == [1, 2, 2, 0] and table[1, 1].tolist() == [4, 1, 4, 0]
    assert per_pair(np.zeros(0), np.zeros(0), value, (4,)).shape == (0, 4)
    assert per_pair(np.zeros(0), np.zeros(0), lambda mb, tp: 1.0).shape == (0,)
