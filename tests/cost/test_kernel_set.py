"""The kernel set the cost model charges (cost/kernel_set.py): the runtime's default per tp, a run's
record, the per-kernel terms and the measurements their constants come from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mist_ds.config import get_preset, kernel_picks
from mist_ds.config.hw_lookup import memory_kernel_gbps
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions, StageCostModel, stage_args
from mist_ds.cost.activations import layer_saved_bytes, logits_bytes
from mist_ds.cost.kernel_set import EAGER, KernelChoice, KernelSet, runtime_default
from mist_ds.cost.layer_time import COMPILED_FRACTION, LOSS_TRAFFIC, block_parts, head_parts
from mist_ds.cost.symbols import PP, VS, b, tp

ROOT = Path(__file__).resolve().parents[2]
HW = load_hardware("h200")
LLAMA = get_preset("llama-7b")
FASTEST = KernelSet(activation="compile", rope="compile", loss="liger")


def bench() -> dict:
    return json.loads((ROOT / kernel_picks.MEASUREMENT_FILE).read_text())


@pytest.mark.parametrize("fastest", [False, True])
def test_the_default_follows_kernel_picks_and_depends_on_tp_only_through_tp_above_1(monkeypatch, fastest):
    monkeypatch.setattr(kernel_picks, "AUTO_USES_FASTEST", fastest)
    one = runtime_default(1)
    assert one == (KernelSet(activation="liger", rope="compile", loss="liger") if fastest else EAGER)
    assert all(runtime_default(t) == runtime_default(2) for t in (2, 4, 8, 16, 64))
    assert runtime_default(2).loss == ("chunked_compile" if fastest else "chunked")
    choice = KernelChoice.of(None)
    assert (choice.at(1), choice.at(4)) == (one, runtime_default(4))
    assert KernelChoice.of(FASTEST).at(8) == FASTEST


def test_a_record_names_its_set_and_no_record_is_eager():
    assert KernelSet.from_record(None) == KernelSet.from_record({}) == EAGER
    record = {"norm": "torch", "activation": "compile", "rope": "compile", "attention": "sdpa", "loss": "liger"}
    assert KernelSet.from_record(record) == FASTEST
    with pytest.raises(ValueError, match="loss kernel"):
        KernelSet.from_record({**record, "loss": "softmax"})


def test_loss_bytes_per_logit_are_the_measured_times_at_the_profiles_copy_bandwidth():
    copy_gbps = 3835.0   # the h200 profile's copy rate the constants were converted at
    for impl in ("chunked", "chunked_compile", "fp32"):
        per_shape = []
        for entry in bench()["loss"].values():
            shape = entry["shape"]
            logits = shape["batch"] * shape["seq"] * shape["vocab"]
            per_shape.append(entry["methods"][impl]["loss"]["time_ms"] * 1e-3 * copy_gbps * 1e9 / logits)
        assert LOSS_TRAFFIC[impl] == (("copy", pytest.approx(np.mean(per_shape), abs=0.6)),), impl


def test_liger_is_priced_at_its_in_situ_kernel_at_the_rate_both_cards_agree_on_plus_the_scale_pass():
    # bench/accuracy/loss_kernels.py --write: the committed profiled steps' Liger kernels on both cards
    summary = json.loads((ROOT / "bench" / "results" / "loss_kernels.json").read_text())["summary"]
    h200, h100 = summary["NVIDIA H200"], summary["NVIDIA H100 80GB HBM3"]
    assert h200["steps"] >= 10 and h100["steps"] >= 10
    # the loss kernel: the two cards agree at the gelu_fwd rate (within 2%), not at the copy rate (> 10% apart)
    assert h200["liger_gelu_fwd_bytes_per_logit"] == pytest.approx(h100["liger_gelu_fwd_bytes_per_logit"], rel=0.02)
    assert h200["liger_bytes_per_logit"] > 1.1 * h100["liger_bytes_per_logit"]
    # the scale (read 2 + write 2 bytes, in place): at the copy rate on both
    assert h200["scale_bytes_per_logit"] == pytest.approx(h100["scale_bytes_per_logit"], rel=0.02)
    loss, scale = (np.mean([h200[f], h100[f]]) for f in ("liger_gelu_fwd_bytes_per_logit", "scale_bytes_per_logit"))
    assert LOSS_TRAFFIC["liger"] == (("gelu_fwd", pytest.approx(loss, abs=0.05)),
                                     ("copy", pytest.approx(scale, abs=0.01)))


MUL_GBPS = 4271.2   # the h200 profile's 'mul' rate


# The profiled training steps with the compiled SwiGLU and the fused-projection RoPE, per model: trace,
# layers, micro-batch, seq (layer_time.COMPILED_FRACTION)
RUNTIME = "bench/results/runtime"
IN_SITU = {"llama-7b": (f"{RUNTIME}/parity/traces/zero1-fastest-traced.mist.rank0.trace.json.gz", 32, 1, 4096),
           "llama-2.7b": (f"{RUNTIME}/fastest_1g/traces/l27pq-qkvrope.rank0.trace.json.gz", 32, 2, 4096)}


def in_situ_fractions() -> dict[str, list[tuple[float, float]]]:
    """(forward, backward) fraction of the 'mul' rate per model for each compiled op: the bytes of its
    passes over its kernels' mean duration per block pass in the committed trace."""
    from bench.accuracy.trace_kernels import block_ops, load_kernels
    from mist_ds.cost.layer_time import FUSED_QKV_ROPE_PASSES, FUSED_SWIGLU_PASSES

    out: dict[str, list[tuple[float, float]]] = {"activation": [], "rope": []}
    for name, (trace, layers, micro_batch, seq) in IN_SITU.items():
        spec, ops = get_preset(name), block_ops(load_kernels(ROOT / trace), layers)
        t = micro_batch * seq * 2                                         # bf16 bytes per element
        moved = {"activation": [n * t * spec.ffn_hidden_size for n in FUSED_SWIGLU_PASSES],
                 "rope": [FUSED_QKV_ROPE_PASSES * t * (spec.hidden_size + 2 * spec.kv_dim)] * 2}
        for op, kernel in (("activation", "swiglu"), ("rope", "rope")):
            out[op].append(tuple(moved[op][i] / (ops[d][kernel] * 1e-6) / (MUL_GBPS * 1e9)
                                 for i, d in enumerate(("fwd", "bwd"))))
    return out


