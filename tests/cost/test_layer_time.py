"""The one layer-time model (cost/layer_time.py) against hand counts."""

from __future__ import annotations

import pytest

from mist_ds.config import MatmulSample, get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.layer_time import NONVECTORIZED_FRACTION as NV
from mist_ds.cost.kernel_set import EAGER
from mist_ds.cost.layer_time import block_linears, block_parts

# every GEMM at exactly 500 TFLOP/s, no attention or element-wise measurements (datasheet fallbacks)
FLAT = load_hardware("h200").model_copy(update={
    "matmul_samples": tuple(MatmulSample(m=m, n=n, k=k, tflops=500.0)
                            for m in (256, 65536) for n in (256, 65536) for k in (256, 65536)),
    "attention_samples": (), "memory_kernels": ()})


@pytest.mark.parametrize("preset", ["gpt-1.3b", "llama-7b", "llama3-8b"])
def test_linears_cover_the_block_weights(preset):
    spec = get_preset(preset)
    weights = sum(o * i for o, i in block_linears(spec))
    biases = (spec.layer_params - 2 * spec.norm_params) - weights
    assert 0 <= biases < 20 * spec.hidden_size  # only bias vectors are left over


@pytest.mark.parametrize("preset, b, s", [("llama-7b", 1, 4096), ("gpt-1.3b", 4, 2048)])
def test_gemm_part_is_6_flops_per_weight_and_token(preset, b, s):
    # forward 2 FLOPs per weight per token (Y = X W), backward 4 (dX = dY W^T and dW = X^T dY):
    # Kaplan et al. 2020 / Narayanan et al. 2021, at the flat 500 TFLOP/s
    spec = get_preset(preset)
    weights = sum(o * i for o, i in block_linears(spec))
    gemm_fwd, gemm_bwd = block_parts(FLAT, spec, b, s)["gemm"]
    assert gemm_fwd == pytest.approx(2 * b * s * weights / 500e12, rel=1e-9)
    assert gemm_bwd == pytest.approx(4 * b * s * weights / 500e12, rel=1e-9)


def test_tensor_parallel_splits_the_gemms_and_heads():
    spec = get_preset("llama-7b")
    one, two = block_parts(FLAT, spec, 1, 4096, tp=1), block_parts(FLAT, spec, 1, 4096, tp=2)
    assert two["gemm"][0] == pytest.approx(one["gemm"][0] / 2, rel=1e-9)
    assert two["other"][0] < one["other"][0]       # f- and head-wide passes shrink, norms do not
    assert two["other"][0] > one["other"][0] / 2


def test_rope_passes_follow_the_runtime():
    # llama (RoPE) minus an otherwise identical learned-position model: 10 passes over q and k
    # forward (neg 1 + cat 2 + x*cos 2 + rotated*sin 2 + add 3: runtime/kernels.py apply_rope) plus
    # the copy of v out of the fused qkv output (read + write kv: blocks.py _own_storage); backward
    # 18 passes over q and k (g*cos 2, g*sin 2, neg 1, two slice_backward 2 + 2, summing three
    # gradients 3 + 3, slice_backward of x[..., :rot] 3); all on strided views: non-vectorized
    llama = get_preset("llama-7b")
    plain = llama.model_copy(update={"position_embedding": "learned"})
    m, elem = 4096, 2
    rate = FLAT.memory_bandwidth_gbps * 1e9
    rope, no_rope = block_parts(FLAT, llama, 1, m, kernels=EAGER)["other"], block_parts(FLAT, plain, 1, m, kernels=EAGER)["other"]
    forward = (10 * (llama.hidden_size + llama.kv_dim) + 2 * llama.kv_dim) * m * elem
    backward = 18 * m * elem * (llama.hidden_size + llama.kv_dim)
    assert rope[0] - no_rope[0] == pytest.approx(forward / (NV * rate), rel=1e-9)
    assert rope[1] - no_rope[1] == pytest.approx(backward / (NV * rate), rel=1e-9)


