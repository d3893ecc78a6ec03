"""GPU diagnostic: time the exact GEMMs of the validated layer shapes, cold (inputs rotated past
L2, as the profiler's grid does) and warm (the same buffers every call), to split a layer-time
error into grid-interpolation error and L2 effect. Writes JSON rows (one per layer shape):

    python profiling/gemm_check.py OUT.json
"""

from __future__ import annotations

import json
import sys

import torch

from mist_ds.config import get_preset
from mist_ds.profile.fit import summarize
from mist_ds.profile.grids import inner_iterations, rotation_count
from mist_ds.profile.layer_model import linears
from mist_ds.profile.layers import FULL_SHAPES
from mist_ds.profile.timing import L2Flusher, estimate_s, time_region


def gemm_s(m: int, n: int, k: int, sets: int, dev: torch.device) -> float:
    """Median seconds of (m x k) @ (k x n) in bf16 cycling through `sets` input sets."""
    xs = [torch.randn(m, k, device=dev, dtype=torch.bfloat16) for _ in range(sets)]
    ws = [torch.randn(n, k, device=dev, dtype=torch.bfloat16) for _ in range(sets)]
    ys = [torch.empty(m, n, device=dev, dtype=torch.bfloat16) for _ in range(sets)]
    state = {"i": 0}

    def run() -> None:
        i = state["i"] = (state["i"] + 1) % sets
        torch.mm(xs[i], ws[i].t(), out=ys[i])

    inner = inner_iterations(estimate_s(run))
    return summarize(time_region(run, warmup=3, repeats=11, inner=inner)).median


def main(out: str) -> None:
    dev = torch.device("cuda", 0)
    l2 = L2Flusher(dev).l2_bytes
    rows = []
    for preset, batch, seq in FULL_SHAPES:
        spec, m = get_preset(preset), batch * seq
        shapes = [(m, o, i) for o, i in linears(spec)]
        shapes += [(m, i, o) for o, i in linears(spec)] + [(o, i, m) for o, i in linears(spec)]
        times = []
        for gm, gn, gk in shapes:
            sets = min(rotation_count(2 * (gm * gk + gn * gk + gm * gn), l2), 16)
            times.append((gemm_s(gm, gn, gk, sets, dev), gemm_s(gm, gn, gk, 1, dev)))
        nf = len(linears(spec))
        rows.append({"preset": preset, "batch": batch, "seq_len": seq,
                     "fwd_cold_ms": 1e3 * sum(t[0] for t in times[:nf]),
                     "fwd_warm_ms": 1e3 * sum(t[1] for t in times[:nf]),
                     "bwd_cold_ms": 1e3 * sum(t[0] for t in times[nf:]),
                     "bwd_warm_ms": 1e3 * sum(t[1] for t in times[nf:])})
        print(rows[-1], flush=True)
    with open(out, "w") as handle:
        json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