def test_compiled_fractions_are_fitted_on_the_kernels_in_the_profiled_steps():
    """(forward, backward) per op: the mean over the two traced models of each direction's fraction."""
    fitted = in_situ_fractions()
    for op, per_model in fitted.items():
        assert COMPILED_FRACTION[op] == pytest.approx(tuple(np.mean(per_model, axis=0)), abs=0.01), op
        assert all(bwd < 0.6 * fwd for fwd, bwd in per_model), op    # backward at about half the rate
    (rope_7b, rope_27b) = fitted["rope"]
    assert rope_27b[1] < 0.6 * rope_7b[1]   # the head_dim 80 backward kernel runs at half the rate


def test_the_isolated_benchmarks_lie_between_the_in_situ_directions():
    """The single fractions the isolated benchmarks gave (layer_time's comment): SwiGLU's slope over
    micro-batches 1-4 and RoPE's forward + backward kernels beside SDPA, both between the in-situ
    backward and forward fractions of llama-7b."""
    ops = json.loads((ROOT / f"{RUNTIME}/gpu_bench_h200_2026-11-30.json").read_text())["ops"]["llama-7b"]
    batches = np.array([1, 2, 4])
    times = [ops[f"mb{m}"]["swiglu"]["compile"]["time_ms"] for m in batches]
    swiglu = 8 * 4096 * 2 * 11008 / (np.polyfit(batches, times, 1)[0] * 1e-3) / (MUL_GBPS * 1e9)
    probe = json.loads((ROOT / "bench/results/runtime/rope_layout_h200_2026-11-30.json").read_text())
    kernel_us = sum(t for name, t in probe["cases"]["llama-7b/bshd"]["kernels"] if name.startswith("triton"))
    rope = 4 * 2 * 4096 * 2 * 3 * 32 * 128 / (kernel_us * 1e-6) / (MUL_GBPS * 1e9)
    assert (swiglu, rope) == pytest.approx((0.65, 0.63), abs=0.01)
    fitted = in_situ_fractions()
    for op, isolated in (("activation", swiglu), ("rope", rope)):
        fwd, bwd = fitted[op][0]
        assert bwd < isolated < fwd, op


def test_fused_kernels_cut_the_element_wise_time_and_keep_the_rest():
    eager, fast = (block_parts(HW, LLAMA, 1, 4096, 1, True, k) for k in (EAGER, FASTEST))
    assert eager["gemm"] == fast["gemm"] and eager["attention"] == fast["attention"]
    assert fast["other"][0] < eager["other"][0] and fast["other"][1] < eager["other"][1]
    # the norm stays 'torch' in both: changing only the norm's name changes nothing the model counts
    assert block_parts(HW, LLAMA, 1, 4096, 1, True, KernelSet(norm="compile")) == eager
    eager_head, fast_head = head_parts(HW, LLAMA, 4096, 1, EAGER), head_parts(HW, LLAMA, 4096, 1, FASTEST)
    rate = {k: memory_kernel_gbps(HW, k) for k in ("copy", "gelu_fwd")}
    per_logit = {loss: sum(b / rate[k] for k, b in LOSS_TRAFFIC[loss]) for loss in ("liger", "chunked")}
    assert fast_head["loss"] == pytest.approx(eager_head["loss"] * per_logit["liger"] / per_logit["chunked"])


