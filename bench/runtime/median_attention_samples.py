#!/usr/bin/env python3
"""Per shape, the median of several measurements of attention samples (CPU only).

    python bench/runtime/median_attention_samples.py PROFILE LOG [LOG ...] [--passes-only] > merged.log

Each JSON list line of each LOG holds one pass's mist_ds.profile.compute.attention records
(bench/runtime/remeasure_attention.py prints one a pass). Per (batch, heads, kv heads, seq, head dim, causal) shape,
the forward and the backward time are each the median over PROFILE's own sample of that shape (when it has one) and
every pass's record of it: one profiler pass can read a shape 1.5-9x slow (session 62,
bench/results/runtime/attention_h100_S62/), which a median of three drops. --passes-only leaves PROFILE's samples out:
for passes timed otherwise than the profile was (remeasure_attention.py --gate-s; shipped profiles were timed ungated).
Prints the records as one JSON list line, bench/runtime/merge_attention_samples.py's input.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.runtime.merge_attention_samples import KEY, passes  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402


def median_records(groups: dict[tuple, list[dict]]) -> list[dict]:
    """One record per shape: its first record with the median forward and backward times of all of them."""
    out = []
    for records in groups.values():
        merged = dict(records[0])
        for field in ("fwd_time_s", "bwd_time_s"):
            merged[field] = statistics.median(r[field] for r in records)
        out.append(merged)
    return out


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("logs", type=Path, nargs="+")
    ap.add_argument("--passes-only", action="store_true", help="the LOGs' passes alone, not PROFILE's samples")
    args = ap.parse_args()
    groups: dict[tuple, list[dict]] = {}
    try:
        samples = load_hardware(args.profile).attention_samples
        for log in args.logs:
            for record in (r for records in passes(log) for r in records):
                groups.setdefault(tuple(record[k] for k in KEY), []).append(record)
    except (OSError, ValueError, KeyError) as e:  # json.JSONDecodeError is a ValueError
        ap.error(f"{type(e).__name__}: {e}")
    if not groups:
        ap.error("no JSON list of attention records in " + ", ".join(map(str, args.logs)))
    for sample in () if args.passes_only else samples:
        key = tuple(getattr(sample, k) for k in KEY)
        if key in groups:
            groups[key].append(sample.model_dump())
    print(json.dumps(median_records(groups)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
