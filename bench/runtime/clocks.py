#!/usr/bin/env python3
"""SM clock, power and throttle reasons per run of a GPU call, from the call's nvidia-smi log.

    python bench/runtime/clocks.py <call folder r/> [--busy-w 300] [--json OUT]

Reads `clocks.csv` (prefix.sh `clocklog`: nvidia-smi every 200 ms) and `runs.txt` ("<label> start|end
<UTC time>" lines written around each run) and summarises, per run, the samples drawing more than --busy-w
watts (the GPU computing: idle is ~80 W, start-up below 150 W): their count, median and 10th-percentile SM
clock, mean power, and the share of samples per active clocks-event reason (nvidia-smi's bit mask: 0x1 idle,
0x4 software power cap, 0x20 software thermal slowdown, 0x40 hardware thermal, 0x80 hardware power brake).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

REASONS = {0x1: "idle", 0x2: "applications clocks", 0x4: "sw power cap", 0x8: "hw slowdown",
           0x20: "sw thermal", 0x40: "hw thermal", 0x80: "hw power brake"}
"""nvidia-smi --help-query-gpu, clocks_event_reasons.*."""


def _time(text: str) -> datetime:
    return datetime.strptime(text.strip()[:26], "%Y/%m/%d %H:%M:%S.%f")


def samples(path: Path) -> list[dict]:
    rows = []
    with path.open() as fh:
        for row in csv.reader(fh):
            if len(row) < 7 or row[0].startswith("timestamp"):
                continue
            rows.append({"t": _time(row[0]), "gpu": int(row[1]), "sm_mhz": float(row[2].split()[0]),
                         "power_w": float(row[4].split()[0]), "temp_c": float(row[5]), "reasons": int(row[6], 16)})
    return rows


def windows(path: Path) -> dict[str, tuple[datetime, datetime]]:
    marks: dict[str, dict[str, datetime]] = {}
    for line in path.read_text().splitlines():
        label, kind, stamp = line.split(" ", 2)
        marks.setdefault(label, {})[kind] = _time(stamp)
    return {label: (m["start"], m["end"]) for label, m in marks.items() if {"start", "end"} <= m.keys()}


def summary(rows: list[dict]) -> dict:
    clocks = sorted(r["sm_mhz"] for r in rows)
    reasons = Counter(name for r in rows for bit, name in REASONS.items() if r["reasons"] & bit)
    return {"busy_samples": len(rows), "sm_mhz_median": statistics.median(clocks),
            "sm_mhz_p10": clocks[len(clocks) // 10], "power_w_mean": round(statistics.fmean(r["power_w"] for r in rows), 1),
            "temp_c_max": max(r["temp_c"] for r in rows),
            "reason_share": {k: round(v / len(rows), 3) for k, v in sorted(reasons.items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--busy-w", type=float, default=300.0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    try:
        rows, runs = samples(folder / "clocks.csv"), windows(folder / "runs.txt")
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    table = {}
    for label, (start, end) in runs.items():
        busy = [r for r in rows if start <= r["t"] <= end and r["power_w"] > args.busy_w]
        if busy:
            table[label] = summary(busy)
            s = table[label]
            print(f"{label}: {s['busy_samples']} busy samples, SM {s['sm_mhz_median']:.0f} MHz median "
                  f"({s['sm_mhz_p10']:.0f} p10), {s['power_w_mean']} W mean, {s['temp_c_max']:.0f} C max, "
                  f"reasons {s['reason_share']}")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
