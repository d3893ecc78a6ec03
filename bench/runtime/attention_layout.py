#!/usr/bin/env python3
"""Does fused attention's speed depend on the tensors' memory layout? (GPU; one JSON file.)

    python bench/runtime/attention_layout.py --out attention_layout.json

The profiler (mist_ds/profile/compute.py attention) times SDPA on contiguous (batch, heads, seq, dim) tensors; the
runtime's block (mist_ds/runtime/blocks.py Attention.forward) passes transposed views of (batch, seq, heads, dim)
projections, k and v repeated to all heads when grouped (repeat_interleave: contiguous), and its output's gradient
arrives as a transposed view too (out.transpose(1, 2).reshape). Per shape this times SDPA's default dispatch (as
the runtime calls it) forward and backward both ways, with the profiler's timing (mist_ds/profile/timing.py
time_region: medians of CUDA-event samples after a warm-up) and names the kernel that ran.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.profile.compute import sdpa_kernel_name  # noqa: E402
from mist_ds.profile.timing import time_region  # noqa: E402

SHAPES = [  # (batch, heads, kv heads, seq, head dim): the profile's d64 grid, the suite's d64 and d128 models
    (8, 16, 16, 1024, 64), (4, 16, 16, 2048, 64), (2, 16, 16, 4096, 64), (1, 16, 16, 8192, 64),
    (2, 14, 2, 4096, 64),    # Qwen2-0.5B, mb 2
    (2, 32, 8, 4096, 64), (4, 32, 8, 4096, 64), (1, 32, 8, 8192, 64),  # Llama 3.2 1B
    (2, 32, 32, 4096, 128), (1, 32, 32, 4096, 128), (2, 16, 16, 4096, 128), (1, 24, 8, 4096, 128),  # 7B, 1.3B, 3B
    (2, 32, 32, 4096, 80),   # Llama-2.7B
]


def tensors(b: int, h: int, kv: int, s: int, d: int, layout: str):
    """q, k, v (b, h, s, d) as the profiler ('bhsd': contiguous) or the runtime ('bshd': transposed views of
    (b, s, heads, d), k and v repeated to h heads by repeat_interleave when grouped) makes them."""
    dev, dt = "cuda", torch.bfloat16
    if layout == "bhsd":
        return [torch.randn(b, h, s, d, device=dev, dtype=dt, requires_grad=True) for _ in range(3)]
    q = torch.randn(b, s, h, d, device=dev, dtype=dt).transpose(1, 2).requires_grad_()
    k, v = (torch.randn(b, s, kv, d, device=dev, dtype=dt).transpose(1, 2).requires_grad_() for _ in range(2))
    return [q, k, v]


def expanded(q, k, v):
    """k and v repeated to q's heads as the runtime does for SDPA."""
    if k.shape[1] != q.shape[1]:
        r = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(r, dim=1), v.repeat_interleave(r, dim=1)
    return q, k, v


def time_shape(shape, layout: str, warmup: int, repeats: int) -> dict:
    b, h, kv, s, d = shape
    q, k, v = tensors(b, h, h if layout == "bhsd" else kv, s, d, layout)
    qe, ke, ve = expanded(q, k, v)
    qe, ke, ve = (t.detach().requires_grad_() for t in (qe, ke, ve))

    def fwd():
        return F.scaled_dot_product_attention(qe, ke, ve, is_causal=True)

    o = fwd()
    g = torch.randn(b, s, h, d, device="cuda", dtype=o.dtype).transpose(1, 2) if layout == "bshd" \
        else torch.randn_like(o)
    f = time_region(fwd, warmup=warmup, repeats=repeats)
    bw = time_region(lambda: torch.autograd.grad(o, (qe, ke, ve), g, retain_graph=True), warmup=warmup,
                     repeats=repeats)
    kernel = sdpa_kernel_name(lambda q_, k_, v_, c: F.scaled_dot_product_attention(q_, k_, v_, is_causal=c),
                              qe, ke, ve, True)
    flops = 4.0 * b * h * s * s * d / 2
    fwd_s, bwd_s = statistics.median(f), statistics.median(bw)
    return {"batch": b, "num_heads": h, "num_kv_heads": kv, "seq_len": s, "head_dim": d, "layout": layout,
            "out_stride": list(o.stride()), "kernel": kernel, "fwd_time_s": fwd_s, "bwd_time_s": bwd_s,
            "fwd_tflops": flops / fwd_s / 1e12, "bwd_tflops": 2.5 * flops / bwd_s / 1e12}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for shape in SHAPES:
        for layout in ("bhsd", "bshd"):
            rows.append(time_shape(shape, layout, args.warmup, args.repeats))
            r = rows[-1]
            print(f"{shape} {layout:5s} {r['kernel']:11s} fwd {r['fwd_time_s'] * 1e3:.3f} ms ({r['fwd_tflops']:.0f})"
                  f" bwd {r['bwd_time_s'] * 1e3:.3f} ms ({r['bwd_tflops']:.0f})", flush=True)
            torch.cuda.empty_cache()
    info = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cudnn": torch.backends.cudnn.version()}
    args.out.write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
