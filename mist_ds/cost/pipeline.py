"""Iteration time of a non-interleaved 1F1B pipeline from per-stage stable/delta times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def inflight_microbatches(stage_index: int, num_stages: int, grad_accum: int) -> int:
    """Micro-batches whose activations stage i holds at its peak under 1F1B: min(S - i, G)
    (Narayanan et al. 2021, PipeDream-Flush; DeepSpeed pipe/schedule.py TrainSchedule)."""
    return max(1, min(num_stages - stage_index, grad_accum))


def slowest_boundary_p2p_s(rates, boundaries: Sequence[tuple[int, float]], gpus_per_node: int,
                           num_nodes: int) -> float:
    """Seconds of the slowest stage-boundary p2p transfer of one micro-batch.

    `boundaries` holds (first global rank of the receiving stage, bytes sent) per boundary. Stages
    occupy consecutive rank blocks (DeepSpeed PipeDataParallelTopology puts the pipe axis
    outermost, runtime/pipe/topology.py), so a boundary is inter-node when the ranks on either side
    of it sit on different nodes; the time is the profile's p2p alpha-beta fit (`rates.collective_s`).
    """
    worst = 0.0
    for first_rank, nbytes in boundaries:
        inter = num_nodes > 1 and (first_rank - 1) // gpus_per_node != first_rank // gpus_per_node
        worst = max(worst, float(rates.collective_s("p2p", nbytes, 2, inter)))
    return worst


def pipeline_iteration_time(stable_s: Sequence[float], delta_s: Sequence[float], p2p_s: float,
                            grad_accum: int) -> float:
    """Seconds per optimizer step of a 1F1B pipeline.

    T = sum_i st_i + (G-1) * max_i st_i + max_i (delta_i - sum_{j<i} st_j), with
    st_i = stable_i + p2p_s * (number of neighbours of stage i): every stage sends its activation
    forward and its input gradient backward once per micro-batch (blocking send/recv in
    DeepSpeed's PipelineEngine, pipe/p2p.py), so the fill/drain path crosses each boundary and
    the steady state pays the slowest stage's transfers. The first two terms are the 1F1B
    critical path (fill + drain once, G-1 steady micro-batches at the slowest stage: Narayanan et
    al. 2021, section 2.2); the last is Mist's imbalance-aware delta term (inter_tuning_mip.py
    objective, MIST.md section 3): stage i's step-time work overlaps the drain of earlier stages.
    """
    stable = np.asarray(stable_s, float)
    delta = np.asarray(delta_s, float)
    num = len(stable)
    if num == 0 or len(delta) != num:
        raise ValueError("need one stable and one delta time per stage")
    if grad_accum < 1:
        raise ValueError("grad_accum must be >= 1")
    neighbours = np.full(num, 2.0)
    neighbours[0] -= 1
    neighbours[-1] -= 1
    effective = stable + p2p_s * np.maximum(neighbours, 0.0)
    before = np.concatenate(([0.0], np.cumsum(effective)[:-1]))
    return float(effective.sum() + (grad_accum - 1) * effective.max() + np.max(delta - before))