def test_fused_linears_concatenate_their_input_gradients():
    # split/chunk backward of the fused q|k|v and gate|up outputs (runtime/tp.py FusedColumnLinear)
    # writes the fused gradient: read + write (h + 2 kv) and 2 f per token, backward only
    llama = get_preset("llama-7b")
    gelu = llama.model_copy(update={"activation": "gelu"})
    m, elem, rate = 4096, 2, FLAT.memory_bandwidth_gbps * 1e9
    swiglu_bwd = block_parts(FLAT, llama, 1, m, kernels=EAGER)["other"][1]
    gelu_bwd = block_parts(FLAT, gelu, 1, m, kernels=EAGER)["other"][1]
    # SwiGLU backward: 9 non-vectorized passes (on the gate/up halves) + the 4-pass gate|up
    # concatenation; GELU: 3 passes, no fused MLP input
    passes = 9 / NV + 4 - 3
    assert swiglu_bwd - gelu_bwd == pytest.approx(passes * m * elem * llama.ffn_hidden_size / rate, rel=1e-9)


def test_time_grows_with_batch_and_sequence():
    spec = get_preset("gpt-1.3b")
    total = lambda b, s: sum(p[0] for p in block_parts(FLAT, spec, b, s).values())  # noqa: E731
    assert total(2, 2048) == pytest.approx(2 * total(1, 2048), rel=1e-6)  # flat rates: linear in batch
    assert total(1, 4096) > total(2, 2048)  # attention is quadratic in sequence


@pytest.mark.parametrize("rope", ["torch", "compile", "liger"])
def test_v_copy_follows_own_storage(rope):
    # runtime/blocks.py _own_storage copies v out of the fused qkv whenever RoPE made q and k new
    # tensors and v is still a view ('torch', 'liger'); the compiled RoPE copies v in its own kernel
    # (kernels.torch_qkv_rope); SDPA's grouped-query repeat makes k and v new first, so nothing is copied
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.layer_time import _elementwise, block_launches
    kernels = KernelSet(rope=rope)
    for preset, copied in (("llama-7b", rope != "compile"), ("llama3-8b", False)):
        spec = get_preset(preset)
        kv_copy = ("copy", 2 * 4096 * 2 * spec.kv_dim, False)
        assert (kv_copy in _elementwise(spec, 4096, 1, False, kernels)) is copied
        assert kv_copy not in _elementwise(spec, 4096, 1, True, kernels)
        without = block_launches(spec.model_copy(update={"num_kv_heads": 1}) if copied else spec, 1, kernels)
        if copied:  # the launch count drops by the copy when GQA removes it (plus GQA's own 2)
            assert block_launches(spec, 1, kernels)[0] == without[0] - 2 + 1


def test_the_compiled_rope_on_the_fused_projection_replaces_the_split_backward_cat():
    # kernels.torch_qkv_rope: one kernel each way over q + k + v (FUSED_QKV_ROPE_PASSES), and its
    # backward writes the fused gradient, so neither the v copy nor the qkv gradient cat is charged
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.layer_time import COMPILED_FRACTION, FUSED_QKV_ROPE_PASSES, _elementwise, block_launches
    spec, t = get_preset("llama-7b"), 4096 * 2
    width = spec.hidden_size + 2 * spec.kv_dim
    eager, fused = KernelSet(), KernelSet(rope="compile")
    for backward in (False, True):
        passes = _elementwise(spec, 4096, 1, backward, fused)
        rate = COMPILED_FRACTION["rope"][backward]
        assert ("mul", FUSED_QKV_ROPE_PASSES * t * width, rate) in passes
        assert ("copy", 2 * t * width) not in passes
        # no attention relayout copy either (the profiled steps with this kernel hold none)
        assert ("copy", 2 * t * spec.hidden_size) not in passes
        assert ("copy", 2 * t * spec.hidden_size) in _elementwise(spec, 4096, 1, backward, eager)
    assert ("copy", 2 * t * width) in _elementwise(spec, 4096, 1, True, eager)
    fwd, bwd = block_launches(spec, 1, fused)
    assert (fwd, bwd) == (block_launches(spec, 1, eager)[0] - 10 + 1 - 1, block_launches(spec, 1, eager)[1] - 18 + 1 - 2)


