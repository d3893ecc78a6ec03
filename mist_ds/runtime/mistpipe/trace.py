"""How much host-device copy time a torch.profiler trace hides under compute (pure JSON analysis).

Input: the Chrome trace `torch.profiler.profile(...).export_chrome_trace(path)` writes. Copies are
`gpu_memcpy` events between host and device (HtoD / DtoH); compute is `kernel` events on the compute
stream (the stream with the most non-NCCL kernel time). Hidden copy time is the measure of
union(copies) intersected with union(compute kernels).
"""

from __future__ import annotations

import json
from pathlib import Path


def union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted disjoint union of (start, end) intervals."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def measure(intervals) -> float:
    return sum(end - start for start, end in intervals)


def intersection(a, b) -> float:
    """Measure of the intersection of two sorted, disjoint interval lists."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _sorted(values) -> list:
    try:
        return sorted(values)
    except TypeError:  # mixed stream ids (ints and strings)
        return sorted(values, key=str)


def gpu_span_us(events: list[dict]) -> float:
    """First GPU event's start to last GPU event's end (kernels, copies, memsets)."""
    gpu = [e for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    return max(e["ts"] + e["dur"] for e in gpu) - min(e["ts"] for e in gpu) if gpu else 0.0


def _stream(event: dict):
    return (event.get("args") or {}).get("stream", event.get("tid"))


def copy_overlap(events: list[dict], min_bytes: int = 0) -> dict:
    """Copy time, the part of it under compute kernels, and the streams involved; copies with a
    recorded size below `min_bytes` (scalars the host reads back) are left out."""
    kernels = [e for e in events if e.get("cat") == "kernel" and not e["name"].lower().startswith("nccl")]
    copies = [e for e in events if e.get("cat") == "gpu_memcpy"
              and ("HtoD" in e["name"] or "DtoH" in e["name"])
              and (e.get("args") or {}).get("bytes", min_bytes) >= min_bytes]
    per_stream: dict = {}
    for event in kernels:
        per_stream[_stream(event)] = per_stream.get(_stream(event), 0.0) + event["dur"]
    compute = max(per_stream, key=per_stream.get) if per_stream else None
    compute_union = union([(e["ts"], e["ts"] + e["dur"]) for e in kernels if _stream(e) == compute])
    copy_union = union([(e["ts"], e["ts"] + e["dur"]) for e in copies])
    copy_time = measure(copy_union)
    hidden = intersection(copy_union, compute_union)
    side = sum(e["dur"] for e in copies if _stream(e) != compute)
    all_copy = sum(e["dur"] for e in copies)
    return {"copy_time_us": copy_time, "hidden_us": hidden,
            "hidden_fraction": hidden / copy_time if copy_time else None,
            "compute_time_us": measure(compute_union), "compute_stream": compute,
            "copy_streams": _sorted({_stream(e) for e in copies}),
            "side_stream_copy_fraction": side / all_copy if all_copy else None,
            "num_copies": len(copies), "span_us": gpu_span_us(events)}


def kernel_overlap(events: list[dict], name_part: str) -> dict:
    """Kernels whose name contains `name_part` (e.g. 'adam'): their time, the part of it that ran
    while the compute stream ran other kernels, and their streams."""
    kernels = [e for e in events if e.get("cat") == "kernel" and not e["name"].lower().startswith("nccl")]
    chosen = [e for e in kernels if name_part in e["name"].lower()]
    others = [e for e in kernels if name_part not in e["name"].lower()]
    per_stream: dict = {}
    for event in others:
        per_stream[_stream(event)] = per_stream.get(_stream(event), 0.0) + event["dur"]
    compute = max(per_stream, key=per_stream.get) if per_stream else None
    mine = union([(e["ts"], e["ts"] + e["dur"]) for e in chosen])
    busy = union([(e["ts"], e["ts"] + e["dur"]) for e in others if _stream(e) == compute])
    return {"time_us": measure(mine), "overlap_us": intersection(mine, busy),
            "streams": _sorted({_stream(e) for e in chosen}), "compute_stream": compute,
            "num_kernels": len(chosen), "compute_busy_us": measure(busy), "span_us": gpu_span_us(events)}


def complete_events(data: dict | list) -> list[dict]:
    """The complete ('X') events of a parsed Chrome trace (its traceEvents, or the bare event list)."""
    events = data["traceEvents"] if isinstance(data, dict) else data
    return [e for e in events if e.get("ph") == "X" and "dur" in e]


def load_events(path: str | Path) -> list[dict]:
    """The complete ('X') events of a Chrome trace file."""
    return complete_events(json.loads(Path(path).read_text()))


def trace_overlap(path: str | Path, min_bytes: int = 0) -> dict:
    """copy_overlap of a Chrome trace file."""
    return copy_overlap(load_events(path), min_bytes)
