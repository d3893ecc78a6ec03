"""bench/accuracy/zero3_exposed.py: interval subtraction, pairing of the two ranks' collectives into
waiting-for-peer and transfer, and the committed ZeRO-3 trace pair (bench/accuracy/ZERO3_EXPOSED.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy import trace_kernels as tk
from bench.accuracy import zero3_exposed as z3

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "bench" / "results" / "accuracy" / "traces"


def test_minus_cuts_every_covered_piece():
    assert z3.minus([(0, 10), (20, 30)], [(2, 4), (6, 22), (25, 40)]) == [(0, 2), (4, 6), (22, 25)]
    assert z3.minus([(0, 10)], []) == [(0, 10)]
    assert z3.minus([(0, 10)], [(0, 10)]) == []


def _k(name: str, start: float, end: float, stream: int = 7) -> tk.Kernel:
    category = "nccl" if name.startswith("ncclDevKernel") else "attention" if "prop" in name else "gemm"
    return tk.Kernel(name, start, end, stream, category)


def _rank(ag_start: float) -> list[tk.Kernel]:
    """One one-block micro-batch: forward attention at 0, an all-gather on stream 25 from `ag_start`
    to 100 (both ranks' kernels end together), backward attention at 150 (after a GEMM 100-150)."""
    return [_k("cudnn_fprop", 0, 5), _k("ncclDevKernel_AllGather_RING_LL", ag_start, 100, 25),
            _k("nvjet_gemm", 100, 150), _k("cudnn_bprop", 150, 160)]


def test_waiting_for_the_later_rank_is_split_from_the_transfer():
    ranks = [_rank(10.0), _rank(60.0)]   # rank 0 starts 50 us before rank 1
    mbs = [tk.micro_batches(ks, 1) for ks in ranks]
    both = z3.twins(ranks)
    early = z3.exposed_split(ranks[0], mbs[0], both, 0)
    late = z3.exposed_split(ranks[1], mbs[1], both, 1)
    assert early[("fwd", "AllGather", "wait-peer")] == pytest.approx(0.050)
    assert early[("fwd", "AllGather", "transfer")] == pytest.approx(0.040)
    assert ("fwd", "AllGather", "wait-peer") not in late
    assert late[("fwd", "AllGather", "transfer")] == pytest.approx(0.040)


def test_mismatched_ranks_are_refused():
    with pytest.raises(SystemExit):
        z3.twins([_rank(10.0), _rank(60.0)[:1]])


def test_committed_pair_matches_the_write_up(capsys):
    assert z3.main([str(TRACES / "l7-z3-rc0.rank0.trace.json.gz"),
                    str(TRACES / "l7-z3-rc0.rank1.trace.json.gz")]) == 0
    out = capsys.readouterr().out
    assert "| AllGather | 985 | 220.2 | 1212.2 | 957.3 |" in out
    assert "| fwd | AllGather | wait-peer | 391.1 | 382.9 |" in out
    assert "| all | | | 634.1 | 638.9 |" in out
