"""Training batches: synthetic (learnable arithmetic sequences) or windows of a flat token file.

A step's global batch is fixed by (seed, step) alone; data-parallel rank d takes sequences
[(micro * dp + d) * mb, ... + mb) of it. So plans with different dp / micro-batch / pipeline layouts
see the same sequences each step, which is what the loss-equivalence tests compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class TokenSource:
    """Global batches of (seq_len + 1)-token rows: inputs are row[:-1], labels row[1:]."""

    def __init__(self, vocab_size: int, seq_len: int, seed: int = 1234,
                 path: str | Path | None = None, dtype: str = "uint16"):
        self.vocab, self.seq, self.seed = vocab_size, seq_len, seed
        self.tokens = None
        if path is not None:
            self.tokens = np.memmap(path, dtype=np.dtype(dtype), mode="r")
            if len(self.tokens) < seq_len + 2:
                raise ValueError(f"token file {path} has {len(self.tokens)} tokens, fewer than "
                                 f"one sequence of {seq_len + 1}")

    def global_batch(self, step: int, size: int) -> torch.Tensor:
        """(size, seq_len + 1) int64 tokens of step `step`."""
        if self.tokens is not None:
            return self._file_batch(step, size)
        gen = torch.Generator().manual_seed(self.seed * 7919 + step)
        start = torch.randint(0, self.vocab, (size, 1), generator=gen)
        stride = torch.randint(1, 8, (size, 1), generator=gen)
        rows = (start + stride * torch.arange(self.seq + 1)) % self.vocab
        noise = torch.rand(size, self.seq + 1, generator=gen) < 0.1  # 10% random tokens
        return torch.where(noise, torch.randint(0, self.vocab, rows.shape, generator=gen), rows)

    def _file_batch(self, step: int, size: int) -> torch.Tensor:
        span, usable = self.seq + 1, len(self.tokens) - self.seq - 1
        starts = [((step * size + row) * span) % usable for row in range(size)]
        rows = np.stack([np.asarray(self.tokens[s: s + span], dtype=np.int64) for s in starts])
        if rows.max() >= self.vocab:
            raise ValueError(f"token id {int(rows.max())} >= vocab size {self.vocab}")
        return torch.from_numpy(rows)


def micro_batches(source: TokenSource, step: int, *, global_batch: int, micro_batch: int, dp: int,
                  dp_rank: int, grad_accum: int, device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """This data-parallel rank's (inputs, labels) micro-batches of step `step`."""
    rows = source.global_batch(step, global_batch)
    out = []
    for micro in range(grad_accum):
        first = (micro * dp + dp_rank) * micro_batch
        chunk = rows[first: first + micro_batch].to(device)
        out.append((chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()))
    return out
