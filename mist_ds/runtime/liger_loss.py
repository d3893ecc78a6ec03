"""Liger-Kernel's Triton cross-entropy without its host synchronisations.

LigerCrossEntropyFunction (liger_kernel/ops/cross_entropy.py, 0.8.5) stops the training thread
until the GPU has drained its queue four times per call: `target_mask.sum().item()` to pass the
number of counted tokens to the kernel as a scalar, two asserts that read the labels' max and min
back, and in backward `torch.equal(grad_output, 1.0)`. S16 counted three of them per micro-batch on
a 1x H200 (bench/runtime/host_sync_sites.py, the only per-micro-batch sites of a step:
bench/results/runtime/sync_sites_S16/), and the profiled steps of session 15 show four
device-to-host copies per micro-batch. Each one empties the queue the host had built ahead of the
GPU, which a host-bound pass (ZeRO-3's hooks) cannot rebuild.

This Function launches the same two kernels (liger_cross_entropy_kernel, element_mul_kernel) with
reduction 'sum' and divides by the count on the device: the kernel then needs no count, and the
backward scales the gradient it wrote into the logits by grad_output / count, a device scalar. The
labels are in range before they reach the GPU (runtime/data.py: a token file's ids are checked
against the vocabulary on the host, synthetic ones are drawn below it), so the bounds asserts have
nothing left to catch. Per-token losses are kept in fp32 (Liger keeps them in
the logits' dtype, rounding the loss to bf16). Otherwise the arithmetic is Liger's: softmax - onehot
written in the logits' dtype into the logits' own storage in forward (2 bytes per bf16 logit in all,
cost/activations.py loss_chunk_bytes 'liger'), scaled in place in backward.
"""

from __future__ import annotations

import torch


def _liger_ops():
    """liger_kernel.ops.cross_entropy: its kernels, block limit and device checks."""
    from liger_kernel.ops import cross_entropy as ops

    return ops


def _num_warps(ops, logits: torch.Tensor) -> int:
    """Liger's own choice (cross_entropy_forward): 16 on ROCm, 8 for 16-bit logits on Blackwell, else 32."""
    if ops.is_hip():
        return 16
    blackwell = ops.infer_device_arch().startswith("blackwell")
    return 8 if logits.element_size() == 2 and blackwell else 32


ALIGNED_COLUMNS = 16
"""Triton specializes an integer argument divisible by 16 (its 'tt.divisibility' hint): the row width at which the
kernel's loads masked by n_cols can vectorize."""


