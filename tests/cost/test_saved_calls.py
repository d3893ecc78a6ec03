"""Per-save-call lists of the cost model (cost/activations.py block_saves, cost/shapes.py
saved_weight_numels) == the tensors autograd hands to the saved-tensor pack hook of the runtime's
block, call by call; and the pinned host bytes that torch's save_on_cpu (one power-of-two pinned
tensor per call) and mistpipe's offloader (one per distinct tensor) allocate from them.

Oracle: torch.autograd.graph.saved_tensors_hooks on mist_ds.runtime.blocks.TransformerBlock (CPU,
bf16; TP > 1 through test_activations' fake group), classifying each call as NEW (storage and
offset not seen before in the block), VIEW (an earlier storage and offset, another geometry) or
SAME (an earlier tensor: storage, offset, shape and stride). Host-side oracle: the committed GPU
run l7-2g-c78-z3-mb1-rc16-act16 (host_pinned_peak_bytes).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from mist_ds.calibration import load_pairs
from mist_ds.config import ClusterSpec, get_preset
from mist_ds.cost.kernel_set import EAGER
from mist_ds.config.executors import MISTPIPE
from mist_ds.config.plan import MemoryStrategy, Plan, StagePlan
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions, predict_plan
from mist_ds.cost.activations import (NEW, SAME, VIEW, block_saves, layer_saved_bytes,
                                      pinned_activation_rounding, pinned_call_bytes, stored_bytes)
from mist_ds.cost.shapes import pinned_weight_rounding, saved_weight_numels
from mist_ds.cost.symbols import b as B_SYM
from mist_ds.cost.symbols import tp as TP_SYM
from mist_ds.runtime import blocks as runtime_blocks
from mist_ds.runtime.kernels import EAGER_KERNELS
from tests.cost.test_activations import VARIANTS, fake_tp, spec  # noqa: F401 (fake_tp: fixture)

MIB = 2**20
SUITE = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"


EAGER_SDPA = replace(EAGER_KERNELS, attention="sdpa")
"""The element-wise kernels block_saves lists by default (activation_kernel 'torch'): pinned, since 'auto'
picks Liger's SwiGLU and compiled RoPE on CUDA (config/kernel_picks.py AUTO_USES_FASTEST; the S14-3/4
GPU runs of the CUDA test failed for every SwiGLU or RoPE variant under 'auto')."""


def measured_calls(model, batch: int, seq: int, tp: int = 1, device: str = "cpu"):
    """(sorted (bytes, repeat) of the non-parameter save calls, sorted numel of the parameter ones).
    Integer tensors (CUDA attention kernels' RNG seed and offset scalars) are left out, as in the model."""
    block = runtime_blocks.TransformerBlock(model, None if tp == 1 else tp, torch.bfloat16, device=device,
                                            kernels=EAGER_SDPA)
    params = {p.untyped_storage().data_ptr() for p in block.parameters()}
    places, tensors, calls, weights = set(), set(), [], []

    def pack(tensor):
        ptr = tensor.untyped_storage().data_ptr()
        if not tensor.is_floating_point():
            return tensor
        if ptr in params:
            weights.append(tensor.numel())
            return tensor
        place = (ptr, tensor.storage_offset())
        identity = (*place, tuple(tensor.shape), tensor.stride())
        repeat = SAME if identity in tensors else VIEW if place in places else NEW
        places.add(place)
        tensors.add(identity)
        calls.append((tensor.numel() * tensor.element_size(), repeat))
        return tensor

    x = torch.randn(batch, seq, model.hidden_size, dtype=torch.bfloat16, device=device, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = block(x)
    out.float().sum().backward()
    return sorted(calls), sorted(weights)


def predicted_calls(model, batch: int, seq: int, tp: int = 1, attention: str = "sdpa",
                    platform: str = "cpu"):
    saves = block_saves(model, seq, attention, platform=platform, tp=tp)
    calls = sorted((round(float(s.nbytes(batch * seq))), s.repeat) for s in saves)
    return calls, sorted(saved_weight_numels(model, tp))


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("batch,seq", [(1, 64), (3, 40)])
def test_save_calls_match_autograd(name, batch, seq):
    model = spec(**VARIANTS[name])
    assert measured_calls(model, batch, seq) == predicted_calls(model, batch, seq)
    # the unique-storage figure is the NEW calls of the same list
    new = sum(n for n, repeat in predicted_calls(model, batch, seq)[0] if repeat == NEW)
    assert new == layer_saved_bytes(model, seq, platform="cpu").subs({B_SYM: batch, TP_SYM: 1})


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(set(VARIANTS) - {"wide-ffn"}))  # head_dim 12: no flash kernel
def test_save_calls_match_autograd_on_cuda(name):
    """The CUDA list (fused RMSNorm, fp32 statistics, SDPA's CUDA kernels) on a GPU."""
    model = spec(**VARIANTS[name])
    assert measured_calls(model, 2, 128, device="cuda") == predicted_calls(model, 2, 128, platform="cuda")


@pytest.mark.parametrize("name", ["gpt", "llama-gqa", "neox-partial-rope-parallel", "qwen3"])
def test_save_calls_of_math_attention(name):
    model = spec(**VARIANTS[name])
    with sdpa_kernel(SDPBackend.MATH):
        measured = measured_calls(model, 2, 48)
    assert measured == predicted_calls(model, 2, 48, attention="math")


@pytest.mark.parametrize("name", ["gpt", "llama-gqa", "decoupled-head", "qwen3"])
def test_save_calls_tensor_parallel(fake_tp, name):  # noqa: F811 (pytest fixture)
    model = spec(**{**VARIANTS[name], "num_heads": 8, "num_kv_heads": 4 if name in ("llama-gqa", "qwen3") else 8})
    assert measured_calls(model, 2, 32, tp=2) == predicted_calls(model, 2, 32, tp=2)


def test_pinned_bytes_of_llama_7b_by_hand():
    """llama-7b, seq 4096 (h 4096, f 11008, 32 heads, RoPE on 128 dims), in MiB. Micro-batch 1, tp 1:
    norm inputs and outputs, q, k, v, the attention output and the o-projection's view of it, 9 x 32
    (powers of two already); rstd 2 x 1/64; log-sum-exp 1/2; RoPE cos and sin, for q and for k,
    4 x 1; SwiGLU's gate, up, silu(gate), product 4 x 86 -> 4 x 128. Unique storages: 8 x 32 +
    1/32 + 1/2 + 2 + 344 = 602.53125; save_on_cpu: 288 + 1/32 + 1/2 + 4 + 512 = 804.53125; mistpipe
    copies the k-side RoPE tables (the same tensors) once: 802.53125.
    Micro-batch 2, tp 2: norm inputs and outputs 4 x 64, q k v out o-input 5 x 32, rstd 2 x 1/32,
    log-sum-exp 1/2, tables 4 x 1, SwiGLU 4 x 86 -> 128: 730.5625 unique, 932.5625 pinned."""
    model = get_preset("llama-7b")
    ratio = pinned_activation_rounding(model, 4096, "sdpa", np.array([1, 2, 1]), np.array([1, 2, 1]))
    assert ratio.tolist() == [804.53125 / 602.53125, 932.5625 / 730.5625, 804.53125 / 602.53125]
    mistpipe = pinned_activation_rounding(model, 4096, "sdpa", 1, 1, dedupe=True, min_numel=1024)
    assert mistpipe == 802.53125 / 602.53125
    saves = block_saves(model, 4096, "sdpa", tp=1)
    assert pinned_call_bytes(saves, 4096) == 804.53125 * MIB
    # weights: q|k|v 96 -> 128, o 32, gate|up 172 -> 256, down 86 -> 128, two norm weights 8 KiB
    assert pinned_weight_rounding(model, 1) == (544 + 1 / 64) / (386 + 1 / 64)


def test_mistpipe_leaves_small_tensors_on_the_device():
    """Tensors under min_offload_numel elements (here rstd and log-sum-exp) are not in the pool."""
    model = spec(**VARIANTS["llama"])
    saves = block_saves(model, 16, "sdpa", tp=1)
    small = [s for s in saves if float(s.nbytes(16)) / s.itemsize < MISTPIPE.constants.min_offload_numel]
    assert {s.name for s in small} >= {"norm1 rstd", "log-sum-exp"}
    kept = [s for s in saves if s not in small and s.repeat != SAME]
    assert pinned_call_bytes(saves, 16, dedupe=True, min_numel=MISTPIPE.constants.min_offload_numel) == \
        sum(float(2 ** np.ceil(np.log2(float(s.nbytes(16))))) for s in kept)


def test_host_memory_of_the_activation_offload_run_is_its_pinned_allocations():
    """l7-2g-c78-z3-mb1-rc16-act16: 16 blocks offloaded through save_on_cpu, each 804.53125 MiB of
    activations and 544.015625 MiB of weights pinned (test above): the run measured that to the
    byte but for the kernels' few-byte RNG scalars; the model's host memory above the process base
    is exactly that sum (it was 603 + 544 per block before per-call rounding)."""
    hw = load_hardware("h200").model_copy(update={"host_process_base_bytes": 0})
    pair = load_pairs([SUITE / "l7-2g-c78-z3-mb1-rc16-act16.run.json"], None, hw)[0]
    pinned = 16 * (804.53125 + 544.015625) * MIB
    assert pair.predict(hw).stages[0].cpu_memory_bytes == pytest.approx(pinned, rel=1e-9)   # its kernels
    assert pair.run.host_pinned_peak_bytes[0] == pytest.approx(pinned, abs=4096)


def test_mistpipe_host_memory_sizes_its_activation_pool_as_the_engine_allocated_it():
    """Per offloaded llama-7b block (eager kernels, mb 1, seq 4096): the saved tensors of at least
    min_offload_numel elements, each storage once, at their sizes (hostmem.py's exact buffers), or, for a
    run before session 13 (host_buffers 'torch_pinned'), each rounded up to a power of two."""
    model = get_preset("llama-7b")
    hw = load_hardware("h200")

    def cpu(offloaded: int, host_buffers: str = "registered") -> float:
        stage = StagePlan(layer_start=0, layer_end=32, num_recompute_layers=4,
                          num_offloaded_layers=offloaded)
        plan = Plan(executor="mistpipe", model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=1),
                    global_batch_size=4, seq_len=4096, dp=1, tp=1, micro_batch_size=1, grad_accum_steps=4,
                    memory=MemoryStrategy(zero_stage=0, offload_optimizer_ratio=0.5), stages=(stage,))
        eager = RunConditions(kernels=EAGER, host_buffers=host_buffers)  # eager saves
        return predict_plan(plan, hw, eager).stages[0].cpu_memory_bytes

    assert cpu(3) - cpu(0) == pytest.approx(3 * 634.53125 * MIB, rel=1e-9)
    assert cpu(3, "torch_pinned") - cpu(0, "torch_pinned") == pytest.approx(3 * 802.53125 * MIB, rel=1e-9)


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("cc") is None,
                    reason="Inductor compiles C++ for the CPU")