def test_the_gqa_repeat_runs_at_its_traced_strided_rates():
    """SDPA's k/v repeat_interleave (runtime/blocks.py) is a strided copy forward and a group sum backward,
    measured at GQA_REPEAT_FRACTION of the copy rate (Llama 3.2 1B traces; Mistral-7B held out): a 1B
    block at 4096 tokens pays 2 x 21 MB each way, 23.9 us a tensor forward in the trace."""
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.layer_time import GQA_REPEAT_FRACTION, _elementwise
    spec = get_preset("llama3.2-1b")
    tokens_bytes = 4096 * 2
    repeat = 2 * tokens_bytes * (spec.kv_dim + spec.hidden_size)
    for backward in (False, True):
        passes = _elementwise(spec, 4096, 1, backward, KernelSet())
        assert ("copy", repeat, GQA_REPEAT_FRACTION[backward]) in passes
    assert not any(p[1] == repeat for p in _elementwise(spec.model_copy(update={"num_kv_heads": spec.num_heads}),
                                                       4096, 1, False, KernelSet()))
    node = load_hardware("h200-1gpu-node")
    from mist_ds.config.hw_lookup import memory_kernel_gbps
    per_tensor_us = repeat / 2 / (memory_kernel_gbps(node, "copy") * 1e9 * GQA_REPEAT_FRACTION[0]) * 1e6
    assert per_tensor_us == pytest.approx(23.9, rel=0.05)


def _nemo():
    """Mistral-Nemo-12B (tests/data/hf_configs/mistral-nemo-12b): hidden 5120, 32 heads of 128, 8 kv heads."""
    from pathlib import Path

    from mist_ds.config import model_spec_from_hf_config
    return model_spec_from_hf_config(Path(__file__).parents[1] / "data" / "hf_configs" / "mistral-nemo-12b")


def test_a_decoupled_heads_gemms_are_the_runtime_blocks_linears():
    """q|k|v is 5120 -> 32 x 128 + 2 x 8 x 128 = 6144 wide and o 4096 -> 5120, not 5120 -> 5120: the (out, in) of
    every GEMM block_linears prices is a weight of the runtime's block (built on the meta device), and at tp 2
    the column outputs and the o input halve (hand numbers)."""
    from mist_ds.runtime.blocks import TransformerBlock

    spec = _nemo()
    block = TransformerBlock(spec, device="meta")
    runtime = [tuple(m.weight.shape) for m in (block.attn.qkv, block.mlp.gate_up, block.attn.o, block.mlp.down)]
    assert block_linears(spec) == runtime == [(6144, 5120), (2 * 14336, 5120), (5120, 4096), (5120, 14336)]
    assert block_linears(spec, 2) == [(3072, 5120), (14336, 5120), (5120, 2048), (5120, 7168)]


def test_a_decoupled_heads_element_wise_passes_are_heads_times_head_dim_wide():
    """The eager RoPE's 10 / 18 passes run over q + k = 4096 + 1024 per token (not 5120 + 1024), the GQA repeat
    writes 4096 wide, the attention output's relayout copy is 4096 wide (runtime/blocks.py Attention)."""
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.layer_time import (COMPILED_FRACTION, FUSED_QKV_ROPE_PASSES, GQA_REPEAT_FRACTION,
                                         ROPE_BWD_PASSES, ROPE_PASSES, _elementwise)
    spec, t = _nemo(), 4096 * 2
    for backward, rope in ((False, ROPE_PASSES), (True, ROPE_BWD_PASSES)):
        passes = _elementwise(spec, 4096, 1, backward, KernelSet())
        assert ("mul", rope * t * (4096 + 1024), False) in passes
        assert ("copy", 2 * t * (1024 + 4096), GQA_REPEAT_FRACTION[backward]) in passes
        assert ("copy", 2 * t * 4096) in passes
    assert ("copy", 2 * t * (4096 + 2 * 1024)) in _elementwise(spec, 4096, 1, True, KernelSet())
    compiled = _elementwise(spec, 4096, 2, False, KernelSet(rope="compile"))    # tp 2
    assert ("mul", FUSED_QKV_ROPE_PASSES * t * (2048 + 2 * 512), COMPILED_FRACTION["rope"][0]) in compiled


