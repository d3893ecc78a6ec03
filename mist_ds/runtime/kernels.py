"""Selectable kernels of the block's element-wise work and attention, each with a CPU fallback.

`Kernels` names one implementation per op: norm (RMSNorm / LayerNorm), activation (SwiGLU; GELU
has no Liger kernel and always runs torch's single fused kernel), rope, and the attention kernel.
Qwen3's per-head q/k RMSNorms (torch_qk_norm) run with RoPE: eager F.rms_norm on the 'torch' and
'liger' paths, inside the compiled function on the 'compile' one, whatever `norm` says.
Element-wise choices (ELEMENTWISE_IMPLS):
  'auto'    - the default: the implementation mist_ds/config/kernel_picks.py measured fastest on
              CUDA (norms 'torch', SwiGLU and RoPE 'compile'), 'torch' on CPU tensors;
  'torch'   - the eager torch ops;
  'liger'   - Liger-Kernel's Triton kernels (liger_kernel.ops: LigerRMSNormFunction,
              LigerLayerNormFunction, LigerFusedGateUpSiLUMulFunction, LigerRopeFunction);
  'compile' - torch.compile of the same eager function (Inductor fuses it into Triton kernels).
'liger' and 'compile' apply to CUDA tensors only; CPU tensors always take the 'torch' path, so
CPU tests exercise the same module code. 'liger' on a CUDA tensor without liger_kernel installed
is an error, not a silent fallback. `resolved(kernels, on_cuda)` says what really runs.

Attention (mist_ds.cost.activations ATTENTION_KERNELS): 'auto' (flash-attn when importable for a
CUDA 16-bit tensor, else SDPA's own dispatch: the behaviour before this switch existed), 'sdpa'
(SDPA's dispatch), 'sdpa_flash' / 'sdpa_cudnn' / 'sdpa_efficient' / 'math' (one SDPA backend forced
with torch.nn.attention.sdpa_kernel), 'flash_attn' (flash_attn_func). SDPA paths get k/v repeated
to all heads for grouped-query attention (what the cost model's 'sdpa' figure counts); flash-attn
takes them at kv width. The CUDA-only kernels ('sdpa_cudnn', 'sdpa_efficient', 'flash_attn') run
SDPA's dispatch on CPU tensors. `runtime_kernels(attention)` is the Kernels the runtime runs a
plan with and the profiler measures (mist_ds/profile/layers.py); the runtime resolves it once for
its device and dtype (runtime/build.py resolve_kernels: `resolved`, `attention_for`), builds the
modules with the resolved names and records them in RunReport.kernels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mist_ds.config import kernel_picks
from mist_ds.config.model_spec import RopeScaling
from mist_ds.config.kernel_picks import elementwise_impl
from mist_ds.cost.activations import ATTENTION_KERNELS

ELEMENTWISE_IMPLS = ("auto", *kernel_picks.ELEMENTWISE_IMPLS)
# torch.compile'd functions are specialised per input shape (dynamic=False); the profiler measures
# a dozen block shapes in one process, more than dynamo's default recompile limit (8) per function,
# past which it would silently run the eager function
RECOMPILE_LIMIT = 64
_CUDA_ONLY_ATTENTION = ("sdpa_cudnn", "sdpa_efficient", "flash_attn")

try:  # optional: flash-attn ships no wheels (DESIGN.md); SDPA is the default path
    from flash_attn import flash_attn_func
except ImportError:  # pragma: no cover - depends on the machine
    flash_attn_func = None


@dataclass(frozen=True)
class Kernels:
    """Which implementation each op of the block uses (module docstring)."""

    norm: str = "auto"
    activation: str = "auto"
    rope: str = "auto"
    attention: str = "auto"

    def __post_init__(self) -> None:
        kernel_picks.check_elementwise(self, ELEMENTWISE_IMPLS)
        if self.attention not in ATTENTION_KERNELS:
            raise ValueError(f"attention kernel must be one of {ATTENTION_KERNELS}, "
                             f"not {self.attention!r}")


DEFAULT_KERNELS = Kernels()
EAGER_KERNELS = Kernels(norm="torch", activation="torch", rope="torch")


def runtime_kernels(attention: str) -> Kernels:
    """The Kernels the runtime runs a plan with (plan.attention, element-wise ops 'auto')."""
    return Kernels(attention=attention)


def resolved(kernels: Kernels, on_cuda: bool) -> dict[str, str]:
    """What each element-wise op really runs for CUDA (on_cuda) or CPU tensors."""
    return {op: _resolve(op, getattr(kernels, op), on_cuda) for op in ("norm", "activation", "rope")}


def _liger_ops():
    try:
        from liger_kernel import ops
    except ImportError as err:
        raise ImportError("kernel 'liger' needs the liger-kernel package (and Triton)") from err
    return ops


@functools.cache
def compiled(fn):
    """torch.compile(fn) for fixed shapes, once per function (shared by kernels.py and loss.py)."""
    import torch._dynamo

    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"  # torch < 2.6
    if getattr(config, name) < RECOMPILE_LIMIT:
        setattr(config, name, RECOMPILE_LIMIT)
    return torch.compile(fn, dynamic=False)


def _resolve(op: str, impl: str, on_cuda: bool) -> str:
    if not on_cuda:
        return "torch"
    return elementwise_impl(op, True, liger_installed=liger_installed()) if impl == "auto" else impl


@functools.cache
def liger_installed() -> bool:
    """Liger-Kernel's ops importable (they need Triton: CUDA machines only)."""
    try:
        from liger_kernel import ops  # noqa: F401
    except ImportError:
        return False
    return True


