"""Per-layer forward / backward time of the runtime's own TransformerBlock (tp = 1, bf16), saved
raw for the CPU-side validation of the cost model (profiling/validate_layers.py).

The block is built exactly as the runtime builds it for a plan with the default attention kernel:
runtime/kernels.py runtime_kernels (element-wise ops 'auto', i.e. the measured picks of
mist_ds/config/kernel_picks.py), and each record names the kernels that ran ("kernels"), so a
profile's per-layer numbers follow the runtime's kernel choices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from mist_ds.config import get_preset
from mist_ds.profile.fit import summarize
from mist_ds.profile.timing import time_region

# (preset, micro-batch, sequence): GPT and Llama blocks from 1.3B to 13B, MHA and GQA, 2k-8k tokens.
FULL_SHAPES = (
    ("gpt-1.3b", 4, 2048), ("gpt-2.7b", 2, 2048), ("gpt-6.7b", 1, 2048), ("gpt-6.7b", 2, 2048),
    ("gpt-13b", 1, 2048), ("llama-1.3b", 2, 4096), ("llama-7b", 1, 4096), ("llama-7b", 2, 4096),
    ("llama3-8b", 1, 8192), ("llama-13b", 1, 4096), ("llama-70b", 1, 4096),
)
QUICK_SHAPES = (("gpt-1.3b", 4, 2048), ("llama-7b", 1, 4096), ("llama3-8b", 1, 4096))


def layer_times(quick: bool, dev: torch.device, repeats: int, warmup: int,
                tick: Callable[[], None]) -> list[dict[str, Any]]:
    """Median fwd and bwd (input + weight gradients) time of one block per shape."""
    from mist_ds.runtime.blocks import TransformerBlock

    kernels = profiled_kernels()
    out = []
    for preset, batch, seq in QUICK_SHAPES if quick else FULL_SHAPES:
        spec = get_preset(preset)
        block = TransformerBlock(spec, dtype=torch.bfloat16, device=dev, kernels=kernels)
        x = torch.randn(batch, seq, spec.hidden_size, device=dev, dtype=torch.bfloat16, requires_grad=True)
        params = [p for p in block.parameters() if p.requires_grad]
        fwd = summarize(time_region(lambda: block(x), warmup=warmup, repeats=repeats))
        y = block(x)
        g = torch.randn_like(y)
        bwd = summarize(time_region(lambda: torch.autograd.grad(y, [x, *params], g, retain_graph=True),
                                    warmup=warmup, repeats=repeats))
        breakdown = {"fwd_kernels_ms": _kernel_ms(lambda: block(x)),
                     "bwd_kernels_ms": _kernel_ms(lambda: torch.autograd.grad(y, [x, *params], g, retain_graph=True))}
        out.append({"preset": preset, "family": spec.family, "batch": batch, "seq_len": seq,
                    "spec": spec.model_dump(mode="json"), "fwd_time_s": fwd.median, "fwd_spread": fwd.spread,
                    "bwd_time_s": bwd.median, "bwd_spread": bwd.spread,
                    "peak_mem_bytes": torch.cuda.max_memory_allocated(dev),
                    "kernels": kernel_names(kernels, dev), **breakdown})
        del block, x, y, g, params
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
        tick()
    return out


def profiled_kernels():
    """The Kernels the runtime runs a plan with when the plan keeps the default attention kernel."""
    from mist_ds.config import Plan
    from mist_ds.runtime.kernels import runtime_kernels

    return runtime_kernels(Plan.model_fields["attention"].default)


def kernel_names(kernels, dev: torch.device) -> dict[str, str]:
    """{'norm', 'activation', 'rope': the implementation that ran, 'attention': the kernel name}."""
    from mist_ds.runtime.kernels import resolved

    return {**resolved(kernels, dev.type == "cuda"), "attention": kernels.attention}


def kernel_category(name: str) -> str:
    """'attention', 'gemm' or 'other' (element-wise, norms, reductions, copies) from a kernel name."""
    low = name.lower()
    if any(key in low for key in ("flash", "fmha", "attention", "sdpa")):
        return "attention"
    if any(key in low for key in ("gemm", "xmma", "cutlass", "nvjet", "cublas", "wgmma")):
        return "gemm"
    return "other"


def _kernel_ms(fn: Callable[[], object], runs: int = 3) -> dict[str, Any]:
    """GPU kernel time per call by category (torch.profiler), plus the five longest kernels: which
    part of a layer a prediction gets wrong."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(runs):
            fn()
        torch.cuda.synchronize()
    totals: dict[str, float] = {"gemm": 0.0, "attention": 0.0, "other": 0.0}
    kernels = []
    for event in prof.key_averages():
        us = getattr(event, "self_device_time_total", None) or getattr(event, "self_cuda_time_total", 0.0)
        if us <= 0 or str(getattr(event, "device_type", "")).endswith("CPU"):
            continue
        totals[kernel_category(event.key)] += us / 1e3 / runs
        kernels.append((us / 1e3 / runs, event.key[:80]))
    return {**totals, "top": [[name, round(ms, 4)] for ms, name in sorted(kernels, reverse=True)[:5]]}
