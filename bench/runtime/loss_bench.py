"""LM head + cross-entropy: time and memory of each loss implementation (issue 14 item 2).

Per head shape and method, two measurements:
  * 'head': hidden -> logits (F.linear) -> loss, forward + backward, from bf16 hidden states and
    weight; peak_bytes_per_logit is the peak above the inputs, less the gradients every method
    must produce (hidden and weight), over the number of logits: it counts the logits themselves
    (2 bytes in bf16) unless the method never materialises them (Liger's fused linear CE);
  * 'loss': the loss alone on given bf16 logits; extra_bytes_per_logit is its peak above the
    logits (their gradient included), i.e. the loss's working memory beyond the logits.
Methods: runtime/loss.py LOSS_IMPLS ('fp32' is the former path) and 'liger_flce' (Liger's fused
linear cross-entropy, which never builds the whole logit matrix; it needs head and loss as one
call, which the pipeline's separate head layer and loss_fn do not allow today).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.runtime.timing import Budget, liger_available, peak_extra_bytes, run_case, time_ms
from mist_ds.runtime.loss import cross_entropy

HEADS = {  # name: micro-batch, seq, hidden, vocab
    "gpt-1.3b": dict(batch=8, seq=2048, hidden=2048, vocab=50304),
    "llama-7b": dict(batch=2, seq=4096, hidden=4096, vocab=32000),
}
SMALL_HEADS = {"tiny": dict(batch=2, seq=64, hidden=32, vocab=500)}


def methods(device: torch.device) -> list[str]:
    names = ["fp32", "chunked"]
    if device.type == "cuda":
        names.append("chunked_compile")
        if liger_available():
            names += ["liger", "liger_flce"]
    return names


def _head_step(method: str, hidden, weight, labels) -> None:
    if method == "liger_flce":
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

        loss = liger_fused_linear_cross_entropy(hidden.flatten(0, 1), weight, labels.flatten())
    else:
        loss = cross_entropy(F.linear(hidden, weight), labels, impl=method)
    loss.backward()


def head_case(method: str, shape: dict, device: torch.device) -> dict:
    b, s, h, v = shape["batch"], shape["seq"], shape["hidden"], shape["vocab"]
    dtype = torch.bfloat16
    hidden = (torch.randn(b, s, h, device=device) / h ** 0.5).to(dtype).requires_grad_(True)
    weight = (0.02 * torch.randn(v, h, device=device)).to(dtype).requires_grad_(True)
    labels = torch.randint(0, v, (b, s), device=device)

    def clear():
        hidden.grad = weight.grad = None

    def step():
        _head_step(method, hidden, weight, labels)

    ms = time_ms(step, device, setup=clear)
    clear()
    peak = peak_extra_bytes(step, device)
    logits = b * s * v
    grads = (b * s * h + v * h) * 2
    return {"time_ms": ms,
            "peak_bytes_per_logit": None if peak is None else (peak - grads) / logits}


def loss_case(method: str, shape: dict, device: torch.device) -> dict:
    b, s, v = shape["batch"], shape["seq"], shape["vocab"]
    source = torch.randn(b, s, v, device=device).mul_(3).to(torch.bfloat16)
    labels = torch.randint(0, v, (b, s), device=device)
    state = {}

    def setup():  # a fresh leaf each time: the in-place losses overwrite their logits
        state["x"] = None
        state["x"] = source.clone().requires_grad_(True)

    def step():
        cross_entropy(state["x"], labels, impl=method).backward()

    ms = time_ms(step, device, setup=setup)
    setup()
    peak = peak_extra_bytes(step, device)
    return {"time_ms": ms,
            "extra_bytes_per_logit": None if peak is None else peak / (b * s * v)}


def run(device: torch.device, budget: Budget, small: bool) -> dict:
    """{head: {method: {'head': {...}, 'loss': {...}}}}."""
    results = {}
    for name, shape in (SMALL_HEADS if small else HEADS).items():
        per = {}
        for method in methods(device):
            per[method] = {"head": run_case(budget, lambda: head_case(method, shape, device))}
            if method != "liger_flce":
                per[method]["loss"] = run_case(budget, lambda: loss_case(method, shape, device))
            if device.type == "cuda":
                torch.cuda.empty_cache()
        results[name] = {"shape": shape, "methods": per}
    return results


def pick(results: dict, max_bytes_per_logit: float = 4.0) -> dict:
    """Per head: the fastest 'head' time among logits-based methods whose loss working memory
    (extra_bytes_per_logit, beyond the logits) keeps the total within max_bytes_per_logit."""
    picks = {}
    for name, entry in results.items():
        ok = {m: r["head"]["time_ms"] for m, r in entry["methods"].items()
              if "time_ms" in r["head"] and "loss" in r and "time_ms" in r["loss"]
              and (r["loss"]["extra_bytes_per_logit"] is None
                   or 2 + r["loss"]["extra_bytes_per_logit"] <= max_bytes_per_logit)}
        picks[name] = min(ok, key=ok.get) if ok else None
    return picks
