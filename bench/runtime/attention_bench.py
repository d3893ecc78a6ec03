"""Causal attention forward + backward per kernel (issue 14 item 5): runtime/kernels.py
causal_attention with 'sdpa_flash', 'sdpa_cudnn', 'sdpa_efficient', 'flash_attn' (when
importable) and 'sdpa' (SDPA's own dispatch), bf16, head_dim 128, 16384 tokens per micro-batch
at seq 2048 / 4096 / 8192, for multi-head (32 heads) and grouped-query (32 q / 8 kv heads)
attention. GQA goes through the runtime's path: SDPA kernels get k/v repeated (timed),
flash-attn takes them at kv width. A kernel that refuses a shape is recorded with its error.
"""

from __future__ import annotations

import torch

from bench.runtime.timing import Budget, flash_attn_available, run_case, time_ms
from mist_ds.runtime.kernels import causal_attention

TOKENS, HEAD_DIM = 16384, 128
SHAPES = [(seq, 32, kv) for seq in (2048, 4096, 8192) for kv in (32, 8)]  # (seq, heads, kv heads)
SMALL_SHAPES = [(64, 4, 4), (64, 4, 2)]


def kernels(device: torch.device) -> list[str]:
    if device.type != "cuda":
        return ["sdpa", "math"]
    names = ["sdpa", "sdpa_flash", "sdpa_cudnn", "sdpa_efficient"]
    return names + (["flash_attn"] if flash_attn_available() else [])


def case(kernel: str, seq: int, heads: int, kv: int, batch: int, head_dim: int,
         device: torch.device) -> dict:
    def leaf(n):
        return torch.randn(batch, n, seq, head_dim, device=device,
                           dtype=torch.bfloat16).requires_grad_(True)
    q, k, v = leaf(heads), leaf(kv), leaf(kv)
    grad = torch.randn(batch, heads, seq, head_dim, device=device, dtype=torch.bfloat16)

    def clear():
        q.grad = k.grad = v.grad = None

    def fwd_bwd():
        causal_attention(q, k, v, kernel).backward(grad)

    def fwd():
        with torch.no_grad():
            causal_attention(q, k, v, kernel)

    ms = time_ms(fwd_bwd, device, warmup=3, repeats=10, setup=clear)
    # causal attention FLOPs: 4 * b * heads * s^2 * d / 2 forward, 2.5x that forward + backward
    flops = 3.5 * 4 * batch * heads * seq * seq * head_dim / 2
    return {"time_ms": ms, "fwd_ms": time_ms(fwd, device, warmup=2, repeats=10),
            "tflops": flops / (ms * 1e-3) / 1e12}


def run(device: torch.device, budget: Budget, small: bool) -> dict:
    """{f's{seq}_h{heads}_kv{kv}': {kernel: {...}}}."""
    results = {}
    head_dim = 16 if small else HEAD_DIM
    for seq, heads, kv in (SMALL_SHAPES if small else SHAPES):
        batch = 2 if small else TOKENS // seq
        key = f"s{seq}_h{heads}_kv{kv}_b{batch}"
        results[key] = {name: run_case(budget, lambda name=name: case(name, seq, heads, kv, batch,
                                                                      head_dim, device))
                        for name in kernels(device)}
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return results


def pick(results: dict) -> dict:
    """Fastest kernel (forward + backward) per shape, among those that ran."""
    picks = {}
    for shape, by_kernel in results.items():
        ran = {name: r["time_ms"] for name, r in by_kernel.items() if "time_ms" in r}
        picks[shape] = min(ran, key=ran.get) if ran else None
    return picks
