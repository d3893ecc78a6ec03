#!/usr/bin/env python3
"""Peak memory of each loss implementation's forward and backward above the 16-bit logits, on CUDA
(4096 tokens x 32000 vocab, bf16), as JSON lines: what cost/activations.py loss_chunk_bytes prices
(the second pass: "*_extra_bytes"), and the first pass, where the compiled kernels are compiled and
Triton may benchmark its configurations ("first_*_extra_bytes").

    python3 bench/runtime/loss_peaks.py > loss_peaks.jsonl
"""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mist_ds.runtime.loss import cross_entropy  # noqa: E402


def peaks(impl: str, tokens=(2, 2048), vocab=32000) -> dict:
    logits = torch.randn(*tokens, vocab, device="cuda").bfloat16().requires_grad_(True)
    labels = torch.randint(0, vocab, tokens, device="cuda")
    out = {"impl": impl, "logits": tokens[0] * tokens[1] * vocab}
    for first in (True, False):  # the first pass compiles
        key = "first_" if first else ""
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        loss = cross_entropy(logits, labels, impl=impl)
        torch.cuda.synchronize()
        out[key + "forward_extra_bytes"] = torch.cuda.max_memory_allocated() - base
        torch.cuda.reset_peak_memory_stats()
        loss.backward()
        torch.cuda.synchronize()
        out[key + "backward_extra_bytes"] = torch.cuda.max_memory_allocated() - base
        logits.grad = None
    return out


if __name__ == "__main__":
    for impl in ("chunked", "chunked_compile", "liger"):
        print(json.dumps(peaks(impl)), flush=True)
