"""A torch.profiler Chrome trace cut down to its GPU timeline, small enough to bring back from a GPU
machine (the traces themselves run to tens of MiB).

    python3 bench/engine/trace_digest.py TRACE.json --out $OUT/r/NAME.digest.json.gz

Writes gzipped JSON: the copy overlap summary (mistpipe/trace.py copy_overlap, all sizes and
>= 64 KiB), the busy time per stream, and every kernel and copy, and every host op of at least
--min-cpu-us (what the host did while the GPU waited) and every blocking runtime call (stream, event
or device synchronize, synchronous memcpy: trace_summary.SYNC_CALLS) of at least --min-sync-us (where
the host waited for the GPU), as [stream (host ops and calls: 'cpu'), start_us, duration_us, kind,
bytes, name[:60]] (start relative to the first GPU event), sorted by start. Smaller host ops are kept as counts
(host_buckets, bench/runtime/trace_summary.py): per host thread and HOST_BUCKET_US of the step, its outermost ops'
count and time and its kernel launch calls' count and time, so a host-paced stretch (the GPU idle in many short gaps,
no op long enough to keep) shows whether the host did more work or ran the same work slower, and on which thread. A
Tracer's trace (bench/runtime/trace_summary.py) has no host ops left: it carries them counted, as hostBuckets.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.runtime.trace_summary import GPU_CATS, SYNC_CALLS, gpu_origin, host_buckets  # noqa: E402
from mist_ds.runtime.mistpipe.trace import _stream, complete_events, copy_overlap, kernel_overlap  # noqa: E402


def digest(events: list[dict], min_cpu_us: float = 500.0, min_sync_us: float = 100.0,
           buckets: dict | None = None) -> dict:
    """The digest of a trace's events (module docstring); `buckets`: host_buckets computed where the host ops were
    still there (a Tracer's filtered trace keeps them as its hostBuckets), else counted from `events`."""
    gpu = [e for e in events if e.get("cat") in GPU_CATS]
    host = [e for e in events if e.get("cat") == "cpu_op" and e["dur"] >= min_cpu_us]
    host += [e for e in events if e.get("cat") in ("cuda_runtime", "cuda_driver") and e["dur"] >= min_sync_us
             and e.get("name", "").startswith(SYNC_CALLS)]
    origin = gpu_origin(events)
    rows = [[str(_stream(e)), round(e["ts"] - origin, 1), round(e["dur"], 1), e["cat"],
             (e.get("args") or {}).get("bytes"), e["name"][:60]] for e in gpu]
    rows += [["cpu", round(e["ts"] - origin, 1), round(e["dur"], 1), e["cat"], None, e["name"][:60]]
             for e in host]
    rows.sort(key=lambda r: r[1])
    busy: dict[str, float] = {}
    for row in rows:
        busy[row[0]] = busy.get(row[0], 0.0) + row[2]
    return {"copy_overlap": copy_overlap(events), "copy_overlap_64k": copy_overlap(events, 1 << 16),
            "adam_overlap": kernel_overlap(events, "adam"), "busy_us_per_stream": busy,
            "host_buckets": buckets or host_buckets(events, origin),
            "columns": ["stream", "start_us", "dur_us", "cat", "bytes", "name"], "events": rows}


def write_digest(trace: str | Path, out: str | Path, min_cpu_us: float = 500.0, min_sync_us: float = 100.0) -> dict:
    """digest() of a trace file, written gzipped to `out`; returns it."""
    data = json.loads(Path(trace).read_text())
    buckets = data.get("hostBuckets") if isinstance(data, dict) else None
    result = digest(complete_events(data), min_cpu_us, min_sync_us, buckets)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt") as handle:
        json.dump(result, handle)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("--out", required=True)
    parser.add_argument("--min-cpu-us", type=float, default=500.0)
    parser.add_argument("--min-sync-us", type=float, default=100.0)
    args = parser.parse_args()
    out = write_digest(args.trace, args.out, args.min_cpu_us, args.min_sync_us)
    print(f"{args.trace}: {len(out['events'])} events, busy us per stream "
          f"{ {k: round(v) for k, v in out['busy_us_per_stream'].items()} }")


if __name__ == "__main__":
    main()