def test_memory_terms_follow_the_kernels():
    f = LLAMA.ffn_hidden_size
    saved = {k: layer_saved_bytes(LLAMA, 4096, activation_kernel=k).subs({b: 1, tp: 1}) for k in ("torch", "compile")}
    assert saved["torch"] - saved["compile"] == 2 * f * 4096          # one f-wide tensor fewer
    chunked, liger = (logits_bytes(4096, 2, loss).subs({b: 1, VS: 32000, PP: 0}) for loss in ("chunked", "liger"))
    assert chunked - liger == 4 * (1 << 24) + (18 - 13) * 4096        # no fp32 chunk, 13 B per token


def test_the_vectorised_default_costs_each_tp_with_its_own_set(monkeypatch):
    """The search's model (kernels=None) at tp 1 and 2 in one call equals fixed-set models per tp."""
    monkeypatch.setattr(kernel_picks, "AUTO_USES_FASTEST", True)
    tps = np.array([1, 2])
    args = stage_args(stage_index=0, num_stages=1, num_layers=np.array([32, 32]), micro_batch=np.array([1, 1]),
                      dp=np.array([2, 1]), tp=tps, grad_accum=np.array([4, 8]), zero_stage=np.array([1, 1]),
                      offload_weights=0.0, offload_gradients=0.0, offload_optimizer=0.0,
                      num_recompute=np.array([0, 0]), num_offloaded=np.array([0, 0]))
    search = StageCostModel(LLAMA, HW, 4096, gpus_per_node=2)
    both = search.evaluate(args)
    for i, t in enumerate(tps):
        fixed = StageCostModel(LLAMA, HW, 4096, gpus_per_node=2,
                               conditions=RunConditions(kernels=runtime_default(int(t)))).evaluate(args)
        assert both.stable_time_s[i] == pytest.approx(fixed.stable_time_s[i])
        assert both.peak_memory_bytes[i] == pytest.approx(fixed.peak_memory_bytes[i])
    eager = StageCostModel(LLAMA, HW, 4096, gpus_per_node=2, conditions=RunConditions(kernels=EAGER))
    assert np.all(both.stable_time_s < eager.evaluate(args).stable_time_s)
    assert np.all(search.terms(args)["activations"] < eager.terms(args)["activations"])


def test_an_op_recorded_none_did_not_run_and_keeps_the_default():
    # what a GPT run records (runtime/build.py: no rotary embeddings, rope 'none')
    gpt = {"norm": "torch", "activation": "torch", "rope": "none", "attention": "sdpa", "loss": "chunked"}
    assert KernelSet.from_record(gpt) == EAGER
    assert KernelSet.from_record({**gpt, "activation": "compile"}).activation == "compile"


def test_a_compiled_rope_record_is_read_by_the_run_date():
    """Runs before FUSED_QKV_ROPE_SINCE ran the compiled RoPE of transposed views (its v copy and the
    q|k|v gradient cat included); later ones the fused-projection kernel, which prices neither."""
    from mist_ds.cost.kernel_set import FUSED_QKV_ROPE_SINCE, ROPE_COMPILED_ON_VIEWS
    from mist_ds.cost.layer_time import block_launches

    record = {"norm": "torch", "activation": "compile", "rope": "compile", "attention": "sdpa", "loss": "liger"}
    old = KernelSet.from_record(record, "2026-11-30T17:42:00+00:00")
    new = KernelSet.from_record(record, "2026-11-30T18:00:36+00:00")
    assert "2026-11-30T17:42:00+00:00" < FUSED_QKV_ROPE_SINCE < "2026-11-30T18:00:36+00:00"
    assert old.rope == ROPE_COMPILED_ON_VIEWS and new == FASTEST == KernelSet.from_record(record)
    assert block_launches(LLAMA, 1, old) == tuple(n + d for n, d in zip(block_launches(LLAMA, 1, new), (1, 2)))
    with pytest.raises(ValueError, match="kernel for norm"):
        KernelSet(norm=ROPE_COMPILED_ON_VIEWS)
