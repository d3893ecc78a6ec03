#!/usr/bin/env python3
"""Time error of the scored mistpipe runs by the share of optimizer state their plans offload, per node profile
(CPU only; prints markdown).

    PYTHONPATH=$PWD python bench/accuracy/offload_share.py   # after `make accuracy`

Session 51 (issue 10) asked whether the H100 node's mistpipe shortfall (sessions 48-50: ratio-0.5 plans 3.5-5.1%
slower than priced, bench/results/runtime/h100_partial_S50/) follows the offload share: a plan's share is 'none'
(every stage keeps its optimizer state on the GPU), 'all' (every stage offloads all of it) or 'partial' (any other
mix: a device head updated by torch's AdamW beside a host tail, runtime/mistpipe/optimizer.py). Errors are
accuracy.json's, (predicted - measured) / measured: negative is slower than priced.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.report import RESULTS  # noqa: E402
from mist_ds.config import Plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHARES = ("none", "partial", "all")


def offload_share(plan: Plan) -> str:
    """'none', 'partial' or 'all' of the optimizer state offloaded, over the plan's stages."""
    ratios = {plan.stage_memory(i).offload_optimizer_ratio for i in range(plan.num_stages)}
    if ratios == {0.0}:
        return "none"
    return "all" if ratios == {1.0} else "partial"


def grouped(runs: list[dict], share_of) -> dict[tuple[str, str], list[dict]]:
    """The scored mistpipe runs that ran (accuracy.json `targeted`: in the issue-10 targets), by (node profile,
    offload share); `share_of(row)` gives a row's share."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in runs:
        if row["family"] == "mistpipe" and row["status"] == "ok" and row["targeted"]:
            groups[(row["hardware"], share_of(row))].append(row)
    return groups


def table(runs: list[dict], share_of) -> list[str]:
    """Markdown rows, one per (node profile, offload share) of grouped(runs, share_of): runs, distinct plans, the
    time error's median signed, median absolute and range, and how many ran slower than priced."""
    lines = ["| node profile | optimizer offloaded | runs | plans | time error, median signed | median abs | range | "
             "slower than priced |", "|---|---|---|---|---|---|---|---|"]
    groups = grouped(runs, share_of)
    for hardware, share in sorted(groups, key=lambda key: (key[0], SHARES.index(key[1]))):
        rows = groups[(hardware, share)]
        errors = [row["time_error"] for row in rows]
        slower = sum(error < 0 for error in errors)
        lines.append(f"| {hardware} | {share} | {len(rows)} | {len({row['plan_id'] for row in rows})} | "
                     f"{statistics.median(errors):+.1%} | {statistics.median(abs(e) for e in errors):.1%} | "
                     f"{min(errors):+.1%} .. {max(errors):+.1%} | {slower} of {len(rows)} |")
    return lines


def committed_share(row: dict) -> str:
    """offload_share of the committed plan a row of accuracy.json scored."""
    return offload_share(Plan.load(ROOT / row["plan_path"]))


if __name__ == "__main__":
    print("\n".join(table(json.loads((RESULTS / "accuracy.json").read_text())["runs"], committed_share)))
