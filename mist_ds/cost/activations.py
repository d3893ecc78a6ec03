"""Saved-activation bytes of the runtime's own blocks (mist_ds/runtime/blocks.py), per micro-batch.

Derivation: Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
Models", section 4.1 / table 2 (activations per layer = s*b*h*(34 + 5*a*s/h) bytes for GPT with
fp16, dropout, no flash), adapted to this runtime:
  * no dropout (the runtime has none), so Korthikanti's mask bytes vanish;
  * attention through SDPA's flash/efficient kernels saves q, k, v, its output and the fp32
    log-sum-exp (b * heads * s) instead of the s^2 score/softmax matrices;
  * q, k, v, the attention output and the o-projection's input are heads x head_dim wide (ModelSpec.q_dim,
    kv_dim), which is h only where the head size is hidden / heads (not Mistral-Nemo's or Qwen3's);
  * grouped-query attention: the SDPA path repeats k/v to all heads before the kernel
    (causal_attention in blocks.py), so the saved k/v are full width; flash-attn saves them at kv width;
  * SwiGLU saves gate, silu(gate), up and their product (4 f-wide tensors) instead of GELU's 2;
  * norms save their input and fp32 per-token statistics (LayerNorm: mean and rstd; RMSNorm: rstd);
  * RoPE saves its cos/sin tables (s x rot_dim each, shared by q and k);
  * Qwen3's per-head q/k RMSNorms (qk_norm) save fp32 rstd per head and, on CUDA, their inputs: views of the
    fused q|k|v output that keep all of it (_qk_norm_saves);
  * Megatron TP without sequence parallelism: tensors entering column-parallel linears are full
    width on every rank, everything between column and row linears is 1/tp.
The block's saves are listed once, one entry per save call (block_saves): GPU memory holds each
storage once (layer_saved_bytes, the NEW entries), while torch's save_on_cpu allocates one pinned
host tensor per call, each rounded up to a power of two (pinned_call_bytes), so host memory under
activation offload is derived from the same list. Every count below is checked against
torch.autograd.graph.saved_tensors_hooks on the runtime's block in tests/cost/test_activations.py
(bytes per storage) and tests/cost/test_saved_calls.py (call by call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, get_args

import numpy as np

from mist_ds.config import ModelSpec
from mist_ds.config.plan import AttentionKernel
from mist_ds.cost.kernel_set import ROPE_COMPILED_ON_VIEWS
from mist_ds.cost.shapes import pow2_bytes
from mist_ds.cost.symbols import PP, VS, b
from mist_ds.cost.symbols import tp as TP_SYM

Attention = Literal["sdpa", "flash_attn", "math"]
Platform = Literal["cuda", "cpu"]
FP32 = 4
INT64 = 8

# The runtime's selectable attention kernels (mist_ds/runtime/kernels.py causal_attention) and the
# saved-tensor family of each: every SDPA kernel but math saves q, k, v (k/v repeated to all
# heads), its output and an fp32 log-sum-exp ('sdpa'); 'auto' is flash-attn where importable.
ATTENTION_KERNELS = ("auto", *get_args(AttentionKernel))  # 'auto': the runtime's machine-dependent default
ATTENTION_SAVES: dict[str, Attention] = {"auto": "sdpa", "sdpa": "sdpa", "sdpa_flash": "sdpa",
                                         "sdpa_cudnn": "sdpa", "sdpa_efficient": "sdpa",
                                         "flash_attn": "flash_attn", "math": "math"}
# Logits per chunk of the runtime's loss (mist_ds/runtime/loss.py CHUNK_LOGITS; a test keeps the
# two equal): its working buffer is loss_chunk_bytes.
LOSS_CHUNK_LOGITS = 1 << 24


def loss_chunk_bytes(loss: str, elem: int = 2) -> int:
    """Working buffer of the loss's chunk being processed (mist_ds/runtime/loss.py): eager
    'chunked' upcasts the chunk to an fp32 copy; 'chunked_compile' fuses each chunk into one kernel
    whose only buffer is its 16-bit output before the copy into the logits (the fp32 upcast stays in
    registers); 'liger' and 'fp32' have no chunk. GPU test: tests/runtime/test_gpu_block.py
    test_loss_matches_fp32_reference_and_holds_no_fp32_logits."""
    return {"chunked": FP32, "chunked_compile": elem}.get(loss, 0) * LOSS_CHUNK_LOGITS


# The fused LM head + loss (runtime/fused_head_loss.py, the mistpipe engine's fused_head_loss option): token
# rows per chunk and its working set, here so that the runtime and the cost model read one rule.
FUSED_CHUNK_BYTES = 256 << 20
"""16-bit logits of one chunk on the fused loss's Liger path (runtime/fused_head_loss.py _LigerChunks): no fp32
copy exists there, so a chunk can be large, and it should be: the weight gradient's GEMM dW += g^T x has the
chunk's token rows as its inner dimension and reads and writes the whole (vocabulary, hidden) gradient once per
chunk, 0.5 x rows flop per byte, under the H100's ~295 flop per byte (989 dense bf16 TFLOP/s over 3.35 TB/s,
NVIDIA's H100 SXM sheet) below ~600 rows. 256 MiB gives 768 rows at Qwen2's 152k vocabulary, 1024 at Llama 3's
128k, as Liger's own chunk (liger_kernel/ops/fused_linear_cross_entropy.py: about tokens x hidden logits) does on
the micro-batches that make the logits large."""
GEMM_ROWS = 128
"""A fused chunk's token rows are a multiple of this (where a chunk holds half as many or more): the GEMMs' M
dimension, which tiles in 128s on Hopper (130 rows, LOSS_CHUNK_LOGITS over a 128k vocabulary, would run two
tiles, one nearly empty)."""
FUSED_TOKEN_BYTES = 2 * INT64 + 2 + FP32
"""Per token beside the chunks (runtime/fused_head_loss.py FusedHeadLoss.forward): the label's local id and the
clamped target (int64), two bool masks, and one fp32 loss (_LigerChunks) or the fp32 gradient scale (_EagerChunks)."""


def fused_liger_rows(tokens, columns, elem: int = 2):
    """Token rows per chunk on the fused loss's Liger path: FUSED_CHUNK_BYTES of logits, a whole number of
    GEMM_ROWS (at least one), at most every token. Scalars or numpy arrays."""
    rows = np.floor_divide(np.floor_divide(FUSED_CHUNK_BYTES, np.maximum(1, elem * columns)), GEMM_ROWS) * GEMM_ROWS
    return np.maximum(1, np.minimum(tokens, np.maximum(GEMM_ROWS, rows)))


def fused_eager_rows(columns, chunk_logits: int = LOSS_CHUNK_LOGITS):
    """Token rows per chunk on the fused loss's eager path (TP, or no Liger): about `chunk_logits` logits,
    rounded to the nearest multiple of GEMM_ROWS (at least one) from half a multiple on, else the plain count."""
    rows = np.maximum(1, np.floor_divide(chunk_logits, np.maximum(columns, 1)))
    tiled = np.maximum(GEMM_ROWS, np.round(rows / GEMM_ROWS) * GEMM_ROWS)
    return np.where(2 * rows >= GEMM_ROWS, tiled, rows)


def fused_head_loss_bytes(tokens, columns, hidden: int, loss: str, elem: int = 2):
    """Peak of the fused LM head + loss on one TP rank beyond the saved activations (runtime/fused_head_loss.py):
    the input's gradient dx (tokens x hidden, made in forward and saved for backward), the per-token vectors
    (FUSED_TOKEN_BYTES) and one chunk's working set: on the Liger path ('liger' loss) its 16-bit logits, which the
    kernel overwrites with their gradient; on the eager path its 16-bit logits, one fp32 copy (the statistics',
    then the gradient's: _chunk_stats, _chunk_grad) and the 16-bit gradient. No logit matrix, no held set."""
    if loss == "liger":
        chunk = fused_liger_rows(tokens, columns, elem) * columns * elem
    else:
        chunk = np.minimum(tokens, fused_eager_rows(columns)) * columns * (2 * elem + FP32)
    return tokens * (hidden * elem + FUSED_TOKEN_BYTES) + chunk


NEW, VIEW, SAME = "new", "view", "same"


@dataclass(frozen=True)
class SavedTensor:
    """One save call of the block's forward: one tensor autograd hands to the saved-tensor pack hook."""

    name: str
    per_token: Any
    """Bytes per token of the micro-batch (a number, or sympy in tp)."""
    itemsize: int
    """Bytes per element (numel = bytes / itemsize)."""
    fixed: float = 0
    """Bytes independent of the micro-batch (RoPE's (seq, rot_dim) tables)."""
    repeat: str = NEW
    """NEW: bytes no earlier save of the block holds; VIEW: another view of an earlier save's
    bytes (a reshape: a new tensor object); SAME: the very tensor of an earlier save again."""
    kept_per_token: Any = 0
    """Bytes per token of the saved view's storage that no save call of the block covers but that the
    view keeps alive on the device (v's part of the fused q|k|v output behind the q/k norms' saved
    inputs): device memory, not bytes a host copy of the view moves."""

    def nbytes(self, tokens):
        """Bytes of the tensor handed to the hook for `tokens` = micro-batch x seq tokens."""
        return self.per_token * tokens + self.fixed

    def device_bytes(self, tokens):
        """Bytes the save holds in device memory for `tokens` tokens: its own and the storage it keeps."""
        return self.nbytes(tokens) + self.kept_per_token * tokens


def _norm_saves(model: ModelSpec, elem: int, platform: Platform) -> list[SavedTensor]:
    """What the block's two norms save (inputs they keep + statistics), and their outputs (the
    inputs of the column-parallel linears q|k|v and up / gate|up, full width under TP)."""
    h = model.hidden_size
    outputs = [SavedTensor(f"norm{i} output", elem * h, elem) for i in (1, 2)]
    if model.norm == "rmsnorm" and platform == "cpu":
        # CPU F.rms_norm is composite: x.float() is saved by pow and by the mul with rstd, rstd by
        # rsqrt and by that mul, then x * rstd by the weight's mul, all fp32 (each norm its own
        # copies); the 16-bit input itself is not kept
        one = [("x.float()", FP32 * h, NEW), ("rstd", FP32, NEW), ("rstd", FP32, SAME),
               ("x.float()", FP32 * h, SAME), ("x * rstd", FP32 * h, NEW)]
        return [SavedTensor(f"norm{i} {name}", size, FP32, repeat=rep)
                for i in (1, 2) for name, size, rep in one] + outputs
    # native layer norm saves input, mean and rstd; CUDA's fused RMSNorm (aten _fused_rms_norm)
    # input and rstd; statistics are fp32 on CUDA (16-bit on the CPU for LayerNorm)
    stat = FP32 if (platform == "cuda" or model.norm == "rmsnorm") else elem
    stats = ("mean", "rstd") if model.norm == "layernorm" else ("rstd",)
    saves = []
    for i in (1, 2):
        # with a parallel residual both norms read the same x: the second save is the same tensor
        repeat = SAME if (i == 2 and model.parallel_residual) else NEW
        saves.append(SavedTensor(f"norm{i} input", elem * h, elem, repeat=repeat))
        saves += [SavedTensor(f"norm{i} {name}", stat, stat) for name in stats]
    return saves + outputs


# RoPE implementations whose partial rotation (rotary_fraction < 1) leaves q contiguous in (b, heads, s, d)
# layout (runtime/kernels.py apply_rope's torch.cat on the transposed views), so that SDPA writes its output
# in that layout too and the o-projection's input is a re-layout copy. The compiled RoPE rotates the fused
# projection and returns transposed views of (b, s, heads, d) tensors (kernels.torch_qkv_rope), so the
# output's re-layout is a view (S35: Pythia runs on a 1x H200 held 2 bytes x hidden per token and block less
# than priced; bench/runtime/saved_bytes_gpu.py measured both kernels). Liger's rotates a (b, s, heads, d)
# copy in place and is priced like the compiled one; it was not measured with partial RoPE.
ROPE_CAT_LAYOUT = ("torch", ROPE_COMPILED_ON_VIEWS)


def _attention_saves(model: ModelSpec, seq_len: int, attention: Attention, elem: int,
                     tp, rope_kernel: str = "torch") -> list[SavedTensor]:
    """q, k, v, output (or the softmax matrix for math) and the o-projection's input, one TP rank;
    `rope_kernel` the RoPE implementation that runs (ROPE_CAT_LAYOUT)."""
    q, heads = model.q_dim, model.num_heads / tp   # q and the attention output: num_heads x head_dim wide
    partial_rope = (model.position_embedding == "rope" and model.rotary_fraction < 1.0
                    and rope_kernel in ROPE_CAT_LAYOUT)
    if attention == "math":
        # _scaled_dot_product_attention_math keeps q, k, v (repeated to all heads) and the softmax
        # output (saved by softmax and, as a view, by the matmul with v), upcast to fp32 from 16-bit
        # inputs on every device: the upcast is skipped only when
        # torch.backends.cuda.allow_fp16_bf16_reduction_math_sdp(True) was called (the flag is off
        # by default: torch/include/ATen/Context.h allow_fp16_bf16_reduction_mathSDP = false; the
        # math kernel, aten/src/ATen/native/transformers/attention.cpp, is shared by CPU and CUDA).
        # tests/cost/test_activations.py shows the flag, not the device, decides. Its output is
        # re-laid out by a copy, which the o-projection saves.
        return ([SavedTensor(f"{name} fp32", FP32 * q / tp, FP32) for name in "qkv"]
                + [SavedTensor("softmax", FP32 * heads * seq_len, FP32),
                   SavedTensor("softmax view", FP32 * heads * seq_len, FP32, repeat=VIEW),
                   SavedTensor("o input", elem * q / tp, elem)])
    kv = model.kv_dim if attention == "flash_attn" else q   # SDPA path repeats k/v (GQA)
    # flash kernels write their output in (b, s, heads, d) layout when q is a transposed view, so
    # the o-projection's input is a view of the same storage; with eager partial RoPE q comes out of
    # torch.cat contiguous and the re-layout copies (runtime/kernels.py apply_rope; ROPE_CAT_LAYOUT)
    return [SavedTensor("q", elem * q / tp, elem), SavedTensor("k", elem * kv / tp, elem),
            SavedTensor("v", elem * kv / tp, elem), SavedTensor("log-sum-exp", FP32 * heads, FP32),
            SavedTensor("attention output", elem * q / tp, elem),
            SavedTensor("o input", elem * q / tp, elem, repeat=NEW if partial_rope else VIEW)]


def _rope_saves(model: ModelSpec, seq_len: int, elem: int) -> list[SavedTensor]:
    """RoPE's cos and sin tables (seq x rot_dim): eager apply_rope's muls save them for q and
    again for k (runtime/kernels.py apply_rope), the same two tensors (rope_cos_sin caches them)."""
    if model.position_embedding != "rope":
        return []
    rot = 2 * int(model.head_dim * model.rotary_fraction // 2)
    table = elem * seq_len * rot
    return [SavedTensor(f"{name} for {x}", 0, elem, fixed=table, repeat=NEW if x == "q" else SAME)
            for x in ("q", "k") for name in ("cos", "sin")]


def _qk_norm_saves(model: ModelSpec, elem: int, platform: Platform, tp) -> list[SavedTensor]:
    """What Qwen3's per-head q and k RMSNorms save (qk_norm; runtime/kernels.py torch_qk_norm, F.rms_norm
    on the (b, s, heads, head_dim) views of the fused q|k|v output; their weights: shapes.saved_weight_numels).
    On the CPU the composite RMSNorm saves fp32 copies as the block norms' do (_norm_saves), the views
    not at all. CUDA's fused RMSNorm (aten _fused_rms_norm) saves its input, the view, and an fp32 rstd per
    head: the q and k views keep the whole fused buffer alive, v's part too, though v is copied out of it
    (runtime/blocks.py _own_storage, RoPE having made q and k new tensors; the compiled RoPE's clone) or
    repeated for SDPA. The compiled RoPE ('compile': kernels.torch_qkv_rope, the norms inside the compiled
    function) saves the same: AOTAutograd's partition keeps the q and k views, the weights and the fp32 rstd
    (Inductor on the CPU: tests/cost/test_saved_calls.py; on a GPU: tests/runtime/test_gpu_block.py)."""
    if not model.qk_norm:
        return []
    q, kv = model.q_dim / tp, model.kv_dim / tp
    rows = {"q": (q, model.num_heads / tp), "k": (kv, model.num_kv_heads / tp)}
    if platform == "cpu":
        one = lambda w, n: [("x.float()", FP32 * w, NEW), ("rstd", FP32 * n, NEW),  # noqa: E731
                            ("rstd", FP32 * n, SAME), ("x.float()", FP32 * w, SAME), ("x * rstd", FP32 * w, NEW)]
        return [SavedTensor(f"{x}_norm {name}", size, FP32, repeat=rep)
                for x, (w, n) in rows.items() for name, size, rep in one(w, n)]
    return [SavedTensor("q_norm input", elem * q, elem), SavedTensor("q_norm rstd", FP32 * rows["q"][1], FP32),
            SavedTensor("k_norm input", elem * kv, elem, kept_per_token=elem * kv),
            SavedTensor("k_norm rstd", FP32 * rows["k"][1], FP32)]


def _mlp_saves(model: ModelSpec, elem: int, activation_kernel: str, tp) -> list[SavedTensor]:
    """GELU saves its input and the down projection its output (2 f-wide); eager SwiGLU saves gate
    and up (silu's and the mul's views of the fused gate|up output), silu(gate) and the product
    (4 f-wide); a fused SwiGLU kernel (runtime/kernels.py 'liger': LigerFusedGateUpSiLUMulFunction
    saves only gate|up, or 'compile') recomputes silu(gate) in backward: gate|up and the product,
    3 f-wide (tests/runtime/test_gpu_block.py checks the bytes of both on a GPU)."""
    f = elem * model.ffn_hidden_size / tp
    if model.activation != "swiglu":
        return [SavedTensor("up output", f, elem), SavedTensor("gelu output", f, elem)]
    if activation_kernel == "torch":
        return [SavedTensor(name, f, elem) for name in ("gate", "up", "silu(gate)", "product")]
    return [SavedTensor("gate|up", 2 * f, elem), SavedTensor("product", f, elem)]


def block_saves(model: ModelSpec, seq_len: int, attention: Attention = "sdpa", elem: int = 2,
                platform: Platform = "cuda", activation_kernel: str = "torch",
                tp=TP_SYM, rope_kernel: str = "torch") -> list[SavedTensor]:
    """Every tensor one block's forward saves for backward, one entry per save call, on one TP
    rank (Megatron TP without sequence parallelism), parameters excluded (shapes.saved_weight_numels
    lists those). Checked call by call against saved_tensors_hooks on the runtime's block in
    tests/cost/test_saved_calls.py (eager kernels, CPU) and byte for byte on a GPU per kernel set in
    tests/runtime/test_gpu_block.py. Scalars of a few bytes some CUDA kernels also save (flash
    attention's RNG seed and offset) are left out."""
    return (_norm_saves(model, elem, platform) + _qk_norm_saves(model, elem, platform, tp)
            + _attention_saves(model, seq_len, attention, elem, tp, rope_kernel)
            + _rope_saves(model, seq_len, elem) + _mlp_saves(model, elem, activation_kernel, tp))


def layer_saved_bytes(model: ModelSpec, seq_len: int, attention: Attention = "sdpa",
                      elem: int = 2, platform: Platform = "cuda", activation_kernel: str = "torch",
                      rope_kernel: str = "torch"):
    """Bytes one block saves for backward per micro-batch on one TP rank (sympy, in b and tp): the
    NEW saves of block_saves (GPU memory holds each storage once, however many ops save it).
    `activation_kernel` / `rope_kernel` are the runtime's Kernels.activation / .rope (runtime/kernels.py)."""
    return stored_bytes(block_saves(model, seq_len, attention, elem, platform, activation_kernel,
                                    rope_kernel=rope_kernel), b * seq_len)


def stored_bytes(saves: list[SavedTensor], tokens):
    """Bytes the saves hold in device memory for `tokens` tokens: each storage once (the NEW ones), with
    the bytes of a wider storage a saved view keeps (SavedTensor.kept_per_token)."""
    return sum(s.device_bytes(tokens) for s in saves if s.repeat == NEW)


def pinned_call_bytes(saves: list[SavedTensor], tokens: int, dedupe: bool = False,
                      min_numel: int = 0, rounded: bool = True) -> float:
    """Pinned host bytes of one block's saves copied out one tensor per save call, each rounded up
    to a power of two by torch's CachingHostAllocator (shapes.pow2_bytes), or not (`rounded` False:
    mistpipe's exact-size registered buffers, runtime/mistpipe/hostmem.py).

    dedupe=False: torch.autograd.graph.save_on_cpu(pin_memory=True) (torch/autograd/graph.py
    pack_to_cpu) allocates torch.empty(tensor.size(), pin_memory=True) for every call, sized as the
    saved tensor or view, even for a tensor it has packed before. dedupe=True: mistpipe's
    ActivationOffloader (runtime/mistpipe/actoffload.py pack) copies a tensor saved again (same
    storage, offset, geometry, version: SAME) once, a new view (VIEW) again, and leaves tensors of
    fewer than min_numel elements on the device; its PinnedPool allocated with
    torch.empty(pin_memory=True) too before session 13 (runtime/mistpipe/streams.py host_buffer)."""
    total = 0.0
    for s in saves:
        nbytes = float(s.nbytes(tokens))
        if (dedupe and s.repeat == SAME) or nbytes / s.itemsize < min_numel:
            continue
        if dedupe:  # mistpipe copies a strided view's whole storage (actoffload.py copy_span), once
            nbytes += float(s.kept_per_token * tokens)
        total += float(pow2_bytes(nbytes)) if rounded else nbytes
    return total


def pinned_activation_rounding(model: ModelSpec, seq_len: int, attention: Attention, micro_batch, tp,
                               activation_kernel=None, dedupe: bool = False,
                               min_numel: int = 0, elem: int = 2, rounded: bool = True, rope_kernel=None):
    """Pinned bytes of one offloaded block's saved activations (pinned_call_bytes) over its
    layer_saved_bytes, on CUDA; vectorised over arrays of micro-batch size and tp. `activation_kernel`
    / `rope_kernel`: the SwiGLU / RoPE implementation, a name or a function of tp (None: 'torch')."""
    kernel_of, rope_of = per_tp(activation_kernel), per_tp(rope_kernel)
    mb, tp = np.broadcast_arrays(np.asarray(micro_batch, np.int64), np.asarray(tp, np.int64))
    width = int(tp.max(initial=0)) + 1  # a (micro-batch, tp) pair as one integer: a 1-D unique is cheap
    keys, inverse = np.unique(mb.ravel() * width + tp.ravel(), return_inverse=True)
    ratio = np.ones(len(keys))
    for i, (batch, t) in enumerate(zip((keys // width).tolist(), (keys % width).tolist())):
        saves = block_saves(model, seq_len, attention, elem, "cuda", kernel_of(t), tp=t, rope_kernel=rope_of(t))
        saved = float(stored_bytes(saves, batch * seq_len))
        if saved > 0:
            ratio[i] = pinned_call_bytes(saves, batch * seq_len, dedupe, min_numel, rounded) / saved
    return ratio[inverse.ravel()].reshape(mb.shape)


def per_tp(kernel) -> Callable[[int], str]:
    """A kernel given as a name or a function of tp, as a function of tp (None: 'torch')."""
    return kernel if callable(kernel) else (lambda t: kernel or "torch")


def checkpoint_saved_bytes(model: ModelSpec, seq_len: int, elem: int = 2):
    """A recomputed block saves only its input (torch.utils.checkpoint, non-reentrant)."""
    return elem * b * seq_len * model.hidden_size


def layer_transient_bytes(model: ModelSpec, seq_len: int, elem: int = 2):
    """Largest short-lived working set inside one block's backward (not saved between layers).

    Estimate, to be calibrated on GPU: in the MLP backward the gradient of the f-wide output of
    the activation and of its input are live together with the h-wide input gradient.
    """
    f, h = model.ffn_hidden_size, model.hidden_size
    return elem * b * seq_len * (2 * f / TP_SYM + 2 * h)


def embedding_saved_bytes(seq_len: int):
    """The embedding lookup saves its int64 token ids (F.embedding backward)."""
    return INT64 * b * seq_len


def head_saved_bytes(model: ModelSpec, seq_len: int, elem: int = 2):
    """Final norm (input + stats) and the LM-head input, saved until the loss backward."""
    stats = FP32 * (2 if model.norm == "layernorm" else 1)
    return (2 * elem * model.hidden_size + stats) * b * seq_len


# Sets of earlier micro-batches' 16-bit logits DeepSpeed's PipelineEngine holds on the last stage at the
# end of a forward (its two output buffers: logits_bytes).
HELD_PIPE_LOGITS = 2


def logits_bytes(seq_len: int, elem: int = 2, loss: str = "chunked"):
    """Peak of the loss on the last stage, per TP rank, for the loss implementation that runs
    (config/kernel_picks.py LOSS_IMPLS). 'chunked' and 'chunked_compile' (mist_ds/runtime/loss.py
    ChunkedCrossEntropy): the 16-bit logits, which the loss keeps for backward and overwrites in
    place with their gradient (elem bytes per logit, never an fp32 copy), the working buffer of the
    chunk of CHUNK_LOGITS logits being worked on (loss_chunk_bytes), and per token the fp32
    log-sum-exp and target logit, the int64 target index and two bool masks (18 bytes). 'liger'
    (runtime/liger_loss.py, Liger's kernels; bench/runtime/README.md): the logits too, holding the
    gradient written in forward, no fp32 chunk, and per token one fp32 loss, the int64 target and
    the bool mask of counted tokens (13 bytes). 'fp32' (runtime/tp.py vocab_parallel_cross_entropy,
    kept as the reference): 12 bytes per logit beside the 16-bit logits (fp32 copies of the logits
    and their gradient; measured, gpu_bench_h200_2026-11-30.json
    loss.*.methods.fp32.loss.extra_bytes_per_logit), per token as 'chunked'.
    With more than one stage DeepSpeed's PipelineEngine keeps each micro-batch's logits in
    pipe_buffers['outputs'][buffer] until a later forward overwrites that buffer
    (deepspeed/runtime/pipe/engine.py _exec_forward_pass stores them; _exec_backward_pass returns
    early on the last stage before clearing them), and the last stage has two buffers
    (pipe/schedule.py TrainSchedule.num_pipe_buffers: max(2, stages - stage_id)), used in turn: at
    the end of a forward the logits of the two micro-batches before it are live beside its own
    (HELD_PIPE_LOGITS sets, PP; the buffers keep the previous step's sets, so two micro-batches fill both;
    one set too many with a single micro-batch, which uses one buffer). S27: the 3B and 1B
    Llama 3.2 mistpipe plans (b19, b20) allocated 0.8 GiB, near one set, more than two sets priced."""
    held = HELD_PIPE_LOGITS * PP
    if loss == "liger":
        return (elem * (1 + held) * VS + FP32 + INT64 + 1) * b * seq_len
    per_token = 2 * FP32 + INT64 + 2
    if loss == "fp32":
        return ((elem * (1 + held) + 3 * FP32) * VS + per_token) * b * seq_len
    return (elem * (1 + held) * VS + per_token) * b * seq_len + loss_chunk_bytes(loss, elem)
