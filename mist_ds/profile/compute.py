"""Single-GPU measurements: bf16 GEMM grid, attention fwd/bwd, memory-bound kernels, GPU Adam.

Every function returns JSON-able records (see assemble.py) and calls `tick()` once per item.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from mist_ds.profile.fit import summarize
from mist_ds.profile.grids import Grids, inner_iterations, rotation_count
from mist_ds.profile.timing import L2Flusher, estimate_s, time_region

Tick = Callable[[], None]
ROTATION_BYTES_CAP = 4 * 2**30
# attention's samples are timed behind a GPU hold (timing.time_region gate_s), so that they hold the
# kernels' time and not the host's SDPA / autograd launch path, which the cost model prices apart
# (its host terms): time against FLOPs over the shipped profiles' ungated samples has an intercept of
# 72-125 us forward and 201-344 us backward (bench/runtime/attention_intercept.py)
ATTENTION_GATE_S = 0.005


def matmul_grid(grids: Grids, dev: torch.device, tick: Tick) -> list[dict[str, Any]]:
    """bf16 y = x @ w^T (nn.Linear's layout) over m x n x k, rotating input sets past L2."""
    l2 = L2Flusher(dev).l2_bytes
    out = []
    for m in grids.matmul_m:
        for n in grids.matmul_nk:
            for k in grids.matmul_nk:
                out.append(_one_matmul(m, n, k, l2, grids, dev))
                tick()
    return out


def _one_matmul(m: int, n: int, k: int, l2: int, grids: Grids, dev: torch.device) -> dict[str, Any]:
    set_bytes = 2 * (m * k + n * k + m * n)
    count = min(rotation_count(set_bytes, l2), max(1, ROTATION_BYTES_CAP // set_bytes))
    s = gemm_summary(m, n, k, count, dev, warmup=grids.warmup, repeats=grids.repeats)
    return {"m": m, "n": n, "k": k, "time_s": s.median, "spread": s.spread}


def gemm_summary(m: int, n: int, k: int, sets: int, dev: torch.device, *, warmup: int, repeats: int):
    """Timing summary of bf16 (m x k) @ (n x k)^T into a preallocated output, cycling through
    `sets` input sets so that they do not stay in L2 (sets=1: cache-hot)."""
    xs = [torch.randn(m, k, device=dev, dtype=torch.bfloat16) for _ in range(sets)]
    ws = [torch.randn(n, k, device=dev, dtype=torch.bfloat16) for _ in range(sets)]
    ys = [torch.empty(m, n, device=dev, dtype=torch.bfloat16) for _ in range(sets)]
    state = {"i": 0}

    def gemm() -> None:
        i = state["i"] = (state["i"] + 1) % sets
        torch.mm(xs[i], ws[i].t(), out=ys[i])

    inner = inner_iterations(estimate_s(gemm))
    return summarize(time_region(gemm, warmup=warmup, repeats=repeats, inner=inner))


def _attention_fn(backend: str) -> Callable[..., torch.Tensor]:
    if backend == "flash-attn":
        from flash_attn import flash_attn_func

        def run(q, k, v, causal):
            return flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal=causal)
        return run

    def sdpa(q, k, v, causal):
        ctx = contextlib.nullcontext()
        if backend == "sdpa-flash":
            from torch.nn.attention import SDPBackend, sdpa_kernel
            ctx = sdpa_kernel(SDPBackend.FLASH_ATTENTION)
        with ctx:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=k.shape[1] != q.shape[1])
    return sdpa


def _attention_backends() -> list[str]:
    """flash-attn first when importable, then SDPA's default dispatch: the runtime's block
    (mist_ds.runtime.blocks.causal_attention) uses exactly these two, in this order."""
    try:
        import flash_attn  # noqa: F401
        return ["flash-attn", "sdpa-default", "sdpa-flash"]
    except ImportError:
        return ["sdpa-default", "sdpa-flash"]


def sdpa_kernel_name(fn, q, k, v, causal: bool) -> str:
    """Which kernel SDPA's dispatcher picked ('sdpa-cudnn', 'sdpa-flash', 'sdpa-efficient',
    'sdpa-math'), read from the profiler's kernel names."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn(q, k, v, causal)
        torch.cuda.synchronize()
    names = " ".join(e.key.lower() for e in prof.key_averages())
    for key, label in (("cudnn", "sdpa-cudnn"), ("flash", "sdpa-flash"), ("fmha", "sdpa-efficient"),
                       ("efficient", "sdpa-efficient")):
        if key in names:
            return label
    return "sdpa-math"


def attention(grids: Grids, dev: torch.device, tick: Tick, gate_s: float = ATTENTION_GATE_S) -> list[dict[str, Any]]:
    """Forward and backward time of fused attention per (b, heads, kv heads, seq, dim, causal);
    the first backend that runs the shape is used and recorded. SDPA gets k/v expanded to all
    heads, as the runtime passes them (repeat_interleave outside the timed region). Each sample
    is timed behind a GPU hold of `gate_s` (ATTENTION_GATE_S says why; 0: the host's launch path
    is timed too)."""
    out = []
    for b, h, kv, s, d, causal in grids.attention:
        for backend in _attention_backends():
            heads_kv = kv if backend == "flash-attn" else h
            q = torch.randn(b, h, s, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
            k = torch.randn(b, heads_kv, s, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
            v = torch.randn(b, heads_kv, s, d, device=dev, dtype=torch.bfloat16, requires_grad=True)
            fn = _attention_fn(backend)
            try:
                fwd, bwd = _time_attention(fn, q, k, v, causal, grids, gate_s)
            except RuntimeError:
                continue
            label = sdpa_kernel_name(fn, q, k, v, causal) if backend == "sdpa-default" else backend
            out.append({"batch": b, "num_heads": h, "num_kv_heads": kv, "seq_len": s, "head_dim": d,
                        "causal": causal, "fwd_time_s": fwd, "bwd_time_s": bwd, "backend": label})
            break
        tick()
    return out


def _time_attention(fn, q, k, v, causal: bool, grids: Grids, gate_s: float) -> tuple[float, float]:
    fwd = summarize(time_region(lambda: fn(q, k, v, causal), warmup=grids.warmup, repeats=grids.repeats,
                                gate_s=gate_s))
    o = fn(q, k, v, causal)
    g = torch.randn_like(o)
    bwd = summarize(time_region(lambda: torch.autograd.grad(o, (q, k, v), g, retain_graph=True),
                                warmup=grids.warmup, repeats=grids.repeats, gate_s=gate_s))
    return fwd.median, bwd.median


def memory_kernels(grids: Grids, dev: torch.device, tick: Tick,
                   gate_s: float = 0.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Effective bandwidth (bytes read + written / time) of the memory-bound kernels of a block,
    and torch's fused Adam step on fp32 parameters; each sample behind a GPU hold of `gate_s`
    (timing.time_region; 0, the shipped profiles' timing, also holds the host's launch of the kernel)."""
    n, h = grids.memory_numel, 4096
    x = torch.randn(n // h, h, device=dev, dtype=torch.bfloat16)
    y = torch.randn_like(x)
    w, b = torch.randn(h, device=dev, dtype=torch.bfloat16), torch.randn(h, device=dev, dtype=torch.bfloat16)
    nb = 2 * n  # bytes of one bf16 tensor
    kernels: dict[str, tuple[Callable[[], object], int]] = {
        "layernorm_fwd": (lambda: F.layer_norm(x, (h,), w, b), 2 * nb),
        "rmsnorm_fwd": (lambda: F.rms_norm(x, (h,), w), 2 * nb),
        "gelu_fwd": (lambda: F.gelu(x, approximate="tanh"), 2 * nb),
        "gelu_bwd": (lambda: torch.ops.aten.gelu_backward(y, x, approximate="tanh"), 3 * nb),
        "silu_fwd": (lambda: F.silu(x), 2 * nb),
        "mul": (lambda: x * y, 3 * nb),
        "add": (lambda: x + y, 3 * nb),
        "copy": (lambda: x.clone(), 2 * nb),
    }
    out = []
    for name, (fn, num_bytes) in kernels.items():
        s = summarize(time_region(fn, warmup=grids.warmup, repeats=grids.repeats, gate_s=gate_s))
        out.append({"kernel": name, "num_bytes": num_bytes, "time_s": s.median, "spread": s.spread})
        tick()
    del x, y
    adam = _gpu_adam(n, dev, grids, gate_s)
    out.append({"kernel": "adam_step", "num_bytes": 28 * adam["num_params"], "time_s": adam["time_s"],
                "spread": adam["spread"]})
    tick()
    return out, adam


def _gpu_adam(numel: int, dev: torch.device, grids: Grids, gate_s: float = 0.0) -> dict[str, Any]:
    """torch.optim.Adam(fused=True) on fp32: reads param, grad, m, v and writes param, m, v
    (7 x 4 bytes per parameter)."""
    p = torch.nn.Parameter(torch.randn(numel, device=dev))
    p.grad = torch.randn_like(p)
    opt = torch.optim.Adam([p], lr=1e-4, fused=True)
    s = summarize(time_region(opt.step, warmup=grids.warmup, repeats=grids.repeats, gate_s=gate_s))
    del opt, p
    return {"num_params": numel, "time_s": s.median, "spread": s.spread}
