#!/usr/bin/env python3
"""Merge measured attention samples into shipped hardware profiles (CPU only).

    python bench/runtime/merge_attention_samples.py LOG PROFILE.json [PROFILE.json ...] --note TEXT [--new-shapes-only]

LOG's last JSON list line holds mist_ds.profile.compute.attention records (the profiler's own measurement,
e.g. bench/results/runtime/attention_batch_S27/attention_batch.log). A record replaces a profile sample of the
same (batch, heads, kv heads, seq, head dim, causal) or is added (--new-shapes-only: only added, the profile's own
samples kept, e.g. where LOG was timed on another machine than the profile's samples); the profile's provenance notes
get TEXT.
Writes each profile in place (atomically), sorted as before: by seq, batch, heads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.fileio import write_text_atomic  # noqa: E402

KEY = ("batch", "num_heads", "num_kv_heads", "seq_len", "head_dim", "causal")


def passes(log: Path) -> list[list[dict]]:
    """Every JSON list line of `log` (bench/runtime/remeasure_attention.py prints one a pass)."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("[{")]


def measured(log: Path) -> list[dict]:
    """The records of `log`'s last pass."""
    found = passes(log)
    if not found:
        raise SystemExit(f"{log}: no JSON list of attention records")
    return found[-1]


def merge(profile: dict, records: list[dict], note: str, new_shapes_only: bool = False) -> dict:
    samples = {tuple(s[k] for k in KEY): s for s in profile["attention_samples"]}
    for record in records:
        key = tuple(record[k] for k in KEY)
        if not (new_shapes_only and key in samples):
            samples[key] = record
    profile["attention_samples"] = sorted(samples.values(), key=lambda s: (s["seq_len"], s["batch"], s["num_heads"]))
    profile["provenance"]["notes"] = profile["provenance"]["notes"].rstrip() + " " + note
    return profile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("profiles", type=Path, nargs="+")
    parser.add_argument("--note", required=True)
    parser.add_argument("--new-shapes-only", action="store_true", help="add shapes the profile lacks, keep its own")
    args = parser.parse_args()
    records = measured(args.log)
    for path in args.profiles:
        profile = merge(json.loads(path.read_text()), records, args.note, args.new_shapes_only)
        write_text_atomic(path, json.dumps(profile, indent=2) + "\n")
        print(f"{path}: {len(records)} samples merged, {len(profile['attention_samples'])} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