def _pick(op: str, impl: str, x: torch.Tensor) -> str:
    """The implementation that really runs: the measured pick for 'auto', 'torch' for CPU tensors."""
    return _resolve(op, impl, x.is_cuda)


def torch_norm(x, weight, bias, eps: float):
    """LayerNorm when a bias is given, else RMSNorm (eager torch)."""
    shape = (x.shape[-1],)
    if bias is not None:
        return F.layer_norm(x, shape, weight, bias, eps)
    return F.rms_norm(x, shape, weight, eps)


def norm(x, weight, bias, eps: float, impl: str = "auto"):
    """LayerNorm (bias given) or RMSNorm of the last dimension."""
    impl = _pick("norm", impl, x)
    if impl == "liger":
        ops = _liger_ops()
        if bias is not None:
            return ops.LigerLayerNormFunction.apply(x, weight, bias, eps)
        return ops.LigerRMSNormFunction.apply(x, weight, eps, 0.0, "llama", False, None)
    return (compiled(torch_norm) if impl == "compile" else torch_norm)(x, weight, bias, eps)


def torch_swiglu(gate_up: torch.Tensor) -> torch.Tensor:
    """silu(gate) * up of a fused [gate | up] tensor (eager torch)."""
    gate, up = gate_up.chunk(2, dim=-1)
    return F.silu(gate) * up


def swiglu(gate_up: torch.Tensor, impl: str = "auto") -> torch.Tensor:
    """SwiGLU of the fused gate/up linear's output [..., 2f] -> [..., f]."""
    impl = _pick("activation", impl, gate_up)
    if impl == "liger":  # Liger's kernel takes rows (BT, 2f) and returns its gradient as rows
        rows = gate_up.reshape(-1, gate_up.shape[-1])
        out = _liger_ops().LigerFusedGateUpSiLUMulFunction.apply(rows, False)
        return out.view(*gate_up.shape[:-1], out.shape[-1])
    return (compiled(torch_swiglu) if impl == "compile" else torch_swiglu)(gate_up)


def rope_cos_sin(seq_len: int, rot_dim: int, theta: float, device, dtype, scaling: RopeScaling | None = None):
    """cos/sin tables (seq, rot_dim) of rotary embeddings (Su et al. 2021, RoFormer, eq. 34), their
    inverse frequencies scaled as `scaling` says (rope_inv_freq) for a sequence of seq_len tokens, positions
    0 .. seq_len - 1, and both tables multiplied by its attention factor (rope_attention_factor), as
    transformers' rotary embeddings multiply theirs (`emb.cos() * self.attention_scaling`, in fp32, then cast).

    Every RoPE path reads these tables: the eager and Liger rotations (rope) and the compiled one
    (torch_qkv_rope) multiply q and k by them as they are, so each path inherits the scaling.

    Computed once per (seq_len, rot_dim, theta, scaling, device, dtype) and shared by every layer and pass
    (read-only constants, no gradient): building them per layer cost ~8 small kernel launches per
    layer forward, recompute included (HF computes them once per model forward)."""
    device = torch.get_default_device() if device is None else torch.device(device)
    return _rope_tables(seq_len, rot_dim, float(theta), scaling, device, dtype)


