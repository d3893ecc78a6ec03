"""bench/engine/alloc_frag.py's summaries of the caching allocator's trace and segment snapshot
(the GPU run itself is the lead's: bench/calls/s7_call_actpool.sh)."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from bench.engine.alloc_frag import engine_options, replay, segment_summary
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
