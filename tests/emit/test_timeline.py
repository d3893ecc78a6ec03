"""1F1B timeline simulation behind the PNG."""

from __future__ import annotations

import pytest

from mist_ds.emit.timeline import simulate_1f1b, stage_order


def test_stage_order_is_1f1b():
    assert stage_order(0, 3, 4) == [("F", 0), ("F", 1), ("F", 2), ("B", 0), ("F", 3), ("B", 1),
                                    ("B", 2), ("B", 3)]
    assert stage_order(2, 3, 4) == [("F", 0), ("B", 0), ("F", 1), ("B", 1), ("F", 2), ("B", 2),
                                    ("F", 3), ("B", 3)]


@pytest.mark.parametrize("stages, accum", [(1, 1), (1, 5), (2, 2), (4, 8), (4, 2)])
def test_uniform_pipeline_makespan(stages, accum):
    slots = simulate_1f1b([3.0] * stages, [0.0] * stages, accum)
    end = max(s.start_s + s.duration_s for s in slots)
    # uniform stages: (G + S - 1) stage times (Narayanan et al. 2021, 1F1B)
    assert end == pytest.approx((accum + stages - 1) * 3.0)
    assert sum(1 for s in slots if s.kind == "F") == stages * accum


def test_no_stage_overlaps_itself():
    slots = simulate_1f1b([1.0, 2.0, 1.5], [0.5, 0.2, 0.1], 6)
    for stage in range(3):
        mine = sorted((s.start_s, s.start_s + s.duration_s) for s in slots if s.stage == stage)
        assert all(a[1] <= b[0] + 1e-12 for a, b in zip(mine, mine[1:]))