def rope_inv_freq(rot_dim: int, theta: float, scaling: RopeScaling | None, device=None,
                  seq_len: int | None = None) -> torch.Tensor:
    """The rot_dim / 2 inverse frequencies theta^(-2i / rot_dim), scaled as transformers' modeling_rope_utils
    does: 'linear' divides each by factor; 'llama3' (_compute_llama3_parameters) divides those whose
    wavelength 2 pi / f exceeds original_max_position_embeddings / low_freq_factor by factor, keeps those below
    original_max_position_embeddings / high_freq_factor, and between the two blends f / factor and f linearly
    in original_max_position_embeddings / wavelength; 'yarn' (_yarn_inv_freq) and 'longrope' (_longrope_inv_freq)
    as their functions say. Only longrope depends on `seq_len`, the tokens of the sequence rotated."""
    if scaling is not None and scaling.kind == "yarn":
        return _yarn_inv_freq(rot_dim, theta, scaling, device)
    if scaling is not None and scaling.kind == "longrope":
        return _longrope_inv_freq(rot_dim, theta, scaling, device, seq_len)
    inv = 1.0 / (theta ** (torch.arange(0, rot_dim, 2, device=device, dtype=torch.float32) / rot_dim))
    if scaling is None:
        return inv
    if scaling.kind == "linear":
        return inv / scaling.factor
    context = scaling.original_max_position_embeddings
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > context / scaling.low_freq_factor, inv / scaling.factor, inv)
    smooth = (context / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor)
    blended = (1 - smooth) * scaled / scaling.factor + smooth * scaled
    medium = (wavelen >= context / scaling.high_freq_factor) & (wavelen <= context / scaling.low_freq_factor)
    return torch.where(medium, blended, scaled)


def _yarn_inv_freq(dim: int, base: float, scaling: RopeScaling, device) -> torch.Tensor:
    """YaRN's inverse frequencies, transformers' _compute_yarn_parameters op for op (so fp32 gives its bits):
    dimension pair i is interpolated (f / factor) below the correction range, extrapolated (f kept) above it,
    and blended by a linear ramp inside it; the range is where a dimension turns beta_fast .. beta_slow times over
    original_max_position_embeddings (find_correction_dim), floored / ceiled when truncate, clipped to
    [0, dim - 1]."""
    def correction_dim(rotations: float) -> float:
        return (dim * math.log(scaling.original_max_position_embeddings / (rotations * 2 * math.pi))) / (
            2 * math.log(base))

    low, high = correction_dim(scaling.beta_fast), correction_dim(scaling.beta_slow)
    if scaling.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # transformers' guard against a zero-width ramp
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    extrapolation_factor = 1 - ramp.to(device=device, dtype=torch.float)
    pos_freqs = base ** (torch.arange(0, dim, 2).to(device=device, dtype=torch.float) / dim)
    extrapolation = 1.0 / pos_freqs
    interpolation = 1.0 / (scaling.factor * pos_freqs)
    return interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor


def _longrope_inv_freq(dim: int, base: float, scaling: RopeScaling, device, seq_len: int | None) -> torch.Tensor:
    """LongRoPE's inverse frequencies, transformers' _compute_longrope_parameters op for op: theta^(-2i / dim)
    divided by long_factor[i] for a sequence longer than original_max_position_embeddings, else by short_factor[i].

    The choice is transformers' dynamic_rope_update (longrope_frequency_update): `seq_len > original_max_position_
    embeddings`, its seq_len being max(position_ids) + 1. A training step's positions are 0 .. s - 1 for its
    sequences of s tokens (the run's seq_len, every step), so seq_len is s: a run at a seq_len of at most
    original_max_position_embeddings trains with the short factors, a longer one with the long factors, in every
    step, as transformers would compute that batch. None (no sequence given) is transformers' init: short."""
    long = seq_len is not None and seq_len > scaling.original_max_position_embeddings
    ext_factors = torch.tensor(scaling.long_factor if long else scaling.short_factor, dtype=torch.float32,
                               device=device)
    inv_freq_shape = torch.arange(0, dim, 2, dtype=torch.int64, device=device).float() / dim
    return 1.0 / (ext_factors * base ** inv_freq_shape)


