#!/usr/bin/env python3
"""The profile's GEMM price against the same GEMMs timed now, L2-cold and L2-hot (1 GPU).

    python3 bench/runtime/gemm_insitu.py --out gemm.json [--hardware h200-1gpu-node] [--models llama3.2-1b,...]

For every block GEMM the cost model prices (cost/layer_time.py block_parts: forward (m, out, in), backward
(m, in, out) and (out, in, m), at m = micro-batch x seq tokens) and the LM head's, times
mist_ds/profile/compute.py gemm_summary (the profiler's own benchmark, nn.Linear's layout) with input sets
rotated past L2 (as the profile was measured) and with one set (cache-hot, as a layer's output feeds the
next GEMM), beside matmul_time_s on the shipped profile. Writes one JSON record per GEMM; prints a table.
Session 27's profiled Llama 3.2 1B step ran its block GEMMs 11-15% faster than priced
(bench/results/runtime/l321b_z1_trace_S27/): this separates a stale table from cache effects.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.config import get_preset  # noqa: E402
from mist_ds.config.hw_lookup import matmul_time_s  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.layer_time import block_linears  # noqa: E402
from mist_ds.cost.shapes import vocab_shard  # noqa: E402


def gemm_shapes(model, tokens: int) -> list[tuple[str, int, int, int]]:
    """(name, m, n, k) of one block's forward and backward GEMMs and the head's, as block_parts prices them."""
    shapes = []
    for out, inp in block_linears(model) + [(int(vocab_shard(model, 1)), model.hidden_size)]:
        tag = f"{out}x{inp}"
        shapes += [(f"{tag} fwd", tokens, out, inp), (f"{tag} dgrad", tokens, inp, out),
                   (f"{tag} wgrad", out, inp, tokens)]
    return shapes


def main() -> int:
    import torch

    from mist_ds.profile.compute import gemm_summary
    from mist_ds.profile.grids import rotation_count
    from mist_ds.profile.timing import L2Flusher

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--hardware", default="h200-1gpu-node")
    parser.add_argument("--models", default="llama3.2-1b,llama3.2-3b,llama-2.7b")
    parser.add_argument("--tokens", type=int, default=4096)
    args = parser.parse_args()
    hw, dev = load_hardware(args.hardware), torch.device("cuda")
    l2 = L2Flusher(dev).l2_bytes
    rows = []
    for name in args.models.split(","):
        for label, m, n, k in gemm_shapes(get_preset(name), args.tokens):
            cold_sets = max(2, rotation_count(2 * (m * k + n * k + m * n), l2))
            cold = gemm_summary(m, n, k, min(cold_sets, 8), dev, warmup=5, repeats=20).median
            hot = gemm_summary(m, n, k, 1, dev, warmup=5, repeats=20).median
            priced = matmul_time_s(hw, m, n, k)
            rows.append({"model": name, "gemm": label, "m": m, "n": n, "k": k, "priced_s": priced,
                         "cold_s": cold, "hot_s": hot})
            print(f"{name:12s} {label:22s} priced {priced * 1e3:7.3f} ms  cold {cold * 1e3:7.3f}  hot {hot * 1e3:7.3f}"
                  f"  cold/priced {cold / priced:5.2f}", flush=True)
    Path(args.out).write_text(json.dumps({"device": torch.cuda.get_device_name(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
