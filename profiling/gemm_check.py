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
from mist_ds.profile.compute import gemm_summary
from mist_ds.profile.fit import summarize
from mist_ds.profile.grids import rotation_count
from mist_ds.cost.layer_time import block_linears as linears
from mist_ds.profile.layers import FULL_SHAPES
from mist_ds.profile.timing import L2Flusher, time_region


def gemm_s(m: int, n: int, k: int, sets: int, dev: torch.device) -> float:
    """Median seconds of (m x k) @ (k x n) in bf16 cycling through `sets` input sets."""
    return gemm_summary(m, n, k, sets, dev, warmup=3, repeats=11).median


def variants(dev: torch.device) -> dict:
    """llama-7b b=2 s=4096 forward GEMMs four ways: torch.mm(out=) as the grid times them,
    F.linear as the block calls them, F.linear on block-like data (normalised x, 0.02-std
    weights), and F.linear 20x back to back (sustained power). Kernel names via the profiler."""
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    spec, m = get_preset("llama-7b"), 8192
    result = {}
    for name in ("mm_out", "linear", "linear_blocklike", "linear_sustained"):
        total, kernels = 0.0, set()
        for o, i in linears(spec):
            x = torch.randn(m, i, device=dev, dtype=torch.bfloat16)
            w = torch.randn(o, i, device=dev, dtype=torch.bfloat16)
            if name == "linear_blocklike":
                x, w = F.rms_norm(x, (i,)), w * 0.02
            y = torch.empty(m, o, device=dev, dtype=torch.bfloat16)
            fn = (lambda: torch.mm(x, w.t(), out=y)) if name == "mm_out" else (lambda: F.linear(x, w))
            inner = 20 if name == "linear_sustained" else 1
            total += summarize(time_region(fn, warmup=3, repeats=11, inner=inner)).median
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                fn()
                torch.cuda.synchronize()
            kernels |= {e.key[:60] for e in prof.key_averages() if "nvjet" in e.key or "gemm" in e.key.lower()}
        result[name] = {"fwd_ms": 1e3 * total, "kernels": sorted(kernels)}
        print(name, result[name], flush=True)
    return result


def main(out: str) -> None:
    dev = torch.device("cuda", 0)
    l2 = L2Flusher(dev).l2_bytes
    rows = []
    for preset, batch, seq in FULL_SHAPES if "--variants-only" not in sys.argv else ():
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
        json.dump({"shapes": rows, "variants": variants(dev)}, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
