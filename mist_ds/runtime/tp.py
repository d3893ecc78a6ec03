"""Megatron-style tensor parallelism: column/row-parallel linears, vocab-parallel embedding and
cross-entropy, and seeded initialisation that gives the same full weights at every TP degree.

Source: Shoeybi et al. 2019, "Megatron-LM" (section 3: the f/g conjugate operators), and
Megatron-LM's megatron/core/tensor_parallel/{layers,mappings,cross_entropy}.py. With
`group=None` (tp = 1) every layer is a plain local linear/embedding and no process group is needed.
"""

from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F
from torch import nn

from mist_ds.runtime.wgrad import linear

INIT_STD = 0.02  # GPT-2 / Megatron default initialiser scale


def tp_size(group) -> int:
    """World size of a tensor-parallel group (1 for None)."""
    if group is None:
        return 1
    import torch.distributed as dist

    return dist.get_world_size(group)


def tp_rank(group) -> int:
    """Rank inside a tensor-parallel group (0 for None)."""
    if group is None:
        return 0
    import torch.distributed as dist

    return dist.get_rank(group)


def _all_reduce(tensor: torch.Tensor, group, op=None) -> torch.Tensor:
    import torch.distributed as dist

    dist.all_reduce(tensor, op=op or dist.ReduceOp.SUM, group=group)
    return tensor


class _CopyToTP(torch.autograd.Function):
    """Megatron's f: identity forward, all-reduce of the gradient backward."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return x

    @staticmethod
    def backward(ctx, grad):
        return _all_reduce(grad.contiguous(), ctx.group), None


class _ReduceFromTP(torch.autograd.Function):
    """Megatron's g: all-reduce forward, identity backward."""

    @staticmethod
    def forward(ctx, x, group):
        return _all_reduce(x.contiguous(), group)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def copy_to_tp(x: torch.Tensor, group) -> torch.Tensor:
    """Enter a tensor-parallel region (no-op without a group)."""
    return x if group is None else _CopyToTP.apply(x, group)


def reduce_from_tp(x: torch.Tensor, group) -> torch.Tensor:
    """Leave a tensor-parallel region by summing the partial results (no-op without a group)."""
    return x if group is None else _ReduceFromTP.apply(x, group)


def seeded_normal(shape: tuple[int, ...], key: str, seed: int, std: float, *, shard_dim: int | None,
                  group, device, dtype) -> torch.Tensor:
    """This rank's shard of a full N(0, std) tensor drawn from a generator seeded by (seed, key).

    The full tensor is drawn then sliced, so every TP degree and every pipeline split sees the same
    full weights (what the loss-equivalence tests rely on); only one matrix is ever materialised.
    """
    full = torch.empty(shape, device=device, dtype=torch.float32)
    if full.device.type != "meta":  # meta tensors (shape-only models: bench/runtime/parity_static.py)
        gen = torch.Generator(device=device)
        gen.manual_seed((seed * 1_000_003 + zlib.crc32(key.encode())) % (2**63))
        full.normal_(0.0, std, generator=gen)
    if shard_dim is not None and group is not None:
        full = full.chunk(tp_size(group), dim=shard_dim)[tp_rank(group)]
    return full.to(dtype).contiguous()


def mark_tensor_parallel(param: nn.Parameter) -> nn.Parameter:
    """Tell DeepSpeed (runtime/utils.py is_model_parallel_parameter) the parameter is a TP shard,
    so gradient-norm clipping counts it on every TP rank instead of once."""
    param.tensor_model_parallel = True
    param.model_parallel = True
    return param


