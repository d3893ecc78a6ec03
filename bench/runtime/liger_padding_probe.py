#!/usr/bin/env python3
"""Liger's cross-entropy kernel on a padded vocabulary, walked to the real columns or to the padded width (GPU).

    python bench/runtime/liger_padding_probe.py [--rows 16384] [--repeats 10] > probe.json

Session 72 read GPT-2's vocabulary (50257 columns in rows padded to 50304, runtime/loss.py) ~3x slower per logit than
aligned vocabularies (bench/results/loss_kernels.json). runtime/liger_loss.py walked_columns now sets the padding to
-inf and lets the kernel walk the whole padded row. Per case (real columns, padded width): the forward kernel's
median time (CUDA events, --repeats launches, each on a fresh copy of the logits) walking `columns` as before
('real') and walking the padded row after the -inf fill ('padded', the fill timed with it), and whether
liger_cross_entropy's loss and gradient match torch's fp32 cross-entropy over the real columns (padding gradient 0).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.runtime.liger_loss import cross_entropy_rows, liger_cross_entropy, walked_columns  # noqa: E402

CASES = ((50257, 50304), (50304, 50304), (32000, 32000))
"""(real columns, padded width): GPT-2's vocabulary, the same width unpadded, Llama's."""


def _timed(logits: torch.Tensor, labels: torch.Tensor, columns: int, pad: bool, repeats: int) -> float:
    """Median milliseconds of one forward kernel (with the -inf fill when `pad`) over fresh copies."""
    times = []
    for _ in range(repeats + 1):
        x = logits.clone()
        per_token = torch.zeros(x.shape[0], dtype=torch.float32, device=x.device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        walked = walked_columns(x, columns) if pad else columns
        cross_entropy_rows(x, labels, per_token, -100, walked, True)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times[1:])


def _matches(logits: torch.Tensor, labels: torch.Tensor, columns: int) -> dict:
    """liger_cross_entropy against torch's fp32 loss over the real columns: relative loss and gradient errors."""
    ref_in = logits[:, :columns].float().clone().requires_grad_(True)
    ref = F.cross_entropy(ref_in, labels)
    ref.backward()
    x = logits.clone().requires_grad_(True)
    loss = liger_cross_entropy(x, labels, -100, columns=columns)
    loss.backward()
    grad = x.grad.float()
    return {"loss_rel_error": abs(loss.item() - ref.item()) / ref.item(),
            "grad_rel_error": ((grad[:, :columns] - ref_in.grad).norm() / ref_in.grad.norm()).item(),
            "padding_grad_max": grad[:, columns:].abs().max().item() if columns < grad.shape[1] else 0.0}


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=16384, help="logit rows (tokens) per case")
    ap.add_argument("--repeats", type=int, default=10, help="timed launches per case and walk")
    args = ap.parse_args()
    if args.rows < 1 or args.repeats < 1:
        ap.error(f"--rows {args.rows} --repeats {args.repeats}: want positive integers")
    if not torch.cuda.is_available():
        ap.error("needs a CUDA GPU")
    gen = torch.Generator(device="cuda").manual_seed(0)
    out = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": args.rows, "cases": []}
    for columns, width in CASES:
        logits = torch.randn(args.rows, width, device="cuda", generator=gen).mul_(3).bfloat16()
        labels = torch.randint(0, columns, (args.rows,), device="cuda", generator=gen)
        real = _timed(logits, labels, columns, False, args.repeats)
        padded = _timed(logits, labels, columns, True, args.repeats)
        check = _matches(logits[:1024], labels[:1024], columns)
        out["cases"].append({"columns": columns, "width": width, "real_ms": real, "padded_ms": padded,
                             "real_ps_per_logit": real * 1e9 / (args.rows * columns),
                             "padded_ps_per_logit": padded * 1e9 / (args.rows * columns), **check})
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
