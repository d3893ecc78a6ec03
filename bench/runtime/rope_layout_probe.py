#!/usr/bin/env python3
"""Which layout cuDNN SDPA's backward hands the compiled RoPE, and what each output layout costs in situ
(issue 14). One GPU, llama-2.7b heads (32 x 80) or llama-7b (32 x 128), seq 4096, micro-batch 2:

    python3 bench/runtime/rope_layout_probe.py --out $OUT/rope_layout.json

For each variant, split_qkv-like function + cuDNN SDPA, forward + backward timed (CUDA events, median of
10 after 3 warm-ups), the strides of dq as the rotation's backward receives it, and the copy / cat kernels
of one profiled backward. Variants: 'eager' (kernels.split_qkv 'torch' + _own_storage), 'bshd' (the
runtime's compiled torch_qkv_rope: (b, s, h, d) outputs), 'bhsd' (the same function with (b, h, s, d)
contiguous outputs)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from mist_ds.runtime import kernels as K  # noqa: E402
from mist_ds.runtime.blocks import _own_storage  # noqa: E402


def bhsd_qkv_rope(fused, sizes, head_dim, cos, sin):
    q, k, v = K.torch_qkv_rope(fused, sizes, head_dim, cos, sin)
    return tuple(t.transpose(1, 2).contiguous() for t in (q, k, v))


def variant(name, fused, heads, d, cos, sin):
    if name == "eager":
        return _own_storage(list(K.split_qkv(fused, (heads,) * 3, d, cos, sin, "torch")), fused)
    if name == "bshd":
        return list(K.split_qkv(fused, (heads,) * 3, d, cos, sin, "compile"))
    return list(K.compiled(bhsd_qkv_rope)(fused, (heads,) * 3, d, cos, sin))


def measure(name, heads, d, batch, seq):
    fused = torch.randn(batch, seq, 3 * heads * d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    cos, sin = K.rope_cos_sin(seq, d, 10000.0, "cuda", torch.bfloat16)
    strides = {}

    def step(record=False):
        fused.grad = None
        q, k, v = variant(name, fused, heads, d, cos, sin)
        if record:
            q.register_hook(lambda g: strides.update(dq=list(g.stride())))
            strides["q"] = list(q.stride())
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out.backward(grad)

    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        q, k, v = variant(name, fused, heads, d, cos, sin)
        grad = torch.randn_like(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    step(record=True)
    for _ in range(2):
        step()
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(); step(); end.record(); torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step(); torch.cuda.synchronize()
    kernels = [(e.name[:90], round(e.device_time, 1)) for e in prof.events()
               if e.device_type.name == "CUDA" and "sdpa" not in e.name.lower() and "cudnn" not in e.name.lower()]
    return {"median_ms": round(statistics.median(times), 3), "strides": strides, "kernels": kernels}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cases": {}}
    for label, heads, d in (("llama-2.7b", 32, 80), ("llama-7b", 32, 128)):
        for name in ("eager", "bshd", "bhsd"):
            key = f"{label}/{name}"
            try:
                result["cases"][key] = measure(name, heads, d, 2, 4096)
            except Exception as err:  # one failing variant leaves the others measured
                result["cases"][key] = {"error": f"{type(err).__name__}: {err}"[:300]}
            print(key, json.dumps({k: v for k, v in result["cases"][key].items() if k != "kernels"}), flush=True)
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