class ParallelLinear(nn.Module):
    """A linear layer split over `group`: 'column' shards the output, 'row' the input.

    Column: y_r = x W_r^T (+ b_r), input through f.  Row: y = g(sum_r x_r W_r^T) + b.
    """

    def __init__(self, in_features: int, out_features: int, *, mode: str, bias: bool, key: str,
                 seed: int, group=None, std: float = INIT_STD, device=None, dtype=torch.float32):
        super().__init__()
        if mode not in ("column", "row"):
            raise ValueError(f"mode must be 'column' or 'row', not {mode!r}")
        world = tp_size(group)
        split_out, split_in = (world, 1) if mode == "column" else (1, world)
        if out_features % split_out or in_features % split_in:
            raise ValueError(f"{key}: {in_features}x{out_features} not divisible by tp {world}")
        self.mode, self.group = mode, group
        weight = seeded_normal((out_features, in_features), key + ".weight", seed, std,
                               shard_dim=0 if mode == "column" else 1, group=group, device=device,
                               dtype=dtype)
        self.weight = nn.Parameter(weight)
        if world > 1:
            mark_tensor_parallel(self.weight)
        self.bias = None
        if bias:
            local_out = out_features // split_out
            self.bias = nn.Parameter(torch.zeros(local_out, device=device, dtype=dtype))
            if world > 1 and mode == "column":
                mark_tensor_parallel(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "column":
            return linear(copy_to_tp(x, self.group), self.weight, self.bias)
        out = reduce_from_tp(linear(x, self.weight), self.group)
        return out if self.bias is None else out + self.bias


class FusedColumnLinear(nn.Module):
    """Several column-parallel linears of one input as one matrix: y = f(x) [W_1; W_2; ...]_r^T.

    Each part's full weight is drawn from its own key (the same values as a separate
    ParallelLinear of that key), and this rank keeps the concatenation of its shards of every
    part, so the weights are the same at any TP degree. One GEMM, and one f: one all-reduce of the
    input gradient in backward instead of one per part (Megatron's fused QKV / fc1 linear_fc1).
    forward returns the one output tensor [part 1 | part 2 | ...] (this rank's widths: `sizes`).
    """

    def __init__(self, in_features: int, parts: dict[str, int], *, bias: bool, seed: int,
                 group=None, std: float = INIT_STD, device=None, dtype=torch.float32):
        super().__init__()
        world = tp_size(group)
        for key, out in parts.items():
            if out % world:
                raise ValueError(f"{key}: {in_features}x{out} not divisible by tp {world}")
        self.group = group
        self.sizes = tuple(out // world for out in parts.values())
        shards = [seeded_normal((out, in_features), key + ".weight", seed, std, shard_dim=0,
                                group=group, device=device, dtype=dtype)
                  for key, out in parts.items()]
        self.weight = nn.Parameter(torch.cat(shards, dim=0))
        self.bias = (nn.Parameter(torch.zeros(sum(self.sizes), device=device, dtype=dtype))
                     if bias else None)
        if world > 1:
            mark_tensor_parallel(self.weight)
            if self.bias is not None:
                mark_tensor_parallel(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(copy_to_tp(x, self.group), self.weight, self.bias)


class VocabParallelEmbedding(nn.Module):
    """Token embedding whose (padded) vocabulary rows are split over `group`."""

    def __init__(self, padded_vocab: int, hidden: int, *, key: str, seed: int, group=None,
                 device=None, dtype=torch.float32):
        super().__init__()
        world = tp_size(group)
        self.group = group
        self.rows = padded_vocab // world
        self.start = tp_rank(group) * self.rows
        self.weight = nn.Parameter(seeded_normal((padded_vocab, hidden), key + ".weight", seed,
                                                 INIT_STD, shard_dim=0, group=group,
                                                 device=device, dtype=dtype))
        if world > 1:
            mark_tensor_parallel(self.weight)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.group is None:
            return F.embedding(tokens, self.weight)
        local = tokens - self.start
        outside = (local < 0) | (local >= self.rows)
        out = F.embedding(local.masked_fill(outside, 0), self.weight)
        out = out.masked_fill(outside.unsqueeze(-1), 0.0)
        return reduce_from_tp(out, self.group)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocab-parallel logits (this rank's vocabulary slice) with this matrix as LM head (the weight
        gradient to its wgrad_sink when it has one: runtime/wgrad.py)."""
        return linear(copy_to_tp(hidden, self.group), self.weight)


def vocab_parallel_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, group=None,
                                 vocab_start: int = 0, columns: int | None = None) -> torch.Tensor:
    """Mean token cross-entropy of vocab-sharded logits (Megatron cross_entropy.py) through a full
    fp32 copy of the logits: the reference that runtime/loss.py's chunked loss is tested against
    ('fp32' in runtime/loss.py LOSS_IMPLS); it holds 12 bytes per logit at its peak. Columns from
    `columns` on are padded vocabulary (runtime/loss.py): -inf, out of the softmax, no gradient."""
    logits = logits.float()
    if columns is not None and columns < logits.shape[-1]:
        padded = torch.arange(logits.shape[-1], device=logits.device) >= columns
        logits = logits.masked_fill(padded, float("-inf"))
    if group is None:
        return F.cross_entropy(logits.flatten(0, -2), labels.flatten())
    import torch.distributed as dist

    with torch.no_grad():
        peak = logits.max(dim=-1).values
        _all_reduce(peak, group, dist.ReduceOp.MAX)
    shifted = logits - peak.unsqueeze(-1)
    rows = logits.shape[-1]
    local = labels - vocab_start
    outside = (local < 0) | (local >= rows)
    picked = shifted.gather(-1, local.masked_fill(outside, 0).unsqueeze(-1)).squeeze(-1)
    picked = reduce_from_tp(picked.masked_fill(outside, 0.0), group)
    sum_exp = reduce_from_tp(shifted.exp().sum(dim=-1), group)
    return (sum_exp.log() - picked).mean()
