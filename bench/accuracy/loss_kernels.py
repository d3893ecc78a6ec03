#!/usr/bin/env python3
"""The Liger cross-entropy kernels as training runs them: every committed profiled step (CPU only; issue 10).

    python bench/accuracy/loss_kernels.py [--write [bench/results/loss_kernels.json]]

Steps: each rank-0 trace digest under `bench/results/runtime/` whose RunReport and plan elementwise_audit.py finds
(run_of, plan_by_hash) and whose step ran Liger's loss (`liger_cross_entropy_kernel`: softmax, loss and the logits'
gradient written in place, one program per row; `element_mul_kernel`: the in-place scale of that gradient in the
backward). Per step: the median duration of each kernel over the step's micro-batches, the logits it covered
(micro-batch x sequence x vocabulary / TP), and both as bytes per logit at each of RATES, the memory kernels of the
profile of the node kind that ran it (h200 or h100-1gpu-node): the units cost/layer_time.py LOSS_TRAFFIC prices the
loss in (the copy rate for the scale, gelu_fwd's for the transcendental-bound loss kernel; session 73: at gelu_fwd's
rate the H200 and the H100 agree, at the copy rate they differ by 20%).
A vocabulary that is not a multiple of 16 has the kernel walk an n_cols Triton cannot vectorize over (the
rows themselves are padded to a multiple of 128, runtime/loss.py); those steps are listed but kept out of the medians
(GPT-2's 50257: 3x slower per logit on one H100 step, session 72; runtime/liger_loss.py walked_columns walks such rows
whole since session 73). Steps on other GPUs than
PROFILE_OF_GPU names are skipped. Exit 2 (one line) when --write names a file in a missing directory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.elementwise_audit import plan_by_hash, run_of  # noqa: E402
from bench.accuracy.trace_kernels import load_kernels  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.hw_lookup import memory_kernel_gbps  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.runtime.liger_loss import ALIGNED_COLUMNS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "bench" / "results" / "runtime"
OUT = ROOT / "bench" / "results" / "loss_kernels.json"
KERNELS = {"liger": "liger_cross_entropy_kernel", "scale": "element_mul_kernel"}
PROFILE_OF_GPU = {"NVIDIA H200": "h200", "NVIDIA H100 80GB HBM3": "h100-1gpu-node"}
RATES = {"copy": "", "gelu_fwd": "_gelu_fwd"}
"""The profile memory kernels each kernel's bytes per logit are given at, and the suffix of their field
({kernel}{suffix}_bytes_per_logit)."""


def step_row(trace: Path, plan: Plan, gpu: str) -> dict | None:
    """One step's Liger kernels per micro-batch, or None when it ran no Liger loss."""
    kernels = load_kernels(trace)
    times = {k: [x.end - x.start for x in kernels if x.name.startswith(name)] for k, name in KERNELS.items()}
    if not times["liger"] or gpu not in PROFILE_OF_GPU:
        return None
    logits = plan.micro_batch_size * plan.seq_len * plan.model.vocab_size / plan.tp
    hw = load_hardware(PROFILE_OF_GPU[gpu])
    row = {"step": str(trace.relative_to(ROOT)), "gpu": gpu, "vocab": plan.model.vocab_size, "logits": logits,
           "aligned": plan.model.vocab_size % ALIGNED_COLUMNS == 0}
    for key, durations in times.items():
        us = statistics.median(durations) if durations else None
        row[f"{key}_us"] = us
        for rate, suffix in RATES.items():
            gbps = memory_kernel_gbps(hw, rate)
            row[f"{key}{suffix}_bytes_per_logit"] = None if us is None else us * 1e-6 * gbps * 1e9 / logits
    return row


def collect(runtime: Path = RUNTIME) -> list[dict]:
    """Every committed step that ran Liger's loss (module docstring)."""
    rows = []
    for trace in sorted(runtime.glob("**/*.rank0.digest.json.gz")):
        run_path = run_of(trace)
        if run_path is None:
            continue
        report = RunReport.load(run_path)
        plan_path = plan_by_hash(run_path.parent, report.plan_hash)
        row = step_row(trace, Plan.load(plan_path), report.gpu_name) if plan_path else None
        if row:
            rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict[str, dict]:
    """Per GPU, over its aligned steps: the median bytes per logit of each kernel at each rate and the step
    count."""
    out = {}
    fields = [f"{k}{suffix}_bytes_per_logit" for k in KERNELS for suffix in RATES.values()]
    for gpu in sorted({r["gpu"] for r in rows}):
        mine = [r for r in rows if r["gpu"] == gpu and r["aligned"]]
        out[gpu] = {"steps": len(mine), **{f: statistics.median(r[f] for r in mine if r.get(f) is not None)
                                           for f in fields if any(r.get(f) is not None for r in mine)}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", nargs="?", const=OUT, type=Path, default=None, help=f"write JSON (default {OUT})")
    args = parser.parse_args(argv)
    if args.write and not args.write.parent.is_dir():
        print(f"error: --write {args.write}: no such directory", file=sys.stderr)
        return 2
    rows = collect()
    text = json.dumps({"summary": summary(rows), "steps": rows}, indent=1) + "\n"
    if args.write:
        args.write.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
