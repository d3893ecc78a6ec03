#!/usr/bin/env python3
"""Would a run's start probe of host speed explain its time error? (CPU only; prints markdown; a what-if, nothing
in mist_ds changes.)

    PYTHONPATH=$PWD python bench/accuracy/probe_scaled.py   # after `make accuracy`

Every scored run that recorded RunReport.host_probe_s (a fixed pure-Python workload timed before the first step,
runtime/host_clock.py) is re-predicted with its profile's host-thread terms (host_sensitivity.py HOST_TERMS) scaled
by its probe over the median probe of its node kind's runs, and its time error is set beside the shipped one. If the
probe measured the speed the training thread then ran at, the scaled errors would be smaller.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.host_paced import ROOT  # noqa: E402
from bench.accuracy.host_sensitivity import iteration_s  # noqa: E402
from bench.accuracy.report import RESULTS  # noqa: E402
from mist_ds.config import RunReport  # noqa: E402


def probed_runs(accuracy: Path) -> list[tuple[dict, RunReport, float]]:
    """(report row, run, its ranks' median probe) of every scored run that ran and recorded a probe."""
    out = []
    for row in json.loads(accuracy.read_text())["runs"]:
        if row["status"] == "ok" and row["targeted"]:
            run = RunReport.load(ROOT / row["run_path"])
            if run.host_probe_s:
                out.append((row, run, statistics.median(run.host_probe_s)))
    return out


def scaled_error(row: dict, factor: float, cache: dict) -> float:
    """The run's time error with its profile's host-thread terms x factor (host_sensitivity.py iteration_s)."""
    return iteration_s(row, factor, cache) / row["measured_s"] - 1


def table(accuracy: Path) -> list[str]:
    runs = probed_runs(accuracy)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for row, _, probe in runs:
        by_kind[row["hardware"]].append(probe)
    reference = {kind: statistics.median(probes) for kind, probes in by_kind.items()}
    cache: dict = {}
    shipped = [abs(row["time_error"]) for row, _, _ in runs]
    scaled = [abs(scaled_error(row, probe / reference[row["hardware"]], cache)) for row, _, probe in runs]
    refs = ", ".join(f"{kind} {ref * 1e3:.1f} ms ({len(by_kind[kind])} runs)"
                     for kind, ref in sorted(reference.items()))
    return [f"{len(runs)} runs with a probe; median probe by node kind: {refs}.", "",
            "| host-thread terms | median |time error| | max |", "|---|---|---|",
            f"| shipped | {statistics.median(shipped):.1%} | {max(shipped):.1%} |",
            f"| x probe / node median | {statistics.median(scaled):.1%} | {max(scaled):.1%} |"]


if __name__ == "__main__":
    print("\n".join(table(RESULTS / "accuracy.json")))
