"""The copy windows of one mistpipe micro-batch: what cost/mistpipe.py's structural per-block time is
summed from (copy_window_walls), by the engine's prefetch order (runtime/mistpipe/stage.py), with
Mist's interference model for what runs at once (Rates.overlapped_s, MIST.md section 2).
Pure: numpy only."""

from __future__ import annotations

import numpy as np

from mist_ds.config.executors import MISTPIPE
from mist_ds.cost.distinct import distinct_rows
from mist_ds.cost.mistpipe_state import SLOTS
from mist_ds.cost.rates import Rates

QUEUE_BLOCKS = MISTPIPE.constants.d2h_queue_blocks
"""Offloaded blocks' copies the engine lets be in flight at once (bounded_queue)."""


def overlapped(rt: Rates, *channels) -> np.ndarray:
    """Rates.overlapped_s (compute, nccl, h2d, d2h), run only on rows where something moves beside
    compute (the rest is compute alone)."""
    shape = np.broadcast_shapes(*[np.shape(c) for c in channels])
    table = np.stack([np.broadcast_to(np.asarray(c, float), shape).ravel() for c in channels], axis=1)
    out = table[:, 0].copy()
    side = np.flatnonzero(table[:, 1:].sum(axis=1) > 0)
    if len(side):
        out[side] = rt.overlapped_s(*table[side].T)
    return out.reshape(shape)


def _under_d2h(rt: Rates, d2h_slowdown: float, compute, nccl, h2d) -> np.ndarray:
    """Wall time of a window's compute and due copies while a d2h copy runs beside them the whole
    time (a backlog of offloaded activations, actoffload.py pack: nothing waits for it): the fixed
    point of overlapped(compute, nccl, h2d, W / s) = W, s the d2h channel's slowdown among compute,
    h2d and d2h (the d2h moves W / s seconds of its own work while the window lasts; once compute
    is done it moves a little faster, profile h200: slowdown 1.077 instead of 1.087, which this
    leaves out: under 1% of such a window)."""
    wall = overlapped(rt, compute, nccl, h2d, 0.0)
    for _ in range(6):  # contracts: the window's slope in the d2h work is below 1 (s_h2d - 1 < s_d2h)
        wall = overlapped(rt, compute, nccl, h2d, wall / d2h_slowdown)
    return wall


def window_times(rt: Rates, d2h_slowdown: float, groups,
                 queue: bool = True) -> list[tuple[np.ndarray, np.ndarray | None] | None]:
    """Per group of copy windows (count, compute, nccl, h2d: window_walls), the wall time of one of its
    windows by row (the group's columns broadcast): (alone, beside), without and with a d2h queue running
    beside it the whole window (_under_d2h; None when not `queue`: no queue ever runs); None for a group
    with no window on any row. The distinct rows of all groups (distinct_rows) go through
    Rates.overlapped_s together: the same numbers, row by row, as group by group, in a few calls instead
    of a few per group."""
    parts = []
    for count, compute, nccl, h2d in groups:
        if not np.any(count):
            parts.append(None)
            continue
        shape = np.broadcast_shapes(*(np.shape(x) for x in (count, compute, nccl, h2d)))
        parts.append((shape, *distinct_rows(shape, compute, nccl, h2d)))
    live = [part for part in parts if part is not None]
    if not live:
        return parts
    columns = [np.concatenate([keys[i] for _, keys, _ in live]) for i in range(3)]
    alone = overlapped(rt, *columns, 0.0)
    beside = _under_d2h(rt, d2h_slowdown, *columns) if queue else None
    out, start = [], 0
    for part in parts:
        if part is None:
            out.append(None)
            continue
        shape, keys, inverse = part
        rows = slice(start, start + len(keys[0]))
        out.append((alone[rows][inverse].reshape(shape),
                    None if beside is None else beside[rows][inverse].reshape(shape)))
        start = rows.stop
    return out


