"""Linear layers whose weight gradient is added straight into an accumulation buffer.

Megatron-LM's gradient_accumulation_fusion (megatron/core/tensor_parallel/layers.py
LinearWithGradAccumulationAndAsyncCommunication) writes a linear's weight gradient into the
parameter's main_grad with one GEMM whose output is accumulated (beta = 1), instead of computing a
fresh gradient and adding it in a second kernel. Plain autograd does the latter: a new wgrad tensor
per weight and micro-batch, then an add into the accumulation buffer (mistpipe's unit.py accumulate;
in the traced llama-7b step 576 such adds took ~35 ms of 1493, bench/results/runtime/MFU_GAP.md).

A weight that carries a `wgrad_sink` (set by fuse_weight_gradients on the blocks and by
StageRuntime._fuse_head on the LM head, which the mistpipe engine does unless its `fused_wgrad` option
is off: runtime/mistpipe/stage.py) takes this path: its backward
hands the sink a `write(dest)` function that either accumulates dy^T x into `dest` (torch.addmm_,
one GEMM with beta = 1) or, given None, returns a fresh gradient; the weight itself gets no
gradient (no .grad, no post-accumulate hook). Every other weight runs torch.nn.functional.linear
unchanged.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

WgradWrite = Callable[[torch.Tensor | None], torch.Tensor | None]


def weight_gradient(dy: torch.Tensor, x: torch.Tensor, dest: torch.Tensor | None) -> torch.Tensor | None:
    """dy^T x over every leading dimension: added into `dest` (in place, returns None) or, when
    `dest` is None, returned as a new tensor."""
    dy2, x2 = dy.reshape(-1, dy.shape[-1]), x.reshape(-1, x.shape[-1])
    if dest is None:
        return dy2.t().mm(x2)
    dest.addmm_(dy2.t(), x2)
    return None


class _LinearIntoSink(torch.autograd.Function):
    """y = x W^T + b; backward: dx, db as usual, dW handed to the weight's sink."""

    @staticmethod
    def forward(ctx, x, weight, bias, sink):
        ctx.save_for_backward(x, weight)
        ctx.sink, ctx.has_bias = sink, bias is not None
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, dy):
        x, weight = ctx.saved_tensors
        dx = dy.matmul(weight) if ctx.needs_input_grad[0] else None
        ctx.sink(lambda dest: weight_gradient(dy, x, dest))
        db = dy.reshape(-1, dy.shape[-1]).sum(0) if ctx.has_bias else None
        return dx, None, db, None


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear, with the weight gradient going to weight.wgrad_sink when it has one (module doc)."""
    sink = getattr(weight, "wgrad_sink", None)
    if sink is None or not (torch.is_grad_enabled() and weight.requires_grad):
        return F.linear(x, weight, bias)
    return _LinearIntoSink.apply(x, weight, bias, sink)


def fuse_weight_gradients(block: torch.nn.Module,
                          make_sink: Callable[[torch.nn.Parameter], Callable | None]) -> None:
    """Give the weight of each of `block`'s linears (modules whose forward calls `linear`: tp.py
    ParallelLinear, FusedColumnLinear) the wgrad_sink make_sink(weight) returns (None: none), except
    the final linear's (block.final_linear()) when the block recomputes. torch.utils.checkpoint's non-reentrant
    recomputation stops once the last tensor backward needs has been saved (early stop), and autograd's
    own linear saves its inputs before its GEMM runs, so the block's final GEMM is never recomputed;
    a custom Function saves only after its forward returns, so a sink on that linear re-ran its GEMM in
    every recomputation (S15-4, 1x H200: 144 extra GEMMs a step on a plan with 9 recomputed blocks and
    16 micro-batches, 26 ms). That weight's gradient takes the separate add instead."""
    from mist_ds.runtime.tp import FusedColumnLinear, ParallelLinear

    skip = block.final_linear() if getattr(block, "recompute", False) else None
    for module in block.modules():
        if isinstance(module, (ParallelLinear, FusedColumnLinear)) and module is not skip:
            sink = make_sink(module.weight)
            if sink is not None:
                module.weight.wgrad_sink = sink
