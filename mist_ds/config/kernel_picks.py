"""Which implementation runs each op of the block and the loss by default, and the fastest one measured.

The one place that holds these choices. The runtime resolves its 'auto' kernels through it
(mist_ds/runtime/kernels.py, runtime/loss.py), so training, the profiler (which measures the runtime's
own block) and the cost model (which counts the passes and saved tensors of what runs) agree. CPU
tensors always take the eager torch path ('torch' element-wise ops, the 'chunked' loss).

Element-wise ops: OPS_MEASUREMENT_FILE, 1x NVIDIA H200 (driver 580.159.04), torch 2.11.0+cu130,
liger-kernel 0.8.5, `python3 bench/runtime/gpu_bench.py --sections ops --budget-s 110`; milliseconds of
forward + backward at seq 4096 for micro-batch 1 / 2 / 4 (ops: llama-7b, LayerNorm gpt-6.7b):
  RMSNorm    torch 0.18 / 0.26 / 0.51   compile 0.70 / 0.57 / 0.75  liger 0.69 / 0.97 / 0.95 -> torch
  LayerNorm  torch 0.26 / 0.33 / 0.48   compile 0.83 / 1.06 / 0.80  liger 0.92 / 0.84 / 0.96 -> torch
  SwiGLU     torch 0.84 / 1.58 / 3.10   compile 0.81 / 1.25 / 1.72  liger 0.54 / 0.93 / 1.38 -> liger
  RoPE q+k   torch 1.48 / 2.63 / 5.01   compile 0.68 / 0.95 / 1.10  liger 0.70 / 0.82 / 1.37 -> compile
(bench/runtime/ops_bench.py pick: the fastest summed over the micro-batches). In a training step
(bench/results/runtime/swiglu_1g_S11/, 1x H200, the 1-GPU llama-2.7b plan-quality winner, same call)
Liger's SwiGLU made the iteration 2.0% faster than the compiled one (2.457 / 2.445 vs 2.492 / 2.509
s/iter). The compiled RoPE stays: it runs on the fused q|k|v projection (runtime/kernels.py
torch_qkv_rope) without the copies Liger's needs. tests/runtime/test_kernel_picks.py re-derives every
pick from the files. Where liger-kernel is not importable, 'auto' SwiGLU runs CUDA_WITHOUT_LIGER's.
LM head + loss (MEASUREMENT_FILE, 1x NVIDIA H200, driver 580.159.04, 2026-12-01, `python3
bench/runtime/gpu_bench.py --sections loss --budget-s 150`), forward + backward (llama-7b head:
micro-batch 2 x 4096 tokens, vocab 32000; gpt-1.3b head: 8 x 2048, vocab 50304), ms and loss bytes per
logit:
  fp32 10.91 / 22.27 (12 B)  chunked 14.23 / 32.50 (2 B)  chunked_compile 9.34 / 22.61 (2 B)
  liger 8.74 / 14.38 (2 B: Liger writes the gradient into the logits in forward)
  -> 'liger' at tp 1 (it takes logits, so a tied or untied head and a pipeline's separate loss_fn
  work alike); it has no vocab-parallel variant within 4 bytes per logit (liger's
  LigerVocabParallelCEFunction keeps an fp32 exp buffer, 4 B more per logit), so tp > 1, and tp 1
  where liger-kernel is not installed, run 'chunked_compile'.
Attention (bench/results/runtime/gpu_bench_h200_2026-11-30.json): SDPA's own dispatch was fastest, or
within 1% of cuDNN, on every shape measured (flash backend ~1.8x, efficient ~4x slower): the plan's
default 'sdpa' (config/plan.py) stays.
"""

from __future__ import annotations

MEASUREMENT_FILE = "bench/results/runtime/gpu_bench_loss_h200_2026-12-01.json"
"""The benchmark the loss picks and the cost model's loss rates (cost/layer_time.py) come from."""
OPS_MEASUREMENT_FILE = "bench/results/runtime/gpu_bench_ops_h200_2026-11-30T1800.json"
"""The benchmark the element-wise picks come from (every implementation measured, Liger's included)."""
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
CUDA_ELEMENTWISE: dict[str, str] = {"norm": "torch", "activation": "liger", "rope": "compile"}
"""Element-wise op -> implementation on CUDA tensors (runtime/kernels.py ELEMENTWISE_IMPLS)."""
CUDA_WITHOUT_LIGER: dict[str, str] = {"activation": "compile"}
"""The runner-up for a 'liger' pick, where liger-kernel is not importable (the GPU image lacks it unless
the wheelhouse carries it: bench/results/runtime/swiglu_1g_S11/README.md)."""
CUDA_LOSS_TP1 = "liger"
"""Loss on CUDA logits without tensor parallelism, where liger-kernel is installed."""
CUDA_LOSS = "chunked_compile"
"""Loss on CUDA logits otherwise (tp > 1, or no liger-kernel)."""
CPU_LOSS = "chunked"
"""Loss on CPU logits (eager torch)."""


def elementwise_impl(op: str, on_cuda: bool, fastest: bool = AUTO_USES_FASTEST, liger_installed: bool = True) -> str:
    """The implementation an 'auto' element-wise op runs: the CUDA pick when `fastest` (its
    CUDA_WITHOUT_LIGER runner-up for a 'liger' pick without liger-kernel), else 'torch'."""
    if op not in CUDA_ELEMENTWISE:
        raise ValueError(f"element-wise op must be one of {ELEMENTWISE_OPS}, not {op!r}")
    if not (on_cuda and fastest):
        return "torch"
    pick = CUDA_ELEMENTWISE[op]
    return CUDA_WITHOUT_LIGER[op] if pick == "liger" and not liger_installed else pick


def loss_impl(on_cuda: bool, tp: int, liger_installed: bool = True, fastest: bool = AUTO_USES_FASTEST) -> str:
    """The implementation the 'auto' loss runs (runtime/loss.py LOSS_IMPLS): the measured pick when
    `fastest`, else the eager 'chunked' loss."""
    if not (on_cuda and fastest):
        return CPU_LOSS
    return CUDA_LOSS_TP1 if tp == 1 and liger_installed else CUDA_LOSS