def rope_attention_factor(scaling: RopeScaling | None) -> float:
    """The factor transformers multiplies cos and sin by (RotaryEmbedding.attention_scaling), 1 but for yarn and
    longrope: their attention_factor where config.json gives one, else yarn's yarn_get_mscale(factor)
    (0.1 ln(factor) + 1; 1 for factor <= 1), or the ratio get_mscale(factor, mscale) /
    get_mscale(factor, mscale_all_dim) where both are non-zero (_compute_yarn_parameters); longrope's
    sqrt(1 + ln(factor) / ln(original_max_position_embeddings)), 1 for factor <= 1 (_compute_longrope_parameters)."""
    if scaling is None or scaling.kind not in ("yarn", "longrope"):
        return 1.0
    if scaling.attention_factor is not None:
        return scaling.attention_factor
    factor = scaling.factor
    if scaling.kind == "longrope":
        if factor <= 1.0:
            return 1.0
        return math.sqrt(1 + math.log(factor) / math.log(scaling.original_max_position_embeddings))

    def get_mscale(scale: float, mscale: float = 1) -> float:
        return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0

    if scaling.mscale and scaling.mscale_all_dim:
        return float(get_mscale(factor, scaling.mscale) / get_mscale(factor, scaling.mscale_all_dim))
    return get_mscale(factor)


