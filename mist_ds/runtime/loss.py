"""Cross-entropy of (vocab-parallel) logits that never holds an fp32 copy of the logit matrix.

`chunked_cross_entropy` is a custom autograd Function over the 16-bit logits. Forward walks the
rows in chunks of about CHUNK_LOGITS logits, upcasting one chunk at a time to fp32 to get each
token's log-sum-exp and target logit; with a TP group the per-rank partial results are combined
by two small all-reduces of per-token vectors (max of the local log-sum-exps, then the sums of
exp(lse_r - max) and of the target logits), as Megatron's vocab-parallel cross-entropy does
(megatron/core/tensor_parallel/cross_entropy.py) but without its full fp32 softmax buffer.
Backward walks the chunks again and writes softmax - onehot, scaled by grad / num_tokens, in the
logits' dtype straight into the saved logits buffer (its storage becomes the gradient). So the
loss holds the 16-bit logits (2 bytes per logit in bf16) plus one chunk's working buffer (fp32,
4 * CHUNK_LOGITS bytes, in eager torch; the compiled kernels' 16-bit output, 2 * CHUNK_LOGITS) and a
few per-token vectors; mist_ds/cost/activations.py logits_bytes models exactly that.

The in-place write is safe because nothing reads logits after the loss backward: the head's
backward needs only its input and weight. Writing bumps the tensor's version counter, so a second
backward through the same graph raises autograd's "modified by an inplace operation" error instead
of reading gradients as logits. Non-contiguous logits get a fresh gradient tensor instead.

Implementations selectable by name (LOSS_IMPLS): 'auto' (the default: what
mist_ds/config/kernel_picks.py measured fastest within 4 bytes per logit - 'liger' for CUDA logits
at tp = 1 where liger-kernel is installed, else 'chunked_compile' on CUDA, 'chunked' on the CPU),
'chunked' (this module, eager torch), 'chunked_compile' (the same with its two chunk kernels
through torch.compile on CUDA), 'liger' (Liger-Kernel's Triton cross-entropy kernels: tp = 1 and
CUDA only; they write the gradient into the logits already in forward, so they too hold 2 bytes
per logit; launched by runtime/liger_loss.py, without the host synchronisations of Liger's own
autograd Function and with fp32 per-token losses), 'fp32' (the
former upcast-everything path, runtime/tp.py vocab_parallel_cross_entropy; kept as the reference).
Labels equal to IGNORE_INDEX add no loss and no gradient, as in torch.nn.functional.cross_entropy.

Padded vocabulary: the head computes logits for the vocabulary padded to a multiple of 128 x tp
(ModelSpec.padded_vocab_size, Megatron-LM's rule, so every TP shard is GEMM-friendly). `vocab_end` (the
real vocabulary size) keeps the padding columns out of the softmax in every implementation and gives them
a zero gradient, so a config whose vocabulary is not such a multiple (GPT-2's 50257) trains the loss
transformers computes (Megatron's vocab-parallel loss lets the padded logits join the softmax).
"""

from __future__ import annotations

import functools

import torch

from mist_ds.config import kernel_picks
from mist_ds.config.kernel_picks import loss_impl
from mist_ds.runtime.kernels import compiled as compile_fixed_shapes
from mist_ds.runtime.liger_loss import liger_cross_entropy
from mist_ds.runtime.tp import tp_size, vocab_parallel_cross_entropy

CHUNK_LOGITS = 1 << 24   # logits per chunk: a 64 MiB fp32 working buffer
IGNORE_INDEX = -100
LOSS_IMPLS = ("auto", *kernel_picks.LOSS_IMPLS)


