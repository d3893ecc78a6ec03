#!/usr/bin/env python3
"""Sample the node's single-thread speed beside a run: a sidecar process, pinned to one core, that times
mist_ds.runtime.host_clock.host_probe_s (the probe every RunReport records once, before its first step)
every --interval seconds and appends `unix_time core probe_s cpu_mhz` lines to --out.

    python3 bench/runtime/host_speed_log.py --core 4 --interval 1 --out host_speed.core4.log &

bench/accuracy/HOST_JITTER.md: the probe moved 0.022-0.052 s between runs of one call, and one probe
before the first step did not follow a run's speed. A sidecar on another core tells whether the node's
cores slow down together (then it tracks a host-paced run's steps) or the training thread's core alone.
cpu_mhz is /proc/cpuinfo's figure for that core (static on many guests; logged, not trusted).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.runtime.host_clock import host_probe_s  # noqa: E402


def core_mhz(core: int) -> float | None:
    """/proc/cpuinfo's 'cpu MHz' of `core`, or None where the file does not say."""
    try:
        blocks = Path("/proc/cpuinfo").read_text().split("\n\n")
    except OSError:
        return None
    for block in blocks:
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        if fields.get("processor\t", fields.get("processor", "")).strip() == str(core):
            mhz = fields.get("cpu MHz\t\t", fields.get("cpu MHz", "")).strip()
            return float(mhz) if mhz else None
    return None


def sample_line(core: int) -> str:
    """One `unix_time core probe_s cpu_mhz` line."""
    probe = host_probe_s()
    mhz = core_mhz(core)
    return f"{time.time():.3f} {core} {probe:.5f} {'-' if mhz is None else f'{mhz:.0f}'}"


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="bench/runtime/host_speed_log.py", description=__doc__.splitlines()[0])
    parser.add_argument("--core", type=int, required=True, help="the core to pin this process to")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--samples", type=int, default=0, help="stop after this many (0: run until killed)")
    parser.add_argument("--out", required=True, help="file the lines are appended to")
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.samples < 0:
        parser.error("--interval must be > 0 and --samples >= 0")
    try:
        os.sched_setaffinity(0, {args.core})
    except (OSError, ValueError) as err:
        parser.error(f"cannot pin to core {args.core}: {err}")
    taken = 0
    with open(args.out, "a", buffering=1) as out:
        while not args.samples or taken < args.samples:
            out.write(sample_line(args.core) + "\n")
            taken += 1
            if not args.samples or taken < args.samples:
                time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
