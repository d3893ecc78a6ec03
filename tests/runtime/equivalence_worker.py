"""Launched by `deepspeed` (2 CPU ranks): train several tiny plans in one pair of processes and
write {case: {"losses": [...], "grad_norms": [...]}} (rank 0). Used by test_loss_equivalence.py."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch.distributed as dist  # noqa: E402
from deepspeed.utils import get_z3_leaf_modules  # noqa: E402

from mist_ds.runtime.data import TokenSource  # noqa: E402
from mist_ds.runtime.rank import finish  # noqa: E402
from mist_ds.runtime.build import build_runtime, init_distributed  # noqa: E402
from mist_ds.runtime.trainer import train_step  # noqa: E402
from tests.runtime.plans import CASES, CASES_4  # noqa: E402


def run_case(name: str, steps: int, lr: float) -> dict:
    plan = {**CASES, **CASES_4}[name]
    rt = build_runtime(plan, int(os.environ.get("LOCAL_RANK", 0)), "fp32", seed=1234, lr=lr)
    counts = [None] * dist.get_world_size()
    dist.all_gather_object(counts, sum(p.numel() for p in rt.engine.module.parameters()))
    source = TokenSource(plan.model.vocab_size, plan.seq_len, seed=99)
    losses, norms = [], []
    for step in range(steps):
        losses.append(train_step(plan, rt, source, step))
        norm = rt.engine.get_global_grad_norm()
        norms.append(None if norm is None else float(norm))
    leaves = len(get_z3_leaf_modules(rt.engine.module))
    rt.engine.destroy() if hasattr(rt.engine, "destroy") else None
    del rt
    gc.collect()
    return {"losses": losses, "grad_norms": norms, "params_per_rank": counts, "z3_leaf_modules": leaves}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--local_rank", type=int, default=0)
    args = parser.parse_args()
    init_distributed()
    gc.freeze()  # torch's and deepspeed's objects stay out of each case's gc.collect() (0.3 s a call)
    results = {name: run_case(name, args.steps, args.lr) for name in args.cases.split(",")}
    if dist.get_rank() == 0:
        Path(args.out).write_text(json.dumps(results, indent=1))
    finish(0)  # the runtime's own exit sequence (runtime/rank.py)


if __name__ == "__main__":
    main()
