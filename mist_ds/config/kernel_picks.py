"""Which implementation runs each op of the block and the loss by default, and the fastest one measured.

The one place that holds these choices. The runtime resolves its 'auto' kernels through it
(mist_ds/runtime/kernels.py, runtime/loss.py), so training, the profiler (which measures the runtime's
own block) and the cost model (which counts the passes and saved tensors of what runs) agree. CPU
tensors always take the eager torch path ('torch' element-wise ops, the 'chunked' loss).

Measurement: MEASUREMENT_FILE, 1x NVIDIA H200 (driver 580.159.04), torch 2.11.0+cu130,
liger-kernel 0.8.5, `python3 bench/runtime/gpu_bench.py --out ... --budget-s 125`; milliseconds of
forward + backward at seq 4096 for micro-batch 1 / 2 / 4 (ops: llama-7b, LayerNorm gpt-6.7b):
  RMSNorm    torch 0.21 / 0.29 / 0.49   compile 0.66 / 0.58 / 0.70                   -> torch
  LayerNorm  torch 0.25 / 0.33 / 0.53   compile 0.59 / 0.71 / 0.82  liger 0.78 / 0.72 / 0.79 -> torch
  SwiGLU     torch 0.83 / 1.63 / 3.17   compile 0.80 / 1.18 / 1.60                   -> compile
  RoPE q+k   torch 1.28 / 2.39 / 4.65   compile 0.91 / 1.25 / 1.67                   -> compile
(compile wins SwiGLU and RoPE at micro-batch 1 too, so the pick does not depend on the micro-batch).
Liger's RMSNorm, SwiGLU and RoPE have no numbers in that file: its SwiGLU call failed on 3-D input
and the benchmark recorded the error for all three (both fixed since); until a run measures them,
they are not picked. tests/runtime/test_kernel_picks.py re-derives every pick from the file.
LM head + loss, forward + backward (llama-7b head: micro-batch 2 x 4096 tokens, vocab 32000;
gpt-1.3b head: 8 x 2048, vocab 50304), ms and loss bytes per logit:
  fp32 11.29 / 22.57 (12 B)  chunked 14.47 / 33.13 (2 B)  chunked_compile 10.14 / 26.11 (2 B)
  liger 9.28 / 14.82 (2 B: Liger writes the gradient into the logits in forward)
  -> 'liger' at tp 1 (it takes logits, so a tied or untied head and a pipeline's separate loss_fn
  work alike); it has no vocab-parallel variant within 4 bytes per logit (liger's
  LigerVocabParallelCEFunction keeps an fp32 exp buffer, 4 B more per logit), so tp > 1, and tp 1
  where liger-kernel is not installed, run 'chunked_compile'.
Attention: SDPA's own dispatch was fastest, or within 1% of cuDNN, on every shape measured (flash
backend ~1.8x, efficient ~4x slower): the plan's default 'sdpa' (config/plan.py) stays.
"""

from __future__ import annotations

MEASUREMENT_FILE = "bench/results/runtime/gpu_bench_h200_2026-11-30.json"
AUTO_USES_FASTEST = True
"""Whether 'auto' runs the fastest implementations below (True) or the eager torch ops and the 'chunked'
loss (False). The cost model follows either (mist_ds/cost/kernel_set.py: the search costs this module's
CUDA resolution per tp; bench/accuracy scores each run for RunReport.kernels). True since session 8
(2026-11-30): the fastest set was faster in every run of it, each against plain DeepSpeed or eager in
one call: 1-GPU llama-2.7b winner 2.471 vs eager 2.922 s/iter (bench/results/runtime/fastest_1g/);
traced ZeRO-1 parity (llama-7b, 2 GPUs) 1.159x plain DeepSpeed, ZeRO-3 + recompute 1.186x, pp2 1.131x
(bench/results/runtime_speed.md); the 2-GPU plan-quality winners 5.683 (gpt-6.7b) and 5.665 (llama-7b)
s/iter, 54.0% / 53.9% MFU (bench/results/runtime/best7b/), where the eager runs of the same plans took
5.711 and 6.397 in earlier calls. The model still credits the set ~4 points more than it gains
(bench/accuracy/FUSED_CREDIT.md). Set it False to run (and cost) the eager ops."""
ELEMENTWISE_OPS = ("norm", "activation", "rope")
ELEMENTWISE_IMPLS = ("torch", "liger", "compile")
"""Implementations an element-wise op can run (runtime/kernels.py adds 'auto', which resolves to one)."""


def check_elementwise(kernels, allowed: tuple[str, ...]) -> None:
    """ValueError (one line) unless each of kernels' ELEMENTWISE_OPS attributes is one of `allowed`:
    what runtime/kernels.py Kernels (with 'auto') and cost/kernel_set.py KernelSet both check."""
    for op in ELEMENTWISE_OPS:
        if getattr(kernels, op) not in allowed:
            raise ValueError(f"kernel for {op} must be one of {allowed}, not {getattr(kernels, op)!r}")


LOSS_IMPLS = ("chunked", "chunked_compile", "liger", "fp32")
"""Loss implementations that can run (runtime/loss.py adds 'auto', which resolves to one)."""
CUDA_ELEMENTWISE: dict[str, str] = {"norm": "torch", "activation": "compile", "rope": "compile"}
"""Element-wise op -> implementation on CUDA tensors (runtime/kernels.py ELEMENTWISE_IMPLS)."""
CUDA_LOSS_TP1 = "liger"
"""Loss on CUDA logits without tensor parallelism, where liger-kernel is installed."""
CUDA_LOSS = "chunked_compile"
"""Loss on CUDA logits otherwise (tp > 1, or no liger-kernel)."""
CPU_LOSS = "chunked"
"""Loss on CPU logits (eager torch)."""


def elementwise_impl(op: str, on_cuda: bool, fastest: bool = AUTO_USES_FASTEST) -> str:
    """The implementation an 'auto' element-wise op runs: the CUDA pick when `fastest`, else 'torch'."""
    if op not in CUDA_ELEMENTWISE:
        raise ValueError(f"element-wise op must be one of {ELEMENTWISE_OPS}, not {op!r}")
    return CUDA_ELEMENTWISE[op] if (on_cuda and fastest) else "torch"


def loss_impl(on_cuda: bool, tp: int, liger_installed: bool = True, fastest: bool = AUTO_USES_FASTEST) -> str:
    """The implementation the 'auto' loss runs (runtime/loss.py LOSS_IMPLS): the measured pick when
    `fastest`, else the eager 'chunked' loss."""
    if not (on_cuda and fastest):
        return CPU_LOSS
    return CUDA_LOSS_TP1 if tp == 1 and liger_installed else CUDA_LOSS