class LigerCrossEntropyNoSync(torch.autograd.Function):
    """Mean cross-entropy of (N, V) logits against (N,) labels, rows labelled `ignore_index` not
    counted; the logits' storage becomes their gradient (as in Liger)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, labels: torch.Tensor, ignore_index: int,
                columns: int) -> torch.Tensor:
        if logits.stride(-1) != 1:
            logits = logits.contiguous()
        labels = labels.contiguous()
        rows, width = logits.shape
        per_token = torch.zeros(rows, dtype=torch.float32, device=logits.device)
        walked = walked_columns(logits, columns)
        cross_entropy_rows(logits, labels, per_token, ignore_index, walked, logits.requires_grad)
        counted = (labels != ignore_index).sum().clamp_(min=1).to(torch.float32)
        if logits.requires_grad and walked < width:
            logits.detach()[:, walked:].zero_()   # padded vocabulary: the gradient the kernel did not write is 0
        if logits.requires_grad:
            ctx.save_for_backward(logits.detach(), counted)
        return per_token.sum() / counted

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        grad, counted = ctx.saved_tensors
        scale_rows(grad, (grad_output.to(torch.float32) / counted).reshape(1))
        return grad, None, None, None


def walked_columns(logits: torch.Tensor, columns: int) -> int:
    """How many columns of each row the kernel walks: all of a padded row whose width Triton can vectorize over
    (a multiple of ALIGNED_COLUMNS) after its padding is set to -inf in place (softmax 0 there, so the loss is the
    real columns' and the gradient written there is 0), else `columns`. Why: GPT-2's 50257 columns (in rows padded
    to 50304, runtime/loss.py) ran ~3x slower per logit than aligned vocabularies in a profiled H100 step
    (bench/results/loss_kernels.json), and an n_cols that is not a multiple of 16 keeps Triton from vectorizing the
    kernel's masked loads; that this removes the slowdown is not measured yet (bench/runtime/liger_padding_probe.py,
    bench/calls/s73_liger_padding.sh: no GPU was lent in session 73). The fill costs one pass over the padding."""
    width = logits.shape[-1]
    if columns >= width or width % ALIGNED_COLUMNS or columns % ALIGNED_COLUMNS == 0:
        return columns
    logits.detach()[:, columns:].fill_(float("-inf"))
    return width


def cross_entropy_rows(logits: torch.Tensor, labels: torch.Tensor, per_token: torch.Tensor, ignore_index: int,
                       columns: int, with_grads: bool) -> None:
    """Liger's cross-entropy kernel over the rows of contiguous-row (N, V) logits: each row's loss (fp32,
    reduction 'sum', so unscaled) into `per_token`, and with `with_grads` softmax - onehot written over the
    row's first `columns` logits in their own storage (a row labelled `ignore_index` gets loss 0 and a zero
    gradient). The kernel walks a row's first `columns` logits; X_stride steps rows."""
    ops = _liger_ops()
    ops.liger_cross_entropy_kernel[(logits.shape[0],)](
        X_ptr=logits, X_stride=logits.stride(-2), Y_ptr=labels, Y_stride=labels.stride(-1),
        weight_ptr=None, loss_ptr=per_token, z_loss_ptr=None, loss_stride=per_token.stride(-1),
        token_accuracy_ptr=None, token_accuracy_stride=0, predicted_tokens_ptr=None,
        predicted_tokens_stride=0, n_cols=columns, n_non_ignore=1, sum_non_ignore_weight=1,
        ignore_index=ignore_index, weight_sum=0.0, lse_square_scale=0.0, label_smoothing=0.0,
        reduction="sum", softcap=None, RETURN_Z_LOSS=False, RETURN_TOKEN_ACCURACY=False,
        RETURN_PREDICTED_TOKENS=False, BLOCK_SIZE=_block_size(ops, columns),
        HAS_WEIGHT=False, HAS_SOFTCAPPING=False, HAS_GRADIENTS=with_grads,
        num_warps=_num_warps(ops, logits))


def scale_rows(grad: torch.Tensor, scale: torch.Tensor) -> None:
    """Every element of the (N, V) rows of `grad` times the one-element fp32 device tensor `scale`, in place
    (Liger's element_mul_kernel: no host synchronisation)."""
    ops = _liger_ops()
    rows, vocab = grad.shape
    ops.element_mul_kernel[(rows,)](grad, grad.stride(-2), scale, vocab, BLOCK_SIZE=_block_size(ops, vocab),
                                    num_warps=16 if ops.is_hip() else 32)


def _block_size(ops, vocab: int) -> int:
    """Liger's block over a row: the vocabulary's next power of 2, at most MAX_FUSED_SIZE."""
    return min(ops.MAX_FUSED_SIZE, 1 << (vocab - 1).bit_length())


def liger_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int,
                        columns: int | None = None) -> torch.Tensor:
    """Mean token cross-entropy of logits (..., V) against labels (...), labels equal to `ignore_index`
    not counted, through Liger's kernels with no host synchronisation (module docstring); only the first
    `columns` logits of a row are vocabulary (runtime/loss.py: the rest is padding, gradient 0)."""
    rows = logits.reshape(-1, logits.shape[-1])
    return LigerCrossEntropyNoSync.apply(rows, labels.reshape(-1), ignore_index,
                                         rows.shape[1] if columns is None else columns)
