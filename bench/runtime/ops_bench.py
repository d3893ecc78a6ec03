"""Element-wise ops of the block, forward + backward, per implementation (issue 14 item 3):
runtime/kernels.py's 'torch' (eager, the default), 'liger' (Liger-Kernel Triton) and 'compile'
(torch.compile of the eager function), on the shapes of llama-7b (RMSNorm, SwiGLU, RoPE) and
gpt-6.7b (LayerNorm; its GELU has no alternative kernel) at seq 4096. Inputs are laid out as the
block passes them; 'rope' runs from the fused q|k|v projection to SDPA's q, k, v and back (_rope_step;
files before 2026-11-30 18:00 UTC timed q and k alone from transposed views, with contiguous
gradients and the fused input's gradient accumulated). 'compile' times exclude compilation
(warm-up calls compile first).
"""

from __future__ import annotations

import torch

from bench.runtime.timing import Budget, liger_available, run_case, time_ms
from mist_ds.runtime import kernels as K

MODELS = {
    "llama-7b": dict(hidden=4096, ffn=11008, heads=32, head_dim=128, norm="rmsnorm", swiglu=True),
    "gpt-6.7b": dict(hidden=4096, ffn=16384, heads=32, head_dim=128, norm="layernorm", swiglu=False),
}
SMALL_MODELS = {"tiny-llama": dict(hidden=64, ffn=128, heads=4, head_dim=16, norm="rmsnorm",
                                   swiglu=True)}
SEQ, SMALL_SEQ = 4096, 32


def impls(device: torch.device) -> list[str]:
    if device.type != "cuda":
        return ["torch"]
    return ["torch", "compile"] + (["liger"] if liger_available() else [])


def _leaf(*shape, device, scale=1.0):
    return (scale * torch.randn(*shape, device=device)).to(torch.bfloat16).requires_grad_(True)


def op_fns(model: dict, batch: int, seq: int, impl: str, device: torch.device) -> dict:
    """{op: step()} for this model's ops; each step runs forward + backward."""
    h, f, heads, d = model["hidden"], model["ffn"], model["heads"], model["head_dim"]
    x = _leaf(batch, seq, h, device=device)
    weight = torch.ones(h, device=device, dtype=torch.bfloat16, requires_grad=True)
    bias = (torch.zeros(h, device=device, dtype=torch.bfloat16, requires_grad=True)
            if model["norm"] == "layernorm" else None)
    grad_h = torch.randn(batch, seq, h, device=device, dtype=torch.bfloat16)
    steps = {model["norm"]: lambda: K.norm(x, weight, bias, 1e-5, impl).backward(grad_h)}
    if model["swiglu"]:
        gate_up = _leaf(batch, seq, 2 * f, device=device)
        grad_f = torch.randn(batch, seq, f, device=device, dtype=torch.bfloat16)
        steps["swiglu"] = lambda: K.swiglu(gate_up, impl).backward(grad_f)
        steps["rope"] = _rope_step(batch, seq, heads, d, impl, device)
    return steps


def _rope_step(batch: int, seq: int, heads: int, d: int, impl: str, device: torch.device):
    """RoPE as the block runs it (runtime/blocks.py Attention): from the fused q|k|v projection to
    the q, k, v SDPA reads (kernels.split_qkv, then _own_storage's v copy where v is still a view),
    and back with gradients laid out as SDPA's backward writes them (like its inputs: cuDNN's
    empty_like), so the split's backward into the fused gradient is timed and nothing else: the
    fused input's gradient is dropped before each step (no accumulation, as in the block)."""
    from mist_ds.runtime.blocks import _own_storage

    qkv = _leaf(batch, seq, 3 * heads * d, device=device)
    cos, sin = K.rope_cos_sin(seq, d, 10000.0, device, torch.bfloat16)

    def forward():
        return _own_storage(list(K.split_qkv(qkv, (heads, heads, heads), d, cos, sin, impl)), qkv)
    grads = [torch.randn_like(t) for t in forward()]

    def rope():
        qkv.grad = None
        torch.autograd.backward(forward(), grads)
    return rope


def run(device: torch.device, budget: Budget, small: bool, micro_batches=(1, 2, 4)) -> dict:
    """{model: {f'mb{b}': {op: {impl: {'time_ms': ...} or {'error': ...}}}}}: each (op, impl) is
    its own case, so one kernel that fails a shape leaves the others measured."""
    results = {}
    seq = SMALL_SEQ if small else SEQ
    for name, model in (SMALL_MODELS if small else MODELS).items():
        per_batch = {}
        for batch in micro_batches:
            ops: dict[str, dict] = {}
            for impl in impls(device):
                steps = run_case(budget, lambda impl=impl: op_fns(model, batch, seq, impl, device))
                for op in op_names(model):
                    if op not in steps:   # building the inputs failed or the budget is spent
                        ops.setdefault(op, {})[impl] = steps
                        continue
                    ops.setdefault(op, {})[impl] = run_case(budget, lambda step=steps[op]: {
                        "time_ms": time_ms(step, device, warmup=3, repeats=10)})
                del steps
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            per_batch[f"mb{batch}"] = ops
        results[name] = {"seq": seq, **per_batch}
    return results


def op_names(model: dict) -> tuple[str, ...]:
    return (model["norm"], "swiglu", "rope") if model["swiglu"] else (model["norm"],)


def pick(results: dict) -> dict:
    """Per op: the implementation with the smallest summed time over the models and micro-batches
    where it ran, among the implementations that ran at every point any of them ran (one that
    failed or was not measured somewhere is left out rather than compared on fewer points)."""
    points: dict[str, dict[str, dict]] = {}
    for model, entry in results.items():
        for key, ops in entry.items():
            if key.startswith("mb"):
                for op, by_impl in ops.items():
                    points.setdefault(op, {})[f"{model}/{key}"] = by_impl
    picks = {}
    for op, by_point in points.items():
        impls_seen = {impl for by_impl in by_point.values() for impl in by_impl}
        totals = {impl: sum(r[impl]["time_ms"] for r in by_point.values())
                  for impl in impls_seen
                  if all("time_ms" in r.get(impl, {}) for r in by_point.values())}
        if totals:
            picks[op] = min(totals, key=totals.get)
    return picks
