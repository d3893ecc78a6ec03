"""The LM head and its cross-entropy as one pass over token chunks that never holds the logits.

The unfused path (runtime/model.py LMHead or the tied head, then runtime/loss.py) makes the whole
(tokens, vocabulary) logit matrix in 16 bits and keeps it until the loss's backward has written its
gradient into it and the head's backward has read it: 2 bytes per logit (1.05 GB for Llama 3.2 3B at
seq 4096, 4.98 GB for Qwen2-7B at micro-batch 8 and seq 2048), plus the holes such buffers leave in
the caching allocator. Here forward walks the tokens in chunks of about CHUNK_LOGITS logits; per chunk
it makes the chunk's logits, their log-sum-exp and target logit (runtime/loss.py _chunk_stats; with a
TP group combined over the ranks' vocabulary slices, _global_lse), turns them into the chunk's logit
gradient softmax - onehot (loss.py _chunk_grad), and from it the chunk's input gradient dx = g W and
weight gradient dW += g^T x, so only one chunk's logits exist at a time. Where the unfused loss would
run 'liger' (runtime/loss.py resolve_loss: CUDA, no TP group, liger-kernel installed, unless another
implementation is named), the chunks take Liger's cross-entropy kernel instead (_LigerChunks: per-token
loss and softmax - onehot written over the chunk's 16-bit logits in one kernel, no fp32 copy), in chunks
of FUSED_CHUNK_BYTES (cost/activations.py, with both paths' row rules), large enough that the weight
gradient's GEMM is not bound by reading and writing dW. This is Liger-Kernel's
fused_linear_cross_entropy formulation (liger_kernel/ops/fused_linear_cross_entropy.py: gradients
computed in forward, no recomputed logits), with the weight gradient handed to the weight's
wgrad_sink (runtime/wgrad.py) when it has one: the mistpipe engine's resident accumulation buffer,
written by the GEMM (stage.py _fuse_head).

Gradients in forward need the gradient the loss will receive: `grad_scale`, which the mistpipe engine
knows (its backward is loss / gradient_accumulation_steps, engine.py _ModuleCall, and it runs bf16 or
fp32 without loss scaling). Backward scales the saved input gradient (and a fresh weight gradient) by
the gradient it gets over grad_scale, so those stay exact for any gradient; a weight gradient already
in the sink cannot be rescaled, so backward asserts the gradient is grad_scale (torch._assert_async:
no host synchronisation on CUDA). dW accumulates chunk by chunk in the weight's dtype, one rounding per
chunk where the unfused head's single GEMM rounds once (as Liger's default; its accum_dtype option
accumulates in fp32 instead): the GPU A/B's losses show whether that matters.

Status: an engine option (`fused_head_loss`, off in the engine's defaults), tested on CPU against the unfused
path (tests/runtime/test_fused_head_loss.py: the eager chunks, the Liger chunks under Triton's interpreter, and
mistpipe runs against stock DeepSpeed) and in two H100 A/Bs (bench/results/engine/fused_head_loss_S59/: the
default engine's losses, 0.4-0.55% slower, 0.81 GiB less allocated where the head's backward was the peak); priced
(cost/conditions.py RunConditions.fused_head_loss); a plan asks for it with Plan.head_loss 'fused', which autotune
writes where it predicts it faster than the logits path (SearchSpace.fused_head_loss, on unless
--no-fused-head-loss).
"""

from __future__ import annotations

import torch

from mist_ds.cost.activations import fused_eager_rows, fused_liger_rows
from mist_ds.runtime.liger_loss import cross_entropy_rows, scale_rows
from mist_ds.runtime.loss import CHUNK_LOGITS, IGNORE_INDEX, _chunk_grad, _chunk_stats, _global_lse, resolve_loss


class FusedHeadLoss(torch.autograd.Function):
    """Mean cross-entropy of hidden @ weight^T over this rank's vocabulary slice (module doc)."""

    @staticmethod
    def forward(ctx, hidden, weight, labels, sink, grad_scale, group, vocab_start, columns, chunk_logits, impl,
                with_grads=True):
        x = hidden.reshape(-1, hidden.shape[-1])
        y = labels.reshape(-1)
        valid = y != IGNORE_INDEX
        local = y - vocab_start
        hit = valid & (local >= 0) & (local < columns)
        target = local.masked_fill(~hit, 0)
        count = valid.sum().clamp(min=1).to(torch.float32)
        dx = torch.zeros_like(x) if with_grads else None
        dw = torch.zeros_like(weight) if with_grads and sink is None else None
        total = torch.zeros((), device=x.device, dtype=torch.float32)
        real = weight[:columns]
        if _on_liger(x, group, columns, impl):
            chunks = _LigerChunks(real, y, grad_scale / count, with_grads, x.shape[0])
        else:
            chunks = _EagerChunks(real, target, hit, valid, (grad_scale / count) * valid, group, with_grads,
                                  int(fused_eager_rows(columns, chunk_logits)))
        for start in range(0, x.shape[0], chunks.rows):
            rows = slice(start, start + chunks.rows)
            loss_sum, g = chunks(x[rows], rows)
            total += loss_sum
            if g is None:
                continue
            torch.mm(g, real, out=dx[rows])
            _add_weight_gradient(sink, dw, g, x[rows], columns)
        if not with_grads:
            return total / count
        if dw is None:
            ctx.save_for_backward(dx)
        else:
            ctx.save_for_backward(dx, dw)
        ctx.grad_scale, ctx.fresh, ctx.shape = grad_scale, dw is not None, hidden.shape
        return total / count

    @staticmethod
    def backward(ctx, grad):
        ratio = grad.to(torch.float32) / ctx.grad_scale
        if not ctx.fresh:  # dW is already in the sink at grad_scale (module doc)
            torch._assert_async(torch.isclose(ratio, torch.ones_like(ratio)))
        saved = ctx.saved_tensors
        dx = (saved[0] * ratio.to(saved[0].dtype)).view(ctx.shape)
        dw = saved[1] * ratio.to(saved[1].dtype) if ctx.fresh else None
        return dx, dw, None, None, None, None, None, None, None, None, None


