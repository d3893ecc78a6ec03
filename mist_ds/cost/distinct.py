"""The distinct rows of a few broadcast columns: what the cost model's row-by-row computations run on
(cost/mistpipe_windows.py window_times, cost/shapes.py _per_distinct_row). Pure: numpy only."""

from __future__ import annotations

import numpy as np


def distinct_rows(shape, *columns) -> tuple[list[np.ndarray], np.ndarray]:
    """(the distinct rows of `columns` broadcast to `shape`, one array per column; the index of each
    flattened row among them). A search's rows repeat few distinct inputs (mistpipe's copy windows
    are per block and per setting, not per layer or recompute count; a stage's ZeRO-3 sub-groups per
    layout and layer count: consecutive rows often repeat), so a row-by-row computation
    (Rates.overlapped_s, a per-stage count) done on the distinct rows gives the same numbers.
    Runs of equal consecutive rows count once; each column of the runs is coded by its sorted
    distinct values (a scalar column by 0) and a row by the mixed-radix number of its codes (int64:
    when that could overflow, every run is its own)."""
    size = int(np.prod(shape))
    flats = [np.broadcast_to(np.asarray(c, float), shape).ravel() for c in columns]
    starts = np.zeros(size, bool)
    starts[:1] = True
    for column, flat in zip(columns, flats):
        if np.ndim(column) > 0:
            starts[1:] |= flat[1:] != flat[:-1]
    heads = np.flatnonzero(starts)
    run = np.cumsum(starts) - 1
    key = np.zeros(len(heads), np.int64)
    radix = 1
    for column, flat in zip(columns, flats):
        if np.ndim(column) == 0:
            continue
        values, code = np.unique(flat[heads], return_inverse=True)
        radix *= max(len(values), 1)
        if radix >= 2**62:
            return [flat[heads] for flat in flats], run
        key = key * len(values) + code.reshape(-1)
    _, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    first = np.empty(int(inverse.max(initial=-1)) + 1, np.int64)
    first[inverse] = heads  # any row of each distinct key: they are equal
    return [flat[first] for flat in flats], inverse[run]