def test_a_decoupled_heads_attention_runs_its_heads_at_their_head_dim(monkeypatch):
    """block_parts reads the attention grid at 32 heads of 128 (16 at tp 2), the shape the runtime's SDPA runs."""
    from mist_ds.cost import layer_time

    seen = []
    monkeypatch.setattr(layer_time, "attention_time_s", lambda hw, b, heads, s, d, causal: seen.append((heads, d))
                        or (0.0, 0.0))
    for tp in (1, 2):
        layer_time.block_parts(FLAT, _nemo(), 1, 4096, tp=tp)
    assert seen == [(32, 128), (16, 128)]


def _qwen3_4b():
    """Qwen3-4B (tests/data/hf_configs/qwen3-4b): hidden 2560, 32 heads of 128 (q 4096), 8 kv heads (k 1024)."""
    from pathlib import Path

    from mist_ds.config import model_spec_from_hf_config
    return model_spec_from_hf_config(Path(__file__).parents[1] / "data" / "hf_configs" / "qwen3-4b")


@pytest.mark.parametrize("rope", ["torch", "compile"])
def test_the_q_k_norms_are_priced_over_q_plus_k(rope):
    """Qwen3's per-head norms add, over q + k = 4096 + 1024 per token: eager, the rmsnorm kernel's 2 passes
    forward and 5 backward (as the block norms); compiled into the RoPE kernel, nothing forward and 3
    passes backward at its backward rate (layer_time.QK_NORM_*). Launches: eager 2 norms forward, their 4
    backward kernels + unbind's stack; compiled one weight-gradient kernel; tp 2 adds the weight gradient's
    all-reduce."""
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.layer_time import COMPILED_FRACTION, _elementwise, block_launches
    spec, t = _qwen3_4b(), 4096 * 2
    plain, kernels = spec.model_copy(update={"qk_norm": False}), KernelSet(rope=rope)
    if rope == "torch":
        added = {False: [("rmsnorm_fwd", 2 * t * 5120)], True: [("rmsnorm_fwd", 5 * t * 5120)]}
    else:
        added = {False: [], True: [("mul", 3 * t * 5120, COMPILED_FRACTION["rope"][1])]}
    for backward in (False, True):
        assert _elementwise(spec, 4096, 1, backward, kernels) == _elementwise(plain, 4096, 1, backward, kernels) \
            + added[backward]
    launches = [tuple(a - b for a, b in zip(block_launches(spec, tp, kernels), block_launches(plain, tp, kernels)))
                for tp in (1, 2)]
    assert launches == ([(2, 5), (2, 6)] if rope == "torch" else [(0, 1), (0, 2)])


def test_the_q_k_norm_gradient_all_reduce_is_one_small_collective_per_block_backward():
    from mist_ds.cost.symbols import L
    from mist_ds.cost.work import comm_exprs
    spec = _qwen3_4b()
    exprs, plain = comm_exprs(spec, 4096), comm_exprs(spec.model_copy(update={"qk_norm": False}), 4096)
    assert (exprs["tp_norm_ar_count"], exprs["tp_norm_ar_bytes"]) == (L, 2 * 2 * 128)   # bf16 (2, 128) weight
    assert (plain["tp_norm_ar_count"], plain["tp_norm_ar_bytes"]) == (0, 0)
    assert exprs["tp_ar_count"] == plain["tp_ar_count"]
