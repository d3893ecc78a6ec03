#!/usr/bin/env python3
"""Where a plan's device memory goes beyond what it allocates: launch/train.py with the caching
allocator's history recorded (torch.cuda.memory._record_memory_history) over its timed loop.

    python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 \\
        bench/engine/alloc_frag.py --out $OUT/frag --plan plan.json --steps 3 --warmup 1 \\
        --report $OUT/frag/run.json --hardware h200 [--d2h-queue-gib 3 | --d2h-queue-blocks 0] [--reload-slabs 0]

Everything after alloc_frag's own options goes to mist_ds.runtime.rank (launch/train.py's
options), which runs unchanged; `--d2h-queue-gib`, `--d2h-queue-blocks` and `--reload-slabs` are handed to
every mistpipe engine it builds (build_mistpipe_engine's d2h_queue_bytes, d2h_queue_blocks and num_reload_slabs; default:
the engine's own). Each rank writes `--out/alloc_frag.rank{R}.json`, also when its run fails (an
out-of-memory error, say), and prints one line; it holds:
- the allocator's counters at the end: max_memory_allocated / max_memory_reserved,
  num_alloc_retries, num_ooms, the peaks of active, inactive-split and requested bytes;
- from the recorded trace, a timeline of allocated, reserved and pending-free bytes (a block freed
  while another stream still uses it, record_stream, waits in the allocator: reserved, not
  allocated), their peaks (pending also per stream, by name), the peak of reserved - allocated and
  what was pending then, and the segments released mid-run (release_cached_blocks: what a
  retry frees) - with a down-sampled series for plots;
- a segment snapshot (torch.cuda.memory_snapshot) taken in the last step when the stage's hooks
  (a block's forward end or backward start) saw reserved memory at its highest: reserved, allocated,
  pending and free bytes per stream and the largest free hole of each segment;
- the stage runtime's counters (reload slabs, d2h queue peak, ...: StageRuntime.stats);
- what was allocated at the history's allocated peak, by allocation site (live_at_peak: the innermost
  mist_ds / DeepSpeed frames of each live block's Python stack), beside the bytes allocated before the
  history began. With --history-from-build the history starts before the model is built, so the
  model's states, DeepSpeed's buffers and everything else the run allocates are attributed too
  (stock DeepSpeed plans as well as mistpipe ones);
- the requests that grew reserved memory past its earlier maximum (reserved_growth: each segment the
  allocator mapped or allocated to a new high, the request that needed it with its size and allocation
  site, allocated memory and the free bytes already reserved then), the largest growths first: which
  request a hole forced the allocator to grow for.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from itertools import islice
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GIB = 2**30
MAX_POINTS = 1500
ADD = {"alloc": ("allocated", 1), "free_requested": ("allocated", -1),
       "segment_alloc": ("reserved", 1), "segment_map": ("reserved", 1),
       "segment_free": ("reserved", -1), "segment_unmap": ("reserved", -1)}


def replay(trace: list[dict], allocated: int, reserved: int, names: dict[int, str]) -> dict:
    """Allocated, reserved and pending-free bytes after each event of one device's trace, from the
    values at its start (pending taken as 0 there): their peaks, pending per stream at its peak,
    the largest reserved - allocated gap with what was pending then, the segments released mid-run,
    and at most MAX_POINTS (time_us, allocated, reserved, pending) points."""
    level = {"allocated": allocated, "reserved": reserved, "pending": 0}
    by_stream: dict[str, int] = {}
    peak = {"allocated": allocated, "reserved": reserved, "pending": 0}
    peak_by_stream: dict[str, int] = {}
    gap = {"bytes": reserved - allocated, "pending": 0, "time_us": None}
    released = {"count": 0, "bytes": 0}
    series = []
    step = max(1, len(trace) // MAX_POINTS)
    for index, entry in enumerate(trace):
        action, size = entry.get("action"), int(entry.get("size", 0))
        stream = names.get(int(entry.get("stream", 0) or 0), str(entry.get("stream")))
        if action in ADD:
            kind, sign = ADD[action]
            level[kind] += sign * size
        if action in ("segment_free", "segment_unmap"):
            released["count"] += 1
            released["bytes"] += size
        if action in ("free_requested", "free_completed"):
            sign = 1 if action == "free_requested" else -1
            level["pending"] += sign * size
            by_stream[stream] = by_stream.get(stream, 0) + sign * size
            if action == "free_requested" and by_stream[stream] > peak_by_stream.get(stream, 0):
                peak_by_stream[stream] = by_stream[stream]
        for kind in peak:
            peak[kind] = max(peak[kind], level[kind])
        if level["reserved"] - level["allocated"] > gap["bytes"]:
            gap = {"bytes": level["reserved"] - level["allocated"], "pending": level["pending"],
                   "time_us": entry.get("time_us")}
        if index % step == 0:
            series.append((entry.get("time_us"), level["allocated"], level["reserved"], level["pending"]))
    return {"peak_bytes": peak, "peak_pending_by_stream": peak_by_stream, "largest_gap": gap,
            "released_segments": released, "num_events": len(trace), "series": series}


GROWS = ("segment_alloc", "segment_map")


def reserved_growth(trace: list[dict], allocated: int, reserved: int, top: int = 20) -> dict:
    """Every event of one device's trace that took reserved memory past its earlier maximum, from the levels
    at the trace's start: the bytes above that maximum, the request that needed the segment (the next
    'alloc': its size and allocation_site), allocated memory before it and the reserved-but-free bytes then
    (a request larger than every hole among them grows the segment). The `top` largest by bytes above the
    maximum, in trace order, and the sum of all."""
    level_alloc, level_res, high = allocated, reserved, reserved
    events = []
    for index, entry in enumerate(trace):
        action, size = entry.get("action"), int(entry.get("size", 0))
        if action in ADD:
            kind, sign = ADD[action]
            before_alloc, before_res = level_alloc, level_res
            level_alloc += sign * size if kind == "allocated" else 0
            level_res += sign * size if kind == "reserved" else 0
            if action in GROWS and level_res > high:
                request = next((e for e in islice(trace, index + 1, None) if e.get("action") == "alloc"), {})
                events.append({"time_us": entry.get("time_us"), "above_max_bytes": level_res - high,
                               "reserved_after": level_res, "allocated_before": before_alloc,
                               "free_before": before_res - before_alloc,
                               "request_bytes": int(request.get("size", 0)),
                               "request_site": allocation_site(request.get("frames") or entry.get("frames") or [])})
                high = level_res
    largest = sorted(range(len(events)), key=lambda i: -events[i]["above_max_bytes"])[:top]
    return {"events": len(events), "bytes_above_start": high - reserved,
            "largest": [events[i] for i in sorted(largest)]}


OWNED = (os.sep + "mist_ds" + os.sep, os.sep + "deepspeed" + os.sep)
SITE_FRAMES = 2  # owned frames that name a site: where the block was allocated and its caller


def allocation_site(frames: list[dict]) -> str:
    """The innermost SITE_FRAMES frames of mist_ds or DeepSpeed in an allocation's Python stack (torch
    records it innermost first), 'file:line function' joined by ' < '; else its innermost frame."""
    owned = [f for f in frames if any(owner in f.get("filename", "") for owner in OWNED)][:SITE_FRAMES]
    picked = owned or frames[:1]
    if not picked:
        return "<no python stack>"
    return " < ".join(f"{_short_path(f.get('filename', ''))}:{f.get('line')} {f.get('name')}" for f in picked)


def _short_path(filename: str) -> str:
    for owner in OWNED:
        if owner in filename:
            return owner.strip(os.sep) + os.sep + filename.split(owner, 1)[1]
    return filename


def live_at_peak(trace: list[dict], allocated: int, top: int = 25) -> dict:
    """The blocks allocated (alloc, not yet free_requested) when the trace's allocated level peaked,
    summed by allocation_site, the `top` largest sites first; `allocated` is the level when the history
    began, which no site accounts for."""
    level, peak, peak_index = allocated, allocated, -1
    for index, entry in enumerate(trace):
        action = entry.get("action")
        if action in ("alloc", "free_requested"):
            level += int(entry.get("size", 0)) * (1 if action == "alloc" else -1)
            if level > peak:
                peak, peak_index = level, index
    live: dict[int, tuple[int, str]] = {}
    for entry in trace[: peak_index + 1]:
        if entry.get("action") == "alloc":
            live[entry["addr"]] = (int(entry.get("size", 0)), allocation_site(entry.get("frames") or []))
        elif entry.get("action") == "free_requested":
            live.pop(entry["addr"], None)
    sites: dict[str, list[int]] = {}
    for size, site in live.values():
        row = sites.setdefault(site, [0, 0])
        row[0] += size
        row[1] += 1
    ranked = sorted(sites.items(), key=lambda item: -item[1][0])
    return {"peak_allocated": peak, "before_history": allocated,
            "time_us": trace[peak_index].get("time_us") if peak_index >= 0 else None,
            "sites": [{"site": site, "bytes": size, "blocks": count} for site, (size, count) in ranked[:top]],
            "other_sites_bytes": sum(size for _, (size, _) in ranked[top:])}


def segment_summary(segments: list[dict], names: dict[int, str], top: int = 24) -> dict:
    """Per stream: reserved, allocated, pending-free and free bytes; per segment (the `top` largest):
    its stream, size, allocated bytes and largest free hole."""
    streams: dict[str, dict[str, int]] = {}
    rows = []
    for segment in segments:
        stream = names.get(int(segment.get("stream", 0) or 0), str(segment.get("stream")))
        sizes = {"active_allocated": 0, "active_pending_free": 0, "inactive": 0}
        largest = 0
        for block in segment.get("blocks", ()):
            state = block.get("state", "inactive")
            sizes[state] = sizes.get(state, 0) + int(block["size"])
            if state == "inactive":
                largest = max(largest, int(block["size"]))
        total = int(segment.get("total_size", 0))
        row = streams.setdefault(stream, {"reserved": 0, "allocated": 0, "pending_free": 0, "free": 0,
                                          "largest_hole": 0, "segments": 0})
        row["reserved"] += total
        row["allocated"] += sizes["active_allocated"]
        row["pending_free"] += sizes["active_pending_free"]
        row["free"] += sizes["inactive"]
        row["largest_hole"] = max(row["largest_hole"], largest)
        row["segments"] += 1
        rows.append({"stream": stream, "total": total, "allocated": sizes["active_allocated"],
                     "pending_free": sizes["active_pending_free"], "free": sizes["inactive"],
                     "largest_hole": largest, "blocks": len(segment.get("blocks", ())),
                     "expandable": bool(segment.get("is_expandable", False))})
    rows.sort(key=lambda r: -r["total"])
    return {"by_stream": streams, "largest_segments": rows[:top], "num_segments": len(rows)}


def stream_names(engine) -> dict[int, str]:
    """cuda stream handle -> the name the mistpipe engine gives it (streams.py); 'compute' for
    the current stream."""
    import torch

    names = {torch.cuda.current_stream().cuda_stream: "compute"}
    runtime = getattr(engine, "stage_runtime", None)
    for name, stream in (getattr(runtime.streams, "_streams", {}) if runtime else {}).items():
        names.setdefault(stream.cuda_stream, name)
    return names


class Recorder:
    """Records one rank's run: the history over the timed loop, the peak snapshot of its last step."""

    def __init__(self, out: Path, options: dict, from_build: bool = False):
        self.out, self.options = out, options
        self.result: dict = {}
        self.snapshot = None
        self.best = -1
        self.last_step = None
        self.start = (0, 0)  # allocated and reserved bytes when the history starts
        self.from_build, self.recording = from_build, False

    def start_history(self) -> None:
        """Record the allocator's history from now on, with Python stacks."""
        import torch

        torch.cuda.synchronize()
        self.start = (torch.cuda.memory_allocated(), torch.cuda.memory_reserved())
        # context "alloc": a traceback per allocation (context None records none: S17-2's live_at_peak
        # came back as one "<no python stack>" site)
        torch.cuda.memory._record_memory_history(enabled="all", context="alloc", stacks="python",
                                                 max_entries=5_000_000)
        self.recording = True

    def watch(self, runtime, last: int) -> None:
        """Snapshot the segments at block boundaries of step `last` when reserved is at a new high."""
        import torch

        def probe(where, original, *args):
            out = original(*args)
            if self.last_step == last and torch.cuda.memory_reserved() > self.best:
                self.best = torch.cuda.memory_reserved()
                self.snapshot = {"where": f"{where} {args[0]}", "reserved": self.best,
                                 "allocated": torch.cuda.memory_allocated(),
                                 "segments": torch.cuda.memory_snapshot()}
            return out
        for name in ("backward_begin", "_forward_end"):
            setattr(runtime, name, partial(probe, name, getattr(runtime, name)))

    def collect(self, rt) -> dict:
        import torch
        import torch.distributed as dist

        runtime = getattr(rt.engine, "stage_runtime", None)
        if not torch.cuda.is_available():  # a CPU smoke run (DS_ACCELERATOR=cpu): the stage's counters
            return {"rank": dist.get_rank(), "stage": getattr(rt.engine, "stage_id", None),
                    "options": self.options, "stage_stats": runtime.stats() if runtime is not None else None}
        names = stream_names(rt.engine)
        trace = torch.cuda.memory._snapshot().get("device_traces", [[]])[torch.cuda.current_device()]
        torch.cuda.memory._record_memory_history(enabled=None)
        stats = torch.cuda.memory_stats()
        return {
            "rank": dist.get_rank(), "stage": getattr(rt.engine, "stage_id", None), "options": self.options,
            "max_memory_allocated": torch.cuda.max_memory_allocated(),
            "max_memory_reserved": torch.cuda.max_memory_reserved(),
            "num_alloc_retries": stats.get("num_alloc_retries", 0), "num_ooms": stats.get("num_ooms", 0),
            "peaks": {k: stats.get(f"{k}.all.peak", 0) for k in ("active_bytes", "inactive_split_bytes",
                                                               "requested_bytes", "segment")},
            "timeline": replay(trace, *self.start, names),
            "live_at_peak": live_at_peak(trace, self.start[0]),
            "reserved_growth": reserved_growth(trace, *self.start),
            "peak_snapshot": None if self.snapshot is None else {
                **{k: v for k, v in self.snapshot.items() if k != "segments"},
                **segment_summary(self.snapshot["segments"], names)},
            "stage_stats": runtime.stats() if runtime is not None else None,
            "stream_names": {str(k): v for k, v in names.items()},
        }

    def write(self, mine: dict, rank: int) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"alloc_frag.rank{rank}.json").write_text(json.dumps(mine, indent=1))
        if "timeline" not in mine:
            print(f"[alloc_frag] rank {rank}: {mine['stage_stats']}", flush=True)
            return
        peak = mine["timeline"]["peak_bytes"]
        print(f"[alloc_frag] rank {rank}: allocated {mine['max_memory_allocated'] / GIB:.2f} reserved "
              f"{mine['max_memory_reserved'] / GIB:.2f} GiB, retries {mine['num_alloc_retries']}, peak "
              f"pending-free {peak['pending'] / GIB:.2f} GiB by stream "
              f"{ {k: round(v / GIB, 2) for k, v in mine['timeline']['peak_pending_by_stream'].items()} }",
              flush=True)

    def install(self) -> None:
        """Wrap trainer.run_steps (history on, then collect and write) and train_step (step index)."""
        import torch
        import torch.distributed as dist

        from mist_ds.runtime import trainer

        inner_step, inner_steps = trainer.train_step, trainer.run_steps

        def train_step(plan, rt, source, index):
            self.last_step = index
            return inner_step(plan, rt, source, index)

        def run_steps(plan, rt, source, steps, *args, **kwargs):
            runtime = getattr(rt.engine, "stage_runtime", None)
            if torch.cuda.is_available():
                if runtime is not None:
                    self.watch(runtime, steps - 1)
                if not self.recording:
                    self.start_history()
            try:
                return inner_steps(plan, rt, source, steps, *args, **kwargs)
            finally:
                try:
                    self.write(self.collect(rt), dist.get_rank())
                except Exception as err:  # never hide the run's own error behind ours
                    print(f"[alloc_frag] rank {dist.get_rank()}: no summary: {type(err).__name__}: {err}",
                          file=sys.stderr, flush=True)

        trainer.train_step, trainer.run_steps = train_step, run_steps
        if self.from_build and torch.cuda.is_available():  # before the model exists: on this rank's GPU
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            self.start_history()


