"""bench/accuracy/trace_kernels.py and trace_compare.py: cutting a step at its attention kernels, the
per-phase sums (scaled blocks, the edges as the rest, exposed NCCL, idle gaps), bad traces, and the
committed ZeRO-2 trace against its own summary."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.accuracy import trace_compare as tc
from bench.accuracy import trace_kernels as tk

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT / "bench" / "results" / "runtime" / "parity"


def _event(name: str, ts: float, dur: float, stream: int = 7, cat: str = "kernel") -> dict:
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "tid": stream, "args": {"stream": stream}}


FPROP, BPROP = "cudnn_sdpa_flash_fprop_kernel", "cudnn_sdpa_flash_bprop_kernel"


def _step(num_layers: int = 3, num_mbs: int = 2) -> list[dict]:
    """A synthetic step: per micro-batch an embedding kernel, per block forward a GEMM (10 us), an
    attention (5) and an element-wise kernel (2); a loss kernel (20); per block backward a GEMM (20),
    an attention (10) and a 30 us NCCL all-reduce on stream 33 starting with the GEMM; then an
    optimizer kernel after a 100 us idle gap."""
    events, t = [], 0.0
    for _ in range(num_mbs):
        events.append(_event("gather_embedding", t, 4)); t += 4
        for _ in range(num_layers):
            events += [_event("nvjet_gemm", t, 10), _event(FPROP, t + 10, 5), _event("elementwise", t + 15, 2)]
            t += 17
        events.append(_event("void loss_softmax", t, 20)); t += 20
        for _ in range(num_layers):
            events += [_event("nvjet_gemm", t, 20), _event(BPROP, t + 20, 10),
                       _event("ncclDevKernel_AllReduce_Sum_bf16", t, 30, stream=33)]
            t += 30
        t += 1   # a 1 us gap between micro-batches
    events.append(_event("multi_tensor_apply_kernel_adam", t + 100, 50))
    return events


def _write(tmp_path: Path, events: list[dict]) -> Path:
    path = tmp_path / "t.trace.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"traceEvents": events}).encode()))
    return path


def test_phases_of_a_synthetic_step(tmp_path):
    kernels = tk.load_kernels(_write(tmp_path, _step()))
    mbs = tk.micro_batches(kernels, 3)
    assert len(mbs) == 2 and all(len(mb.fwd) == len(mb.bwd) == 3 and mb.recompute == 0 for mb in mbs)
    phases = tc.measure(kernels, 3)
    # 3 blocks x 2 micro-batches: 6 forward GEMMs of 10 us, 6 element-wise of 2, 6 attention of 5
    assert phases["blocks_fwd"].kernel_ms["gemm"] == pytest.approx(0.060)
    assert phases["blocks_fwd"].kernel_ms["other"] == pytest.approx(0.012)
    assert phases["blocks_fwd"].kernel_ms["attention"] == pytest.approx(0.030)
    assert phases["blocks_bwd"].kernel_ms["gemm"] == pytest.approx(0.120)
    # NCCL runs beside a GEMM for 20 of its 30 us, then beside the attention kernel: never exposed
    assert phases["blocks_bwd"].kernel_ms["nccl"] == pytest.approx(0.180)
    assert phases["blocks_bwd"].nccl_exposed_ms == pytest.approx(0.0, abs=1e-9)
    # the edges are the rest: embedding (4) + loss (20) per micro-batch
    edges = phases["edges"].kernel_ms
    assert edges["other"] == pytest.approx(0.048) and edges["gemm"] == pytest.approx(0.0, abs=1e-9)
    assert phases["step"].kernel_ms["other"] == pytest.approx(0.050)
    assert phases["step"].idle_ms == pytest.approx(0.100, rel=0.02)
    assert phases["micro_batches"].kernel_ms["count"] == 2


def test_exposed_nccl_and_recompute(tmp_path):
    events = _step(num_layers=2, num_mbs=1)
    events.append(_event("ncclDevKernel_AllReduce_Sum_bf16", 1000, 40, stream=33))   # nothing beside it
    events.insert(7, _event(FPROP, 58.5, 1))  # a recomputed forward inside the backward
    kernels = tk.load_kernels(_write(tmp_path, events))
    assert tk.micro_batches(kernels, 2)[0].recompute == 1
    phases = tc.measure(kernels, 2)
    assert phases["step"].nccl_exposed_ms == pytest.approx(0.040)


def test_bad_traces(tmp_path):
    with pytest.raises(tk.TraceError, match="no GPU events"):
        tk.load_kernels(_write(tmp_path, [_event("x", 0, 1, cat="cpu_op")]))
    with pytest.raises(tk.TraceError, match="backward attention kernel after 3 forward"):
        tk.micro_batches(tk.load_kernels(_write(tmp_path, _step(num_layers=3))), 4)
    cut = [e for e in _step(num_layers=3, num_mbs=1) if e["name"] != BPROP][:-1]
    with pytest.raises(tk.TraceError, match="ends inside a micro-batch"):
        tk.micro_batches(tk.load_kernels(_write(tmp_path, cut)), 3)
    with pytest.raises(tk.TraceError, match="no attention kernels"):
        tk.micro_batches(tk.load_kernels(_write(tmp_path, [_event("nvjet_gemm", 0, 1)])), 2)
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    assert tc.main([str(bad), str(PARITY / "zero2.plan.json")]) == 2


def test_committed_zero2_trace_matches_its_summary():
    trace = PARITY / "traces" / "zero2.mist.rank0.trace.json.gz"
    summary = json.loads((PARITY / "traces" / "zero2.mist.rank0.summary.json").read_text())
    result = tc.compare(trace, PARITY / "zero2.plan.json", "h200")
    phases = result["trace"]
    total = sum(sum(p["kernel_ms"].get(c, 0.0) for c in ("nccl", "gemm"))
                for name, p in phases.items() if name in ("blocks_fwd", "blocks_bwd", "edges", "step", "before"))
    expected = summary["kernel_ms_by_category"]["nccl"] + summary["kernel_ms_by_category"]["gemm"]
    assert total == pytest.approx(expected, rel=1e-6)      # the phases partition the step
    assert phases["all"]["idle_ms"] == pytest.approx(summary["wall_ms"] * summary["gpu_idle_share"]
                                                      - (summary["wall_ms"] - phases["all"]["wall_ms"]), abs=1.0)
    assert phases["micro_batches"]["kernel_ms"]["count"] == 4
    names = [row[0] for row in result["rows"]]
    assert "micro-batches: DP communication (kernel time)" in names and "step: wall" in names


def test_the_run_record_sets_the_kernels_the_model_costs(tmp_path):
    trace, plan = PARITY / "traces" / "zero2.mist.rank0.trace.json.gz", PARITY / "zero2.plan.json"
    run = json.loads((PARITY / "zero2.mist.run.json").read_text())
    eager = tc.compare(trace, plan, "h200", run_path=PARITY / "zero2.mist.run.json")["model"]
    default = tc.compare(trace, plan, "h200")["model"]          # without a record: today's default, the fastest set
    assert default["blocks_bwd_other"] < eager["blocks_bwd_other"] and default["blocks_fwd_gemm"] == eager["blocks_fwd_gemm"]
    fused = tmp_path / "fused.run.json"
    fused.write_text(json.dumps({**run, "kernels": {**run["kernels"], "activation": "compile", "rope": "compile",
                                                    "loss": "liger"}}))
    fast = tc.compare(trace, plan, "h200", run_path=fused)["model"]
    assert fast["blocks_fwd_other"] < eager["blocks_fwd_other"] and fast["iteration"] < eager["iteration"]
    assert fast["blocks_fwd_gemm"] == eager["blocks_fwd_gemm"]


def test_a_trace_digest_loads_as_its_trace_with_the_compute_stream_by_kernels(tmp_path):
    # what a GPU call brings back is the digest (bench/engine/trace_digest.py); ZeRO-3 offload's copy
    # stream holds more events than the compute stream, which must still be the one with the kernels
    from bench.engine.trace_digest import digest

    copies = [_event("Memcpy HtoD (Pinned -> Device)", 3.0 * i, 1, stream=28, cat="gpu_memcpy") for i in range(200)]
    copies.append(_event("void at::native::add_kernel", 1.0, 1, stream=28))
    events = _step() + copies + [_event("aten::mm", 0, 600, stream=0, cat="cpu_op")]
    trace = tk.load_kernels(_write(tmp_path, events))
    path = tmp_path / "t.digest.json.gz"
    path.write_bytes(gzip.compress(json.dumps(digest(events)).encode()))
    loaded = tk.load_kernels(path)
    shift = trace[0].start - loaded[0].start          # the digest starts at its first GPU event
    assert [(k.name, k.start, k.end, k.stream, k.category) for k in loaded] == \
        [(k.name, k.start - shift, k.end - shift, k.stream, k.category) for k in trace]
    assert {k.category for k in loaded if k.stream == 28} == {"side_stream"}     # 201 events, 1 kernel
    assert any(k.category == "gemm" for k in loaded if k.stream == 7)
    assert len(tk.micro_batches(loaded, 3)) == 2


def test_a_digest_keeps_the_blocking_runtime_calls_as_host_rows_and_the_gpu_loader_skips_them(tmp_path):
    # where the host waited for the GPU (an event synchronize of DeepSpeed's reduce back-pressure, a
    # stream synchronize of the epilogue) is what a ZeRO-3 offload backward's trace is read for
    from bench.engine.trace_digest import digest

    calls = [_event("cudaEventSynchronize", 5.0, 250, stream=0, cat="cuda_runtime"),
             _event("cudaStreamSynchronize", 9.0, 40, stream=0, cat="cuda_runtime"),
             _event("cudaLaunchKernel", 11.0, 900, stream=0, cat="cuda_runtime")]
    out = digest(_step() + calls)
    host = [row for row in out["events"] if row[0] == "cpu"]
    assert [(row[3], row[5]) for row in host] == [("cuda_runtime", "cudaEventSynchronize")]
    assert digest(_step() + calls, min_sync_us=10.0)["events"] != out["events"]
    path = tmp_path / "t.digest.json.gz"
    path.write_bytes(gzip.compress(json.dumps(out).encode()))
    assert all(k.name != "cudaEventSynchronize" for k in tk.load_kernels(path))


def test_a_mistpipe_plan_is_refused_in_one_line(capsys):
    trace = ROOT / "bench" / "results" / "runtime" / "l13b_c24_trace_S30" / "l13b-c24.rank0.digest.json.gz"
    plan = ROOT / "bench" / "results" / "accuracy" / "auto-l13b-1g-c24-s4096-b16.plan.json"
    assert tc.main([str(trace), str(plan), "--hardware", "h200-1gpu-node"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stock DeepSpeed stages only, not a mistpipe plan" in err[0]


def test_backward_element_wise_is_also_read_with_the_gradient_passes():
    # ZeRO-1's AccumulateGrad adds run among a block's backward kernels (the trace's block row) while the model
    # prices them with DeepSpeed's passes: the combined row adds both sides' two rows
    trace = ROOT / "bench" / "results" / "runtime" / "z2_trace_S17" / "l13b-z1.rank0.digest.json.gz"
    plan = ROOT / "bench" / "results" / "accuracy" / "l13b-1g-c40-s2048-z1-mb2.plan.json"
    rows = {name: (model, measured) for name, model, measured in tc.compare(trace, plan, "h200-1gpu-node")["rows"]}
    bwd, passes = rows["blocks bwd: element-wise"], rows["DeepSpeed gradient passes (bucket copy, div_, partition)"]
    assert rows[tc.BWD_WITH_PASSES] == pytest.approx((bwd[0] + passes[0], bwd[1] + passes[1]))
    assert bwd[1] > bwd[0] and passes[1] < passes[0]        # each row alone misreads the adds