def window_walls(rt: Rates, d2h_slowdown: float, groups, d2h_work, times=None):
    """(summed wall time, d2h work left) of consecutive groups of copy windows, in the order the
    stage runs them. A group is (count, compute, nccl, h2d) per window: `compute` the compute-stream
    work of the window, `nccl` / `h2d` the copies that must finish by its end (the engine's
    prefetches, issued as the window starts: runtime/mistpipe/stage.py). `d2h_work` (seconds at the
    d2h rate) is a background copy queue (offloaded activations, gradient sections out): it runs
    beside the windows from the first one until drained, slowing their h2d copies (Mist's
    interference, Rates.overlapped_s); windows after it drains run without it. Within a group the
    drained point falls between windows: `covered` windows see the queue, the rest do not. `times`:
    window_times of `groups` (computed here when None; copy_window_walls computes those of all its
    groups at once)."""
    total = 0.0
    left = np.asarray(d2h_work, float)
    if times is None:
        times = window_times(rt, d2h_slowdown, groups, queue=bool(np.any(left > 0)))
    for (count, *_), walls in zip(groups, times):
        if walls is None:
            continue
        alone, beside = walls
        if not np.any(left > 0):
            total = total + count * alone
            continue
        moved = beside / d2h_slowdown  # d2h work one window moves
        covered = np.clip(left / np.maximum(moved, 1e-30), 0.0, count)
        total = total + covered * beside + (count - covered) * alone
        left = np.maximum(left - covered * moved, 0.0)
    return total, left


def bounded_queue(wall, left, act_out, na, blocks: int = QUEUE_BLOCKS):
    """(wall, d2h work left) of the offloaded blocks' forward windows under the offloader's bound
    (runtime/mistpipe/actoffload.py CopyQueue, MistpipeConstants.d2h_queue_blocks): a block's pack
    waits on the compute stream until at most `blocks` blocks' copies are in flight, so when the
    last offloaded block's forward ends at most min(na, blocks) blocks' copies are left; the
    excess drained while compute waited, the d2h copy engine alone (its own rate: `left` is seconds
    of d2h work). The waits are summed at the end: the same total as spread over the blocks.
    `blocks` 0: no bound (the caching allocator holds the sources; nothing waits)."""
    if blocks <= 0:
        return wall, left
    kept = np.minimum(na, blocks) * act_out / np.maximum(na, 1)
    return wall + np.maximum(left - kept, 0.0), np.minimum(left, kept)


def load_queue_stall(layers, top_lo, b, fill, section, load, last_fill) -> np.ndarray:
    """Compute-stream stall of the kept blocks' backward windows behind the top offloaded block's
    activation load. backward_begin(L-1) (runtime/mistpipe/stage.py) issues, in this order, block
    L-2's fill and gradient section (h2d stream) and the top offloaded block's load (the next
    offloaded block below: actoffload.py prefetch, act_h2d stream); every later window u issues
    block u-1's fill and section on the h2d stream. The two streams are separate but their
    host-to-device copies share the device's h2d copy engine, which runs them in issue order (S5
    trace digest of 'all', rank 1: the section-in of a window starts when the 576 MiB load ends,
    and the compute stream resumes when it is done, bench/engine/STEP_TIMELINE.md section 6). So
    window u's copies, issued (L-1-u) windows after the load, are ready at `load` + the copies of
    windows L-1..u, and are needed when window u-1 starts, (L-u) windows of `b` after the first:
    the stall is the largest lateness over the kept windows u in [top_lo, L-2] that issue a copy
    (max over n = L - u >= 2 of load + copies(L-n..L-1) - n b, clipped at 0). Without copies behind
    it (no fills or sections) the load delays nothing here: its own deadline, the top offloaded
    block's backward, is the joint window of copy_window_walls."""
    layers = np.asarray(layers, float)
    out = np.zeros(np.broadcast_shapes(np.shape(layers), np.shape(top_lo), np.shape(b), np.shape(fill),
                                       np.shape(section), np.shape(load)))
    if not np.any(np.asarray(load) > 0):  # no activation load: nothing to stall behind
        return out
    for n in range(2, int(np.max(layers, initial=0)) + 1):
        u = layers - n  # the window whose copies (for block u-1) are late
        issues = ((u >= 1) & (u <= last_fill) & (fill > 0)) | ((u >= 1) & (section > 0))
        fills = np.maximum(np.minimum(layers - 1, last_fill) - np.maximum(u, 1) + 1, 0.0) * (fill > 0)
        sections = np.maximum(layers - 1 - np.maximum(u, 1) + 1, 0.0)
        late = load + fills * fill + sections * section - n * b
        out = np.where(issues & (u >= top_lo) & (load > 0), np.maximum(out, late), out)
    return out