def _chunk_stats(x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-sum-exp and target logit of each row of a chunk, in fp32; one fp32 copy of the chunk."""
    xf = x.to(torch.float32, copy=True)
    picked = xf.gather(1, target.unsqueeze(1)).squeeze(1)
    peak = xf.amax(dim=1)
    lse = peak + xf.sub_(peak.unsqueeze(1)).exp_().sum(dim=1).log()
    return lse, picked


def _chunk_stats_functional(x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """_chunk_stats without in-place ops, for torch.compile: inductor can then keep the upcast in
    registers (the in-place version's mutated fp32 copy must be realised as a buffer)."""
    xf = x.to(torch.float32)
    picked = xf.gather(1, target.unsqueeze(1)).squeeze(1)
    peak = xf.amax(dim=1)
    return peak + (xf - peak.unsqueeze(1)).exp().sum(dim=1).log(), picked


def _chunk_grad(x: torch.Tensor, lse: torch.Tensor, target: torch.Tensor, hit: torch.Tensor,
                scale: torch.Tensor) -> torch.Tensor:
    """(softmax - onehot) * scale of a chunk, in fp32 (the caller's copy_ converts it)."""
    p = x.to(torch.float32, copy=True).sub_(lse.unsqueeze(1)).exp_()
    p.scatter_add_(1, target.unsqueeze(1), -hit.to(torch.float32).unsqueeze(1))
    return p.mul_(scale.unsqueeze(1))


def _chunk_grad_pointwise(x, lse, target, hit, scale) -> torch.Tensor:
    """_chunk_grad in x's dtype as one pointwise expression, for torch.compile: the one-hot is a
    comparison with the column index, not a scatter, which inductor does not fuse. The former
    compiled kernels held 96 MiB above the logits (S15-2, where one fp32 chunk is 64); this one and
    _chunk_stats_functional hold 0.14 MB in forward and 33.6 MB in backward, the 16-bit output
    chunk (S15-5, bench/results/runtime/gpu_tests_S15/loss_peaks_S15-5.jsonl)."""
    cols = torch.arange(x.shape[1], device=x.device)
    onehot = (cols.unsqueeze(0) == target.unsqueeze(1)) & hit.unsqueeze(1)
    p = (x.to(torch.float32) - lse.unsqueeze(1)).exp() - onehot.to(torch.float32)
    return (p * scale.unsqueeze(1)).to(x.dtype)


def _kernels(compiled: bool, x: torch.Tensor):
    if compiled and x.is_cuda:
        return compile_fixed_shapes(_chunk_stats_functional), compile_fixed_shapes(_chunk_grad_pointwise)
    return _chunk_stats, _chunk_grad


def _global_lse(lse: torch.Tensor, picked: torch.Tensor, group) -> tuple[torch.Tensor, torch.Tensor]:
    """Combine per-rank log-sum-exps and (zero off-rank) target logits over the TP group."""
    import torch.distributed as dist

    peak = lse.clone()
    dist.all_reduce(peak, op=dist.ReduceOp.MAX, group=group)
    sums = torch.stack(((lse - peak).exp(), picked))
    dist.all_reduce(sums, op=dist.ReduceOp.SUM, group=group)
    return peak + sums[0].log(), sums[1]


def _rows_per_chunk(vocab_rows: int, chunk_logits: int) -> int:
    return max(1, chunk_logits // max(1, vocab_rows))


class ChunkedCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of (tokens, local vocab) logits; see the module docstring."""

    @staticmethod
    def forward(ctx, logits, labels, group, vocab_start, chunk_logits, compiled, columns):
        vocab = logits.shape[-1]
        x = logits.reshape(-1, vocab)
        local = labels.reshape(-1) - vocab_start
        valid = labels.reshape(-1) != IGNORE_INDEX
        hit = valid & (local >= 0) & (local < columns)
        target = local.masked_fill(~hit, 0)
        lse = torch.full((x.shape[0],), float("-inf"), device=x.device, dtype=torch.float32)
        picked = torch.zeros_like(lse)
        stats, _ = _kernels(compiled, x)
        step = _rows_per_chunk(columns, chunk_logits)
        for start in range(0, x.shape[0] if columns else 0, step):
            lse[start:start + step], picked[start:start + step] = stats(
                x[start:start + step, :columns], target[start:start + step])
        picked = picked.masked_fill(~hit, 0.0)
        if group is not None:
            lse, picked = _global_lse(lse, picked, group)
        count = valid.sum().clamp(min=1).to(torch.float32)
        loss = ((lse - picked) * valid).sum() / count
        ctx.save_for_backward(logits, lse, target, hit, valid, count)
        ctx.chunk_logits, ctx.compiled, ctx.columns = chunk_logits, compiled, columns
        return loss

    @staticmethod
    def backward(ctx, grad):
        logits, lse, target, hit, valid, count = ctx.saved_tensors
        x = logits.reshape(-1, logits.shape[-1])
        out = logits if logits.is_contiguous() else torch.empty_like(x)
        out = out.view(x.shape)
        scale = (grad.to(torch.float32) / count) * valid
        _, grad_kernel = _kernels(ctx.compiled, x)
        columns = ctx.columns
        step = _rows_per_chunk(columns, ctx.chunk_logits)
        with torch.no_grad():
            for start in range(0, x.shape[0] if columns else 0, step):
                rows = slice(start, start + step)
                out[rows, :columns].copy_(grad_kernel(x[rows, :columns], lse[rows], target[rows], hit[rows],
                                                      scale[rows]))
            out[:, columns:].zero_()   # the padded vocabulary's columns: no softmax share, no gradient
        return out.view(logits.shape), None, None, None, None, None, None


def chunked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, group=None,
                          vocab_start: int = 0, chunk_logits: int = CHUNK_LOGITS,
                          compiled: bool = False, vocab_end: int | None = None) -> torch.Tensor:
    """Mean token cross-entropy of this rank's vocabulary slice [vocab_start, vocab_start + V)
    of the logits (..., V); labels (...) are global vocabulary ids; ids from `vocab_end` on are
    padding (module docstring)."""
    return ChunkedCrossEntropy.apply(logits, labels, group, vocab_start, chunk_logits, compiled,
                                     real_columns(logits.shape[-1], vocab_start, vocab_end))


def real_columns(width: int, vocab_start: int, vocab_end: int | None) -> int:
    """How many of a rank's `width` logit columns, from global id `vocab_start`, are real vocabulary
    (below `vocab_end`; None: all of them)."""
    return width if vocab_end is None else max(0, min(width, vocab_end - vocab_start))


@functools.cache
def liger_available() -> bool:
    """Liger-Kernel's cross-entropy kernels importable (they need Triton, so CUDA machines only)."""
    try:
        from liger_kernel.ops.cross_entropy import (  # noqa: F401
            element_mul_kernel, liger_cross_entropy_kernel)
    except ImportError:
        return False
    return True


def resolve_loss(impl: str, on_cuda: bool, tp: int) -> str:
    """The implementation that really runs for `impl` ('auto' resolved; CPU logits never run 'liger'
    or a compiled kernel)."""
    if impl not in LOSS_IMPLS:
        raise ValueError(f"loss implementation must be one of {LOSS_IMPLS}, not {impl!r}")
    if impl == "auto":
        return loss_impl(on_cuda, tp, liger_available())
    if not on_cuda and impl in ("liger", "chunked_compile"):
        return "chunked"
    return impl


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, group=None, vocab_start: int = 0,
                  impl: str = "auto", chunk_logits: int | None = None,
                  vocab_end: int | None = None) -> torch.Tensor:
    """Mean cross-entropy through the named implementation (LOSS_IMPLS). 'liger' needs tp = 1 and
    CUDA logits; on CPU tensors it falls back to 'chunked' (CPU always runs ours). chunk_logits:
    the chunked loss's chunk size (CHUNK_LOGITS when None); vocab_end: the real vocabulary size, the
    columns from it on being padding (module docstring; None: no padding)."""
    impl = resolve_loss(impl, logits.is_cuda, tp_size(group))
    columns = real_columns(logits.shape[-1], vocab_start, vocab_end)
    if impl == "fp32":
        return vocab_parallel_cross_entropy(logits, labels, group, vocab_start, columns)
    if impl == "liger":
        if group is not None:
            raise ValueError("loss 'liger' has no vocab-parallel variant here: use 'chunked' with tp > 1")
        return liger_cross_entropy(logits, labels, IGNORE_INDEX, columns)
    return chunked_cross_entropy(logits, labels, group, vocab_start,
                                 chunk_logits=chunk_logits or CHUNK_LOGITS,
                                 compiled=impl == "chunked_compile", vocab_end=vocab_end)
