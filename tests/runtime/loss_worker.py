"""Launched by `deepspeed` (2 CPU ranks, gloo): the vocab-parallel losses of runtime/loss.py on a
real TP group of 2 against the full-vocabulary fp32 reference; rank 0 writes the errors as JSON.
Used by test_loss.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mist_ds.runtime.loss import IGNORE_INDEX, cross_entropy  # noqa: E402
from mist_ds.runtime.rank import finish  # noqa: E402

TOKENS, VOCAB = (3, 7), 64


def case(impl: str, dtype: torch.dtype, chunk: bool, real: int = VOCAB) -> dict:
    """Loss and logit-gradient errors of this rank's vocabulary half, max over ranks; ids from `real` on
    are padding (runtime/loss.py vocab_end: 40 leaves rank 1 eight real columns, 30 none)."""
    gen = torch.Generator().manual_seed(5)
    full = (3 * torch.randn(*TOKENS, VOCAB, generator=gen)).to(dtype)
    labels = torch.randint(0, real, TOKENS, generator=gen)
    if impl == "chunked":  # the fp32 reference path has no ignore_index at tp > 1
        labels[0, :2] = IGNORE_INDEX
    ref_logits = full.float().clone().requires_grad_(True)
    ref = F.cross_entropy(ref_logits[..., :real].flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
    ref.backward()
    rank, world = dist.get_rank(), dist.get_world_size()
    rows = VOCAB // world
    mine = full[..., rank * rows:(rank + 1) * rows].clone().requires_grad_(True)
    # chunk: a tiny chunk, so several row chunks per rank, the last one short
    loss = cross_entropy(mine, labels, dist.group.WORLD, rank * rows, impl,
                         chunk_logits=2 * rows if chunk else None, vocab_end=real)
    (2.0 * loss).backward()
    want = 2.0 * ref_logits.grad[..., rank * rows:(rank + 1) * rows]
    if rank * rows >= real:  # a shard of padding only: its whole gradient must be 0
        return _max_over_ranks(abs(loss.item() - ref.item()) / ref.item(), mine.grad.abs().max().item())
    return _max_over_ranks(abs(loss.item() - ref.item()) / ref.item(),
                           ((mine.grad.float() - want).norm() / want.norm()).item())


def _max_over_ranks(loss_err: float, grad_err: float) -> dict:
    errs = torch.tensor([loss_err, grad_err])
    dist.all_reduce(errs, op=dist.ReduceOp.MAX)
    return {"loss_rel_err": errs[0].item(), "grad_rel_err": errs[1].item()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--local_rank", type=int, default=0)
    args = parser.parse_args()
    dist.init_process_group("gloo")
    results = {f"{impl}-{dtype}-{chunk}": case(impl, getattr(torch, dtype), chunk)
               for impl in ("chunked", "fp32") for dtype in ("float32", "bfloat16")
               for chunk in ((False, True) if impl == "chunked" else (False,))}
    results.update({f"{impl}-padded-{real}": case(impl, torch.float32, False, real)
                    for impl in ("chunked", "fp32") for real in (40, 30)})
    if dist.get_rank() == 0:
        Path(args.out).write_text(json.dumps(results, indent=1))
    finish(0)  # the runtime's own exit sequence (runtime/rank.py)


if __name__ == "__main__":
    main()