def test_the_compiled_rope_with_q_k_norms_saves_the_cuda_list():
    """The compiled RoPE with Qwen3's q/k norms (runtime/kernels.py torch_qkv_rope through torch.compile,
    the 'compile' kernel the runtime runs on CUDA) compiled here by Inductor for the CPU: AOTAutograd's
    partition saves what block_saves lists for CUDA (q and k as views of the fused projection that keep
    all of it, v's part included, and an fp32 rstd per head), the two weight rows and RoPE's tables,
    call by call. The same on a GPU: tests/runtime/test_gpu_block.py."""
    from mist_ds.runtime import kernels as K

    model = spec(**VARIANTS["qwen3"])
    heads, kv, d, batch, seq = model.num_heads, model.num_kv_heads, model.head_dim, 2, 40
    fused = torch.randn(batch, seq, model.q_dim + 2 * model.kv_dim, dtype=torch.bfloat16, requires_grad=True)
    weight = (torch.rand(2, d, dtype=torch.bfloat16) + 0.5).requires_grad_(True)
    cos, sin = K.rope_cos_sin(seq, d, model.rope_theta, "cpu", torch.bfloat16)
    fn = K.compiled(K.torch_qkv_rope)
    fn(fused, (heads, kv, kv), d, cos, sin, weight, model.norm_eps)          # compiles
    calls, weights, storages = [], [], {}

    def pack(tensor):
        ptr = tensor.untyped_storage().data_ptr()
        if ptr == weight.untyped_storage().data_ptr():
            weights.append(tensor.numel())
        elif ptr not in (cos.untyped_storage().data_ptr(), sin.untyped_storage().data_ptr()):
            calls.append(tensor.numel() * tensor.element_size())
            storages[ptr] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        outs = fn(fused, (heads, kv, kv), d, cos, sin, weight, model.norm_eps)
    sum(o.float().sum() for o in outs).backward()
    saves = [s for s in block_saves(model, seq, platform="cuda", tp=1, rope_kernel="compile") if "_norm" in s.name]
    assert sorted(calls) == sorted(round(float(s.nbytes(batch * seq))) for s in saves)
    assert weights == [d, d] == saved_weight_numels(model, 1)[-2:]
    # device memory: the whole fused projection (the q and k views' bytes and the v part they keep) and the rstds
    assert fused.untyped_storage().data_ptr() in storages
    assert sum(storages.values()) == stored_bytes(saves, batch * seq)