@functools.lru_cache(maxsize=32)
def _rope_tables(seq_len: int, rot_dim: int, theta: float, scaling: RopeScaling | None, device: torch.device, dtype):
    """cos and sin (seq_len, rot_dim) of positions 0 .. seq_len - 1: the inverse frequencies of a sequence of
    seq_len tokens (longrope's short or long factors by it: _longrope_inv_freq), times the attention factor
    in fp32 before the cast, as transformers computes them."""
    inv = rope_inv_freq(rot_dim, theta, scaling, device, seq_len)
    angles = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), inv)
    angles = torch.cat((angles, angles), dim=-1)
    cos, sin = angles.cos(), angles.sin()
    attention = rope_attention_factor(scaling)
    if attention != 1.0:
        cos, sin = cos * attention, sin * attention
    return cos.to(dtype), sin.to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first cos.shape[-1] dims of each head of x (b, heads, s, d); GPT-NeoX half layout."""
    rot = cos.shape[-1]
    x_rot, x_pass = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = torch.cat((-x_rot[..., half:], x_rot[..., :half]), dim=-1)
    x_rot = x_rot * cos + rotated * sin
    return torch.cat((x_rot, x_pass), dim=-1) if x_pass.shape[-1] else x_rot


def torch_rope_qk(q, k, cos, sin):
    """RoPE of q and k (eager torch)."""
    return apply_rope(q, cos, sin), apply_rope(k, cos, sin)


def torch_qk_norm(q: torch.Tensor, k: torch.Tensor, weight: torch.Tensor, eps: float):
    """Per-head RMSNorm of q (..., heads, d) and k (..., kv_heads, d) over d (Qwen3's q_norm / k_norm):
    `weight` (2, d) holds q's weights in row 0 and k's in row 1 (eager torch)."""
    q_weight, k_weight = weight.unbind(0)
    return torch_norm(q, q_weight, None, eps), torch_norm(k, k_weight, None, eps)


def _heads(fused: torch.Tensor, sizes: tuple[int, int, int], head_dim: int):
    """q, k, v views (b, s, heads, d) of the fused q|k|v projection (b, s, sum(sizes) * head_dim)."""
    b, s, _ = fused.shape
    return tuple(part.view(b, s, n, head_dim)
                 for part, n in zip(fused.split([n * head_dim for n in sizes], dim=-1), sizes))


def torch_qkv_rope(fused: torch.Tensor, sizes: tuple[int, int, int], head_dim: int, cos, sin,
                   qk_weight=None, eps: float = 0.0):
    """q, k, v of the fused q|k|v projection (b, s, sum(sizes) * head_dim) as (b, s, heads, d)
    tensors of their own, q and k rotated (and first RMS-normalised per head where `qk_weight`, the
    (2, d) q/k norm weights, is given): what the 'compile' RoPE compiles (split_qkv).

    Laid out (b, s, heads, d) contiguous, each is the layout SDPA reads through a transpose: cuDNN
    SDPA allocates dq, dk, dv like q, k, v (empty_like), so the gradients come back contiguous in
    exactly the outputs' layout, the compiled backward takes them without AOTAutograd's tangent
    copies, and it writes the fused input's gradient itself (split's backward, the cat, in the same
    kernel). v is copied out here too (blocks.py _own_storage would copy it eagerly otherwise).
    Compiling the rotation of the transposed (b, heads, s, d) views instead cost five strided copies
    per block backward besides the cat, and the v copy forward (bench/results/runtime/fastest_1g/
    README.md, the profiled step of session 7's second call)."""
    q, k, v = _heads(fused, sizes, head_dim)
    if qk_weight is not None:
        q, k = torch_qk_norm(q, k, qk_weight, eps)
    cos, sin = cos[:, None, :], sin[:, None, :]      # (s, 1, rot): broadcast over the heads
    return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v.clone(memory_format=torch.contiguous_format)


def split_qkv(fused: torch.Tensor, sizes: tuple[int, int, int], head_dim: int, cos=None, sin=None,
              impl: str = "auto", qk_norm=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q, k, v (b, heads, s, d) for attention from the fused q|k|v projection (b, s, sum(sizes) * d),
    q and k rotated when cos / sin (seq, rot_dim) are given, and before that RMS-normalised per head
    when `qk_norm` = ((2, d) weight, eps) is (torch_qk_norm: eager F.rms_norm whatever Kernels.norm
    says, or inside the compiled function). 'compile' RoPE runs torch_qkv_rope on the fused output
    itself (compiled; transposed views of its outputs come back); 'torch' and 'liger' rotate
    transposed views of the split (v stays a view: blocks.py _own_storage)."""
    weight, eps = qk_norm if qk_norm is not None else (None, 0.0)
    if cos is not None and _pick("rope", impl, fused) == "compile":
        outputs = compiled(torch_qkv_rope)(fused, tuple(sizes), head_dim, cos, sin, weight, eps)
        return tuple(t.transpose(1, 2) for t in outputs)
    q, k, v = _heads(fused, sizes, head_dim)
    if weight is not None:
        q, k = torch_qk_norm(q, k, weight, eps)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    if cos is not None:
        q, k = rope(q, k, cos, sin, impl)
    return q, k, v


def rope(q: torch.Tensor, k: torch.Tensor, cos, sin, impl: str = "auto"):
    """RoPE of q (b, heads, s, d) and k (b, kv_heads, s, d) with (s, rot_dim) tables, 'torch' or
    'liger' ('compile' rotates the fused projection: split_qkv). Each rotates the first rot_dim dims of a
    head and passes the rest (partial RoPE: GPT-NeoX, Phi-3's partial_rotary_factor): apply_rope slices them,
    and Liger's kernel (0.8.5: rotary_dim, the 7th argument, None for cos's width) rotates that many."""
    impl = _pick("rope", impl, q)
    if impl == "compile":
        raise ValueError("the compiled RoPE runs on the fused q|k|v projection: use split_qkv")
    if impl == "liger":
        # Liger rotates a contiguous (b, s, heads, d) copy in place; where the transposed input is
        # already contiguous that "copy" would be the caller's tensor, so give it its own
        q, k = (t.clone() if t.transpose(1, 2).is_contiguous() else t for t in (q, k))
        return _liger_ops().LigerRopeFunction.apply(q, k, cos, sin, None, 1, None)
    return torch_rope_qk(q, k, cos, sin)


def _sdpa_backend(kernel: str):
    from torch.nn.attention import SDPBackend

    return {"sdpa_flash": SDPBackend.FLASH_ATTENTION, "sdpa_cudnn": SDPBackend.CUDNN_ATTENTION,
            "sdpa_efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}.get(kernel)


def resolve_attention(kernel: str, q: torch.Tensor) -> str:
    """The kernel that really runs for this input ('auto' and CPU fallbacks resolved)."""
    return attention_for(kernel, q.is_cuda, q.dtype in (torch.bfloat16, torch.float16))


def attention_for(kernel: str, on_cuda: bool, half: bool) -> str:
    """resolve_attention for CUDA (on_cuda) or CPU inputs, 16-bit (half) or not."""
    if kernel == "auto":
        return "flash_attn" if flash_attn_func is not None and on_cuda and half else "sdpa"
    if kernel in _CUDA_ONLY_ATTENTION and not on_cuda:
        return "sdpa"
    if kernel == "flash_attn" and flash_attn_func is None:
        raise ImportError("attention kernel 'flash_attn' needs the flash-attn package")
    return kernel


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     kernel: str = "auto") -> torch.Tensor:
    """Causal attention of (b, heads, s, d) tensors; k/v may have fewer (grouped) heads."""
    kernel = resolve_attention(kernel, q)
    if kernel == "flash_attn" and q.is_cuda:
        out = flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal=True)
        return out.transpose(1, 2)
    if k.shape[1] != q.shape[1]:
        repeat = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
    backend = _sdpa_backend(kernel)
    if backend is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    from torch.nn.attention import sdpa_kernel

    with sdpa_kernel(backend):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
