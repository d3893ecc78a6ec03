"""bench/engine/trace_digest.py host_buckets and bench/engine/microbatch_walls.py: per-pass walls and host work."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from bench.engine.microbatch_walls import host_in, passes
from bench.engine.trace_digest import digest
from bench.runtime.trace_summary import HOST_BUCKET_COLUMNS, host_buckets, outermost

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "bench" / "results" / "runtime" / "h100_swap_trace_S48"
PLAN = ROOT / "bench" / "results" / "accuracy" / "h100-auto-l13b-1g-c24-s4096-b16.plan.json"


def _op(ts, dur, tid=1, cat="cpu_op", name="aten::add"):
    return {"ph": "X", "cat": cat, "ts": ts, "dur": dur, "tid": tid, "name": name}


def test_outermost_drops_nested_ops_and_keeps_back_to_back_ones():
    ops = [_op(0, 10), _op(2, 3), _op(10, 4), _op(20, 1)]
    assert [(o["ts"], o["dur"]) for o in outermost(ops)] == [(0, 10), (10, 4), (20, 1)]


def test_host_buckets_count_each_threads_outermost_ops_and_launches_by_start():
    events = [_op(0, 100), _op(10, 50), _op(4_990, 30), _op(6_000, 200, tid=2),
              _op(20, 5, cat="cuda_runtime", name="cudaLaunchKernel"),
              _op(30, 7, cat="cuda_runtime", name="cudaMemcpyAsync"),
              {"ph": "X", "cat": "kernel", "ts": 0, "dur": 9, "name": "k", "args": {"stream": 7}}]
    out = host_buckets(events, origin=0.0, width_us=5_000.0)
    assert out["columns"] == HOST_BUCKET_COLUMNS
    assert out["rows"] == [[0, "1", 2, 130.0, 1, 5.0], [1, "2", 1, 200.0, 0, 0.0]]
    assert digest(events)["host_buckets"]["rows"] == host_buckets(events, 0.0)["rows"]


def test_host_in_takes_the_passes_busiest_thread_and_every_threads_launches():
    buckets = {"width_us": 5_000.0, "columns": HOST_BUCKET_COLUMNS,
               "rows": [[0, "a", 10, 900.0, 8, 40.0], [0, "b", 1, 300.0, 0, 0.0], [1, "a", 4, 500.0, 3, 10.0],
                        [1, "b", 2, 200.0, 5, 20.0], [3, "b", 9, 9_999.0, 9, 99.0]]}
    got = host_in(buckets, 0.0, 10_000.0)
    assert got["thread"] == "a" and got["ops"] == 14 and abs(got["ops_ms"] - 1.4) < 1e-9
    assert got["launches"] == 16 and abs(got["launch_ms"] - 0.07) < 1e-9 and abs(got["other_ops_ms"] - 0.5) < 1e-9
    assert host_in(buckets, 15_000.0, 20_000.0)["thread"] == "b"                  # another pass, another thread
    assert host_in(buckets, 20_000.0, 30_000.0)["thread"] is None and host_in(None, 0.0, 1.0) is None


def test_a_committed_digest_shows_the_host_paced_last_forwards():
    rows = passes(TRACES / "l13bhalf.rank0.digest.json.gz", 24)
    assert len(rows) == 32 and all(r["host"] is None for r in rows)      # digested before host_buckets existed
    forwards = {r["micro_batch"]: r for r in rows if r["pass"] == "forward"}
    assert forwards[14]["idle_ms"] > 30 > 2 > forwards[5]["idle_ms"]
    assert forwards[14]["wall_ms"] > 2 * forwards[14]["compute_ms"]


def test_cli_table_and_bad_input():
    script = ROOT / "bench" / "engine" / "microbatch_walls.py"
    ok = subprocess.run([sys.executable, str(script), str(TRACES / "g27swap.rank0.digest.json.gz"),
                         str(ROOT / "bench/results/accuracy/h100n-auto-g27-1g-c24-s2048-b16-s47.plan.json")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.count("| forward |") == 8
    bad = subprocess.run([sys.executable, str(script), str(TRACES / "g27swap.rank0.digest.json.gz"), str(PLAN)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


class _FakeProfile:
    """What Tracer.write reads of a torch profiler: its chrome trace and key averages."""

    def __init__(self, events):
        self.events = events

    def export_chrome_trace(self, path):
        Path(path).write_text(json.dumps({"traceEvents": self.events}))

    def key_averages(self):
        return []


def test_a_tracers_filtered_trace_keeps_the_host_buckets_its_filter_drops(tmp_path):
    from bench.engine.trace_digest import write_digest
    from bench.runtime.trace_summary import Tracer

    events = [_op(1_000, 100), _op(7_000, 40, tid=2), _op(1_020, 5, cat="cuda_runtime", name="cudaLaunchKernel"),
              {"ph": "X", "cat": "kernel", "ts": 1_000, "dur": 9, "name": "k", "args": {"stream": 7}}]
    tracer = Tracer(tmp_path, "t", 0, cuda=True)
    tracer.prof, tracer.wall_s = _FakeProfile(events), 0.01
    trace = next(p for p in tracer.write() if p.name.endswith(".trace.json.gz"))
    kept = json.loads(gzip.decompress(trace.read_bytes()))
    assert all(e["cat"] != "cpu_op" for e in kept["traceEvents"])
    assert kept["hostBuckets"]["rows"] == [[0, "1", 1, 100.0, 1, 5.0], [1, "2", 1, 40.0, 0, 0.0]]
    plain = tmp_path / "t.json"
    plain.write_text(json.dumps(kept))
    assert write_digest(plain, tmp_path / "d.json.gz")["host_buckets"] == kept["hostBuckets"]


def test_a_committed_digest_with_host_buckets_puts_forwards_and_backwards_on_their_own_threads():
    rows = passes(ROOT / "bench" / "results" / "runtime" / "h100_partial_S50" / "l13bhalf3.rank0.digest.json.gz", 24)
    forward = {r["host"]["thread"] for r in rows if r["pass"] == "forward"}
    backward = {r["host"]["thread"] for r in rows if r["pass"] == "backward"}
    assert len(forward) == len(backward) == 1 and forward != backward   # Python thread, autograd's device thread
    forwards = [r for r in rows if r["pass"] == "forward"]
    assert all(r["host"]["ops_ms"] > r["compute_ms"] and r["idle_ms"] > 10 for r in forwards)  # host-paced (S50-7)