def engine_options(args) -> dict:
    """build_mistpipe_engine keywords from alloc_frag's options (only those given)."""
    options = {}
    if args.d2h_queue_gib is not None:
        options["d2h_queue_bytes"] = int(args.d2h_queue_gib * GIB)
    if args.d2h_queue_blocks is not None:
        options["d2h_queue_blocks"] = args.d2h_queue_blocks
    if args.reload_slabs is not None:
        options["num_reload_slabs"] = args.reload_slabs
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for alloc_frag.rank{R}.json")
    parser.add_argument("--d2h-queue-gib", type=float, default=None,
                        help="engine d2h_queue_bytes in GiB (default: the engine's bound in blocks)")
    parser.add_argument("--d2h-queue-blocks", type=int, default=None,
                        help="engine d2h_queue_blocks (0: the allocator holds the copies' sources; default: the engine's)")
    parser.add_argument("--history-from-build", action="store_true",
                        help="record the allocator's history from before the model is built, "
                             "not from the first step")
    parser.add_argument("--reload-slabs", type=int, default=None,
                        help="engine num_reload_slabs (0: a buffer per reload; default: the engine's)")
    args, rest = parser.parse_known_args()
    options = engine_options(args)
    if options:
        from mist_ds.runtime.mistpipe import engine

        engine.build_mistpipe_engine = partial(engine.build_mistpipe_engine, **options)
    if "d2h_queue_blocks" in options:  # the RunReport records the bound the engine really ran with
        from mist_ds.runtime import reporting

        reporting.recorded_queue_blocks = lambda plan, blocks=options["d2h_queue_blocks"]: blocks
    Recorder(Path(args.out), options, args.history_from_build).install()
    from mist_ds.runtime.rank import main as rank_main

    rank_main(rest)


if __name__ == "__main__":
    main()
