"""The host side of each training step: Python garbage-collection pauses, the host's single-thread
speed, and the garbage-collection policy the steps run under (`launch/train.py --gc`).

Why: plans whose pace is set by the host (ZeRO-3's per-parameter hooks on one GPU, small micro-batches)
moved -20% to +33% between machine calls, and their timed steps spread as much within one run
(bench/accuracy/ZERO3_DP1.md section 10). Two host-side causes a run can measure are CPython's cyclic
garbage collector, which pauses the training thread whenever its allocation counters trip, and the
speed of the core the training thread runs on (host_probe_s: a fixed pure-Python workload timed before
the first step; the thread's CPU time per step would not do, since CUDA's default
synchronisation spins, so a waiting thread burns CPU time too).

Policies (GC_MODES):
  'auto'   - CPython's default: automatic collection by generation thresholds (gc.get_threshold()).
  'manual' - what torchtitan (torchtitan/tools/utils.py GarbageCollection, job option training.gc_freq)
             and Megatron-LM (--manual-gc, --manual-gc-interval) do against such jitter: after the model
             is built, one full collection, then gc.freeze() moves every surviving object to the
             permanent generation (never scanned again) and automatic collection is disabled; a full
             gc.collect() runs inside the timed step every `interval` steps, so its cost is measured,
             and cycles made during training are still freed.
DeepSpeed 0.19's ds_config key `disable_python_gc` (runtime/python_gc.py, called from the engine's
_configure_python_gc) does the disabling part alone: one collection at engine start-up, then none unless the
script calls engine.collect_python_gc(). 'manual' adds the freeze, which keeps a periodic full collection from
scanning the whole model again, and the periodic collection, and it is applied around the steps, so it holds
for every executor (mistpipe builds its engine itself). A ds_config that sets the key is run as written.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field

GC_MODES = ("auto", "manual")
DEFAULT_GC_INTERVAL = 50
"""Steps between the manual policy's collections: torchtitan's default training.gc_freq."""


@dataclass
class StepHost:
    """Measures every step's garbage-collection pause and the host's speed, and applies the
    garbage-collection policy. Use: start() after the model is built, around each step
    before_step(i) / after_step(), then stop()."""

    mode: str = "auto"
    """One of GC_MODES."""
    interval: int = DEFAULT_GC_INTERVAL
    """'manual': a full collection before steps interval, 2 * interval, ... (inside the step's timing)."""
    gc_pause_s: list[float] = field(default_factory=list)
    """Per step: seconds the collector held this thread (automatic and manual collections)."""
    steal_s: list[float] = field(default_factory=list)
    """Per step: the node's steal time over the step divided by its CPU count (seconds per CPU); empty
    where /proc/stat cannot be read."""
    probe_s: float | None = None
    """host_probe_s() at start(), before the first step."""
    startup_s: float | None = None
    """process_age_s() at start(): seconds from this process's start to just before its first step (None:
    not measured)."""
    _paused: float = 0.0
    _gc_began: float | None = None
    _step_began: float = 0.0
    _steal_began: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in GC_MODES:
            raise ValueError(f"gc mode must be one of {GC_MODES}, not {self.mode!r}")
        if self.interval < 1:
            raise ValueError(f"gc interval must be >= 1, not {self.interval}")

    def label(self) -> str:
        """RunReport.gc_mode: 'auto' or 'manual:<interval>'."""
        return self.mode if self.mode == "auto" else f"{self.mode}:{self.interval}"

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
        elif self._gc_began is not None:
            self._paused += time.perf_counter() - self._gc_began
            self._gc_began = None

    def start(self) -> "StepHost":
        self.startup_s = process_age_s()
        self.probe_s = host_probe_s()
        gc.callbacks.append(self._on_gc)
        if self.mode == "manual":
            gc.collect()
            gc.freeze()
            gc.disable()
        return self

    def before_step(self, step: int) -> None:
        self._step_began = self._paused
        self._steal_began = steal_per_cpu_s()
        if self.mode == "manual" and step > 0 and step % self.interval == 0:
            gc.collect()

    def after_step(self) -> None:
        self.gc_pause_s.append(self._paused - self._step_began)
        steal = steal_per_cpu_s()
        if steal is not None and self._steal_began is not None:
            self.steal_s.append(steal - self._steal_began)

    def stop(self) -> None:
        """Remove the measurement hook and restore automatic collection (the frozen objects stay frozen:
        unfreezing would make the next collection scan the whole model again)."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self.mode == "manual":
            gc.enable()


def steal_per_cpu_s(stat: str = "/proc/stat") -> float | None:
    """The node's total steal time since boot divided by its CPU count, seconds (None where the file
    cannot be read, e.g. not Linux). proc(5): the aggregate 'cpu' line's 8th value, in USER_HZ ticks."""
    try:
        with open(stat) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    fields = lines[0].split() if lines else []
    cpus = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    if len(fields) < 9 or fields[0] != "cpu" or not cpus:
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") / cpus


PROBE_ITEMS = 200_000
PROBE_REPEATS = 3


def _probe_work(items: int) -> int:
    """Dictionary stores, tuple and string building, integer arithmetic: the kind of interpreter work a
    hook-driven step does per parameter."""
    table: dict[int, tuple[int, str]] = {}
    for i in range(items):
        table[i & 1023] = (i, str(i & 7))
    return len(table)


def process_age_s() -> float | None:
    """Seconds since this process started (psutil's create_time, which DeepSpeed itself requires): for a
    rank the launcher spawned, its interpreter start, imports, process-group set-up, host checks, the copy
    probe and the model and engine build so far. None where psutil cannot tell."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except (ImportError, OSError):
        return None


def host_probe_s(items: int = PROBE_ITEMS, repeats: int = PROBE_REPEATS) -> float:
    """Seconds of the fastest of `repeats` runs of a fixed pure-Python workload on this thread (about
    20-60 ms on a current server core): the host's single-thread speed, comparable between runs of one
    Python version; garbage collection is off while it runs, so only the core's speed is timed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        best = float("inf")
        for _ in range(repeats):
            began = time.perf_counter()
            _probe_work(items)
            best = min(best, time.perf_counter() - began)
        return best
    finally:
        if enabled:
            gc.enable()