def copy_window_walls(rt: Rates, d2h_bg: float, a, layers, block, ends, copies,
                      queue_blocks: int = QUEUE_BLOCKS) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward wall times of one micro-batch summed over per-block copy windows
    (window_walls), by the engine's prefetch order (runtime/mistpipe/stage.py):
    * forward (_forward_begin): block u's forward hides block u+1's weight fill; blocks 0..SLOTS-1
      are still in the slots from the backward before (fills_per_iteration), so windows
      SLOTS-1..L-2 carry a fill. Offloaded blocks r..r+na-1 (block_roles: after the r recomputed
      ones) queue their saved tensors d2h as forward saves them (actoffload.py pack): a background
      queue from block r on, left over into the backward, of at most `queue_blocks` blocks' copies
      when their forward ends (bounded_queue);
    * backward (backward_begin(u)): block u's backward (a recomputed block's with its forward)
      hides block u-1's fill (blocks L-1..L-SLOTS hit the slots) and gradient section (u >= 1),
      and the load of the next offloaded block below u. So the top offloaded block's load hides
      behind the K = L - r - na kept blocks above it (with K = 0 nothing hides it: the backward
      starts by fetching it), and each other offloaded block's load behind the one offloaded
      block above it alone. The head's backward runs before block L-1's and hides nothing.
    `block`: (forward, backward with the accumulation) of one block; `ends`: (head, embedding),
    split 1/3 forward, 2/3 backward as in cost/stage_time.py; `d2h_bg` the d2h channel's slowdown beside
    compute and h2d (the profile's interference factors)."""
    (f, b), (head, emb) = block, ends
    r, na = a["num_recompute"], a["num_offloaded"]
    fill, gather, section = copies["fill"], copies["gather"], copies["section_in"]
    last_fill = layers - SLOTS  # highest block index a backward window fills for: u - 1 <= L - 1 - SLOTS

    def span(lo, hi, a_, b_):  # integers in [lo, hi] and [a_, b_]
        return np.maximum(np.minimum(hi, b_) - np.maximum(lo, a_) + 1, 0.0)

    def forward(lo, hi):  # forward windows of blocks lo..hi: with a fill (u in SLOTS-1..L-2) or not
        with_fill = span(lo, hi, SLOTS - 1, layers - 2) * (fill > 0)
        return [(with_fill, f, gather, fill), (span(lo, hi, 0, layers - 1) - with_fill, f, 0.0, 0.0)]

    def backward(lo, hi, c, load=0.0):  # backward windows lo..hi: fill (u <= L-SLOTS) + section (u >= 1)
        with_fill = span(lo, hi, 1, last_fill) * (fill > 0)
        with_section = span(lo, hi, 1, layers - 1) - with_fill
        rest = span(lo, hi, 0, layers - 1) - with_fill - with_section
        return [(with_fill, c, gather, fill + section + load), (with_section, c, 0.0, section + load),
                (rest, c, 0.0, load)]

    # the kept blocks above the offloaded ones: each hides its own fill and section, and together
    # the top offloaded block's load (one window of their summed backward)
    kept = layers - r - na
    top_lo = layers - kept
    top_fills = span(top_lo, layers - 1, 1, last_fill) * (fill > 0)
    top_sections = span(top_lo, layers - 1, 1, layers - 1)
    phases = {"early": [(1.0, emb / 3, 0.0, 0.0)] + forward(0, r - 1), "offloaded": forward(r, r + na - 1),
              "kept": forward(r + na, layers - 1) + [(1.0, head / 3, 0.0, 0.0)],
              "head": [(1.0, 2 * head / 3, 0.0, 0.0)],
              "joint": [(1.0, kept * b, top_fills * gather, top_fills * fill + top_sections * section
                         + copies["act_in"])],
              "each": backward(top_lo, layers - 1, b),
              "below": (backward(r + 1, r + na - 1, b, copies["act_in"])
                        + backward(np.where(na > 0, r, top_lo), np.where(na > 0, r, top_lo - 1), b)
                        + backward(0, r - 1, b + f) + [(1.0, 2 * emb / 3, 0.0, 0.0)])}
    queue = bool(np.any(np.asarray(copies["act_out"]) > 0) or np.any(np.asarray(copies["section_out"]) > 0))
    flat = window_times(rt, d2h_bg, [group for groups in phases.values() for group in groups], queue)
    times, start = {}, 0
    for name, groups in phases.items():
        times[name], start = flat[start:start + len(groups)], start + len(groups)

    def walls(name, left):  # window_walls of one phase, with the times computed for all at once
        return window_walls(rt, d2h_bg, phases[name], left, times[name])

    early, _ = walls("early", 0.0)
    offloaded, left = bounded_queue(*walls("offloaded", copies["act_out"]), copies["act_out"], na, queue_blocks)
    kept_f, left = walls("kept", left)
    late = offloaded + kept_f
    head_b, left = walls("head", left + copies["section_out"])
    joint, left_joint = walls("joint", left)
    each, left_each = walls("each", left)
    each = each + load_queue_stall(layers, top_lo, b, fill, section, copies["act_in"], last_fill)
    below, _ = walls("below", np.minimum(left_joint, left_each))
    return early + late, head_b + np.maximum(joint, each) + below
