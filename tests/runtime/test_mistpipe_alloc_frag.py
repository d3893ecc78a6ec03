"""bench/engine/alloc_frag.py's summaries of the caching allocator's trace and segment snapshot
(the GPU run itself is the lead's: bench/calls/s7_call_actpool.sh)."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from bench.engine.alloc_frag import (allocation_site, engine_options, live_at_peak, replay, reserved_growth,
                                     segment_summary)
from mist_ds.config import Plan
from mist_ds.runtime.mistpipe.actoffload import QUEUE_BLOCKS, recorded_queue_blocks

NAMES = {1: "compute", 2: "act_h2d"}


def test_replay_separates_pending_frees_from_allocated_memory():
    trace = [{"action": "segment_map", "size": 1000, "stream": 1},
             {"action": "alloc", "size": 400, "stream": 1},
             {"action": "alloc", "size": 300, "stream": 2},
             {"action": "free_requested", "size": 400, "stream": 1},  # used by another stream: waits
             {"action": "free_requested", "size": 300, "stream": 2},
             {"action": "free_completed", "size": 300, "stream": 2},
             {"action": "segment_map", "size": 500, "stream": 1, "time_us": 7},  # grows meanwhile
             {"action": "free_completed", "size": 400, "stream": 1},
             {"action": "segment_unmap", "size": 500, "stream": 1}]  # what a retry releases
    out = replay(trace, allocated=100, reserved=200, names=NAMES)
    assert out["peak_bytes"] == {"allocated": 800, "reserved": 1700, "pending": 700}
    assert out["peak_pending_by_stream"] == {"compute": 400, "act_h2d": 300}
    assert out["largest_gap"] == {"bytes": 1600, "pending": 400, "time_us": 7}
    assert out["released_segments"] == {"count": 1, "bytes": 500} and len(out["series"]) == len(trace)


def test_segment_summary_finds_each_streams_largest_free_hole():
    segments = [{"stream": 1, "total_size": 1000, "is_expandable": True, "blocks": [
                    {"size": 300, "state": "active_allocated"}, {"size": 200, "state": "inactive"},
                    {"size": 100, "state": "active_pending_free"}, {"size": 400, "state": "inactive"}]},
                {"stream": 2, "total_size": 512, "blocks": [{"size": 512, "state": "active_allocated"}]}]
    out = segment_summary(segments, NAMES)
    assert out["by_stream"]["compute"] == {"reserved": 1000, "allocated": 300, "pending_free": 100,
                                           "free": 600, "largest_hole": 400, "segments": 1}
    assert out["by_stream"]["act_h2d"]["largest_hole"] == 0
    assert [r["total"] for r in out["largest_segments"]] == [1000, 512]


def test_the_run_records_the_d2h_bound_it_ran_with():
    """RunReport.d2h_queue_blocks: the engine's default for a mistpipe plan that offloads activations (what
    launch/train.py builds), None for a stock plan; alloc_frag.py hands its --d2h-queue-blocks to the engine."""
    results = Path(__file__).resolve().parents[2] / "bench" / "results"
    mistpipe = Plan.load(results / "engine" / "l7c24_ga8" / "mistpipe_ga8.plan.json")
    stock = Plan.load(results / "plan_quality" / "llama7b-2g-c78-s4096-b32.plan.json")
    assert recorded_queue_blocks(mistpipe) == QUEUE_BLOCKS == 4 and recorded_queue_blocks(stock) is None
    assert engine_options(Namespace(d2h_queue_gib=None, d2h_queue_blocks=0, reload_slabs=None)) == {
        "d2h_queue_blocks": 0}


def _frames(*names):
    return [{"filename": f"/x/site-packages/{path}", "line": line, "name": name} for path, line, name in names]


def test_live_at_peak_sums_the_blocks_live_at_the_allocated_peak_by_site():
    """Blocks freed before the peak do not count, blocks allocated after it do not either; a site is the
    innermost two mist_ds / DeepSpeed frames (torch's own frames skipped), else the innermost frame."""
    grad = _frames(("torch/autograd/graph.py", 5, "backward"), ("deepspeed/runtime/zero/stage3.py", 10, "reduce"),
                   ("deepspeed/runtime/engine.py", 20, "backward"), ("mist_ds/runtime/trainer.py", 30, "step"))
    act = _frames(("torch/nn/functional.py", 1, "linear"), ("mist_ds/runtime/blocks.py", 40, "forward"))
    trace = [{"action": "alloc", "addr": 1, "size": 300, "frames": act},
             {"action": "alloc", "addr": 2, "size": 200, "frames": grad},
             {"action": "alloc", "addr": 3, "size": 100, "frames": act},
             {"action": "free_requested", "addr": 1, "size": 300},
             {"action": "alloc", "addr": 4, "size": 400, "frames": grad, "time_us": 9},   # the peak: 700 + 50
             {"action": "free_requested", "addr": 4, "size": 400},
             {"action": "alloc", "addr": 5, "size": 240, "frames": []}]                   # after it
    out = live_at_peak(trace, allocated=50)
    assert (out["peak_allocated"], out["before_history"], out["time_us"]) == (750, 50, 9)
    assert [(r["site"], r["bytes"], r["blocks"]) for r in out["sites"]] == [
        ("deepspeed/runtime/zero/stage3.py:10 reduce < deepspeed/runtime/engine.py:20 backward", 600, 2),
        ("mist_ds/runtime/blocks.py:40 forward", 100, 1)]
    assert allocation_site(_frames(("torch/x.py", 3, "f"))) == "/x/site-packages/torch/x.py:3 f"
    assert allocation_site([]) == "<no python stack>"


def test_reserved_growth_names_the_requests_that_grew_reserved_memory_past_its_maximum():
    head = _frames(("mist_ds/runtime/wgrad.py", 60, "linear"), ("mist_ds/runtime/tp.py", 138, "forward"))
    act = _frames(("mist_ds/runtime/blocks.py", 100, "forward"), ("mist_ds/runtime/blocks.py", 165, "_forward"))
    trace = [{"action": "segment_map", "size": 600, "time_us": 1},            # 100 -> 700: a new high
             {"action": "alloc", "size": 500, "frames": head},
             {"action": "free_requested", "size": 500},                        # a 500-byte hole ...
             {"action": "alloc", "size": 300, "frames": act},                   # ... split by 300
             {"action": "segment_map", "size": 300, "time_us": 2},             # 700 -> 1000: a new high
             {"action": "alloc", "size": 500, "frames": head},                  # 500 no longer fits the 200 left
             {"action": "segment_unmap", "size": 400},                          # a retry releases 400 ...
             {"action": "segment_map", "size": 350, "time_us": 3},             # ... 950: no new high
             {"action": "alloc", "size": 350}]
    out = reserved_growth(trace, allocated=0, reserved=100)
    assert out["events"] == 2 and out["bytes_above_start"] == 900
    first, second = out["largest"]
    assert (first["time_us"], first["above_max_bytes"], first["request_bytes"]) == (1, 600, 500)
    assert second == {"time_us": 2, "above_max_bytes": 300, "reserved_after": 1000, "allocated_before": 300,
                      "free_before": 400, "request_bytes": 500,
                      "request_site": "mist_ds/runtime/wgrad.py:60 linear < mist_ds/runtime/tp.py:138 forward"}
    assert [e["time_us"] for e in reserved_growth(trace, 0, 100, top=1)["largest"]] == [1]   # the largest only