def _on_liger(x: torch.Tensor, group, columns: int, impl: str) -> bool:
    """Whether the chunks take Liger's cross-entropy kernels: where the unfused loss `impl` would run 'liger'
    (runtime/loss.py resolve_loss), with no TP group (the kernel sees a whole vocabulary); what the cost model
    reads from the run's recorded loss (cost/mistpipe.py _fused_working)."""
    return group is None and columns > 0 and resolve_loss(impl, x.is_cuda, 1) == "liger"


class _EagerChunks:
    """Chunks through torch ops (loss.py _chunk_stats / _chunk_grad, fp32 working copies; over a TP group's
    vocabulary slices): `rows` tokens a chunk; a call gives (the chunk's loss sum, its logit gradient or None)."""

    def __init__(self, real, target, hit, valid, scale, group, with_grads: bool, rows: int):
        self.real, self.target, self.hit, self.valid, self.scale = real, target, hit, valid, scale
        self.group, self.with_grads, self.rows = group, with_grads, rows

    def __call__(self, x, rows: slice):
        return _chunk(x, self.real, self.target[rows], self.hit[rows], self.valid[rows], self.scale[rows],
                      self.group, self.with_grads)


class _LigerChunks:
    """Chunks through Liger's kernels (liger_loss.py cross_entropy_rows, scale_rows): each chunk's logits GEMM'd
    into one reused buffer, its per-token losses and softmax - onehot written there in one kernel, scaled in
    place by the gradient the loss will receive over the counted tokens (a device scalar); no fp32 copy."""

    def __init__(self, real, labels, scale, with_grads: bool, tokens: int):
        self.real, self.labels, self.with_grads = real, labels.contiguous(), with_grads
        self.scale = scale.reshape(1).to(torch.float32)
        self.rows = int(fused_liger_rows(tokens, real.shape[0], real.element_size()))
        self.buffer = torch.empty(self.rows, real.shape[0], dtype=real.dtype, device=real.device)
        self.per_token = torch.zeros(tokens, dtype=torch.float32, device=real.device)

    def __call__(self, x, rows: slice):
        logits = self.buffer[: x.shape[0]]
        torch.mm(x, self.real.t(), out=logits)
        per_token = self.per_token[rows]
        cross_entropy_rows(logits, self.labels[rows], per_token, IGNORE_INDEX, logits.shape[1], self.with_grads)
        if not self.with_grads:
            return per_token.sum(), None
        scale_rows(logits, self.scale)
        return per_token.sum(), logits


def _chunk(x, weight, target, hit, valid, scale, group, with_grads: bool):
    """(sum of the chunk's token losses, its logit gradient in x's dtype; None without real columns or
    `with_grads`)."""
    if weight.shape[0] == 0:  # a TP rank whose slice is all padding: its share is the other ranks'
        lse = torch.full((x.shape[0],), float("-inf"), device=x.device, dtype=torch.float32)
        picked = torch.zeros_like(lse)
        logits = None
    else:
        logits = x @ weight.t()
        lse, picked = _chunk_stats(logits, target)
        picked = picked.masked_fill(~hit, 0.0)
    if group is not None:
        lse, picked = _global_lse(lse, picked, group)
    loss_sum = ((lse - picked) * valid).sum()
    if logits is None or not with_grads:
        return loss_sum, None
    return loss_sum, _chunk_grad(logits, lse, target, hit, scale).to(x.dtype)


def _add_weight_gradient(sink, dw, g, x, columns: int) -> None:
    """g^T x into the real vocabulary rows of the weight's gradient: through its sink (one accumulating
    GEMM into the engine's buffer; the engine sets sinks only on weights it can fuse, stage.py _sink_for,
    so it always hands a destination) or into the fresh `dw`."""
    def write(dest):
        dest[:columns].addmm_(g.t(), x)

    if sink is not None:
        sink(write)
    else:
        write(dw)


def fused_head_loss(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, *, grad_scale: float,
                    group=None, vocab_start: int = 0, vocab_end: int | None = None,
                    chunk_logits: int = CHUNK_LOGITS, impl: str = "auto") -> torch.Tensor:
    """Mean token cross-entropy of hidden @ weight^T (this rank's vocabulary rows of the head, from global
    id `vocab_start`; ids from `vocab_end` on are padding) without the logit matrix (module doc). The weight
    gradient goes to weight.wgrad_sink when it has one. `impl`: the unfused loss's implementation (LOSS_IMPLS),
    which picks the chunks' kernels (_on_liger); `chunk_logits`: the eager chunks' size. Without gradients: the
    loss only."""
    columns = weight.shape[0] if vocab_end is None else max(0, min(weight.shape[0], vocab_end - vocab_start))
    sink = getattr(weight, "wgrad_sink", None)
    if not (torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)):
        with torch.no_grad():
            return FusedHeadLoss.forward(None, hidden, weight, labels, None, 1.0, group, vocab_start, columns,
                                         chunk_logits, impl, with_grads=False)
    return FusedHeadLoss.apply(hidden, weight, labels, sink, grad_scale, group, vocab_start, columns,
                               chunk_logits, impl)
