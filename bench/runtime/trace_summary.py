"""A torch.profiler trace of one training step, kept small: a JSON summary plus a filtered trace.

`Tracer.run(fn)` profiles one call (CPU ops, and CUDA kernels on a GPU); `Tracer.write()` (call it
after the timed loop: exporting takes seconds) writes, per rank,
  <name>.rank<r>.summary.json - step wall time, GPU busy time (union of kernel intervals) and idle
      share, kernel time by category (gemm / attention / nccl / triton / other / memcpy), NCCL calls
      by collective, the 25 longest kernels, kernel launches, host synchronisations (the CUDA runtime
      calls that block the CPU: stream / device / event synchronize, synchronous memcpy, and
      device-to-host copies), and the 20 CPU ops with the most self time;
  <name>.rank<r>.trace.json.gz - the GPU side of the chrome trace (kernels, memcpy, memset) plus
      the blocking runtime calls, and as hostBuckets the host ops and launches per thread and 5 ms
      (host_buckets: counted before the filter drops the host ops), dropped when it would exceed
      MAX_TRACE_BYTES compressed (the environment's MIST_DS_TRACE_MAX_MB raises it for a step too
      long for the default: a GPU call digests the trace there and brings back only the digest,
      bench/calls/prefix.sh traced).
Used by both sides of bench/runtime/parity.py (bench/runtime/traced_train.py for mist_ds, the
`--trace-dir` option of bench/baseline/train_hf.py), so their numbers are comparable.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

MAX_TRACE_BYTES = int(float(os.environ.get("MIST_DS_TRACE_MAX_MB", "3")) * 2**20)
SYNC_CALLS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy",
              "cuStreamSynchronize", "cuCtxSynchronize")
LAUNCH_CALLS = ("cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx", "cudaLaunchKernelExC", "cudaGraphLaunch")
HOST_BUCKET_US = 5000.0
HOST_BUCKET_COLUMNS = ["bucket", "thread", "ops", "ops_us", "launches", "launch_us"]
NCCL_OPS = ("AllGather", "ReduceScatter", "AllReduce", "Broadcast", "SendRecv", "Send", "Recv")
GPU_CATS = ("kernel", "gpu_memcpy", "gpu_memset")


def kernel_category(name: str) -> str:
    """gemm / attention / nccl / triton (Inductor or Liger kernels) / other (eager element-wise)."""
    low = name.lower()
    if "nccl" in low:
        return "nccl"
    if any(key in low for key in ("flash", "fmha", "attention", "sdpa", "cudnn")):
        return "attention"
    if any(key in low for key in ("gemm", "xmma", "cutlass", "nvjet", "cublas", "wgmma")):
        return "gemm"
    if not low.startswith("void") and ("triton" in low or low.endswith("_kernel")):
        return "triton"
    return "other"


def _union_us(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def _nccl_op(name: str) -> str:
    return next((op for op in NCCL_OPS if op.lower() in name.lower()), "other")


def outermost(ops: list[dict]) -> list[dict]:
    """The ops of one thread that no earlier op of it encloses (a nested op's time is its parent's)."""
    out, end = [], float("-inf")
    for op in sorted(ops, key=lambda e: (e["ts"], -e["dur"])):
        if op["ts"] >= end:
            out.append(op)
            end = op["ts"] + op["dur"]
    return out


def host_buckets(events: list[dict], origin: float, width_us: float = HOST_BUCKET_US) -> dict:
    """Per host thread and `width_us` bucket (from `origin`; an op counts in the bucket it starts in): its outermost
    CPU ops' count and microseconds, and its kernel launch calls' (LAUNCH_CALLS) count and microseconds; rows as
    HOST_BUCKET_COLUMNS, buckets with neither left out."""
    cells: dict[tuple[int, str], list[float]] = {}
    by_thread: dict[str, list[dict]] = {}
    for e in events:
        if e.get("cat") == "cpu_op":
            by_thread.setdefault(str(e.get("tid")), []).append(e)

    def cell(e: dict, thread: str) -> list[float]:
        return cells.setdefault((int((e["ts"] - origin) // width_us), thread), [0, 0.0, 0, 0.0])

    for thread, ops in by_thread.items():
        for op in outermost(ops):
            c = cell(op, thread)
            c[0] += 1
            c[1] += op["dur"]
    for e in events:
        if e.get("cat") == "cuda_runtime" and e.get("name", "").startswith(LAUNCH_CALLS):
            c = cell(e, str(e.get("tid")))
            c[2] += 1
            c[3] += e["dur"]
    rows = [[b, t, int(c[0]), round(c[1], 1), int(c[2]), round(c[3], 1)] for (b, t), c in sorted(cells.items())]
    return {"width_us": width_us, "columns": HOST_BUCKET_COLUMNS, "rows": rows}


def gpu_origin(events: list[dict]) -> float:
    """The start of the first GPU event (kernel, copy or memset): time zero of a digest; 0 without any."""
    return min((e["ts"] for e in events if e.get("cat") in GPU_CATS), default=0.0)


def summarize(events: list[dict], wall_s: float) -> dict:
    """The summary of one step's chrome-trace events (module docstring)."""
    kernels = [e for e in events if e.get("ph") == "X" and e.get("cat") in GPU_CATS]
    runtime = [e for e in events if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver")]
    by_cat: dict[str, float] = defaultdict(float)
    per_name: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    nccl: Counter = Counter()
    for e in kernels:
        name = e.get("name", "")
        cat = "memcpy" if e["cat"] != "kernel" else kernel_category(name)
        by_cat[cat] += e.get("dur", 0.0) / 1e3
        per_name[name[:120]][0] += 1
        per_name[name[:120]][1] += e.get("dur", 0.0) / 1e3
        if cat == "nccl":
            nccl[_nccl_op(name)] += 1
    busy_ms = _union_us([(e["ts"], e["ts"] + e.get("dur", 0.0)) for e in kernels]) / 1e3
    syncs = [e for e in runtime if e.get("name", "").startswith(SYNC_CALLS)]
    d2h = [e for e in kernels if e["cat"] == "gpu_memcpy" and "DtoH" in e.get("name", "")]
    top = sorted(per_name.items(), key=lambda item: -item[1][1])[:25]
    return {
        "wall_ms": round(1e3 * wall_s, 3),
        "gpu_busy_ms": round(busy_ms, 3),
        "gpu_idle_share": round(1 - busy_ms / (1e3 * wall_s), 4) if kernels and wall_s > 0 else None,
        "kernel_ms_by_category": {k: round(v, 3) for k, v in sorted(by_cat.items())},
        "num_kernels": sum(1 for e in kernels if e["cat"] == "kernel"),
        "nccl_calls": dict(nccl),
        "kernel_launches": sum(1 for e in runtime if e.get("name", "").startswith(LAUNCH_CALLS)),
        "host_syncs": {"count": len(syncs), "cpu_ms": round(sum(e.get("dur", 0.0) for e in syncs) / 1e3, 3),
                       "by_call": dict(Counter(e["name"] for e in syncs)), "device_to_host_copies": len(d2h)},
        "top_kernels": [{"name": name, "count": n, "total_ms": round(ms, 3)} for name, (n, ms) in top],
    }


def gpu_trace(events: list[dict]) -> list[dict]:
    """The events the filtered trace keeps: GPU work and blocking runtime calls."""
    return [e for e in events if e.get("cat") in GPU_CATS
            or (e.get("cat") in ("cuda_runtime", "cuda_driver") and e.get("name", "").startswith(SYNC_CALLS))]


LAUNCH_CATS = GPU_CATS + ("cuda_runtime", "cuda_driver")


def launch_rows(events: list[dict]) -> list[list]:
    """Every GPU event and CUDA runtime / driver call as [cat, name[:48], ts_us, dur_us, correlation, stream]
    (ts relative to the first GPU event): a GPU event and the host call that issued it share the correlation id,
    so how far the host ran ahead of the GPU, and when each copy was issued against when it ran, can be read
    (MIST_DS_TRACE_LAUNCHES=1: Tracer.write keeps them beside the filtered trace)."""
    origin = gpu_origin(events)
    rows = [[e["cat"], e.get("name", "")[:48], round(e["ts"] - origin, 1), round(e.get("dur", 0.0), 1),
             (e.get("args") or {}).get("correlation"), (e.get("args") or {}).get("stream")]
            for e in events if e.get("cat") in LAUNCH_CATS and "ts" in e]
    return sorted(rows, key=lambda r: r[2])


class Tracer:
    """Profile one call of a training step and write its summary later (module docstring)."""

    def __init__(self, out_dir: str | Path, name: str, rank: int, cuda: bool):
        self.out_dir, self.name, self.rank, self.cuda = Path(out_dir), name, rank, cuda
        self.prof, self.wall_s = None, 0.0

    def run(self, fn):
        from torch.profiler import ProfilerActivity, profile

        # MIST_DS_TRACE_GPU_ONLY=1: the GPU side and the CUDA runtime calls only (a 7B step with
        # accumulation records millions of CPU ops, whose export outlasts a GPU call)
        cpu = not (self.cuda and os.environ.get("MIST_DS_TRACE_GPU_ONLY") == "1")
        activities = [ProfilerActivity.CPU] * cpu + ([ProfilerActivity.CUDA] if self.cuda else [])
        with profile(activities=activities) as prof:
            start = time.perf_counter()
            result = fn()
            if self.cuda:
                import torch

                torch.cuda.synchronize()
            self.wall_s = time.perf_counter() - start
        self.prof = prof
        return result

    def write(self) -> list[Path]:
        """Write the summary (and the filtered trace when small enough); the paths written."""
        if self.prof is None:
            return []
        self.out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".json", dir=self.out_dir)
        os.close(fd)
        try:
            self.prof.export_chrome_trace(tmp)
            events = json.loads(Path(tmp).read_text()).get("traceEvents", [])
        finally:
            os.unlink(tmp)
        summary = summarize(events, self.wall_s)
        summary["cpu_ops_by_self_ms"] = [
            {"name": e.key[:100], "count": e.count, "self_cpu_ms": round(e.self_cpu_time_total / 1e3, 3)}
            for e in sorted(self.prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:20]]
        stem = f"{self.name}.rank{self.rank}"
        written = [self.out_dir / f"{stem}.summary.json"]
        written[0].write_text(json.dumps(summary, indent=1) + "\n")
        kept = {"traceEvents": gpu_trace(events), "hostBuckets": host_buckets(events, gpu_origin(events))}
        packed = gzip.compress(json.dumps(kept).encode())
        if self.cuda and len(packed) <= MAX_TRACE_BYTES:
            written.append(self.out_dir / f"{stem}.trace.json.gz")
            written[-1].write_bytes(packed)
        if os.environ.get("MIST_DS_TRACE_LAUNCHES") == "1":
            written.append(self.out_dir / f"{stem}.launches.json.gz")
            written[-1].write_bytes(gzip.compress(json.dumps(launch_rows(events)).encode()))
        self.prof = None
        return written
