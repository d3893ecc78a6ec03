"""A profile's interference factors from several `python -m mist_ds.profile --sections interference` runs on one node.

    python bench/accuracy/interference_profile.py mist_ds/profiles/h100-1gpu-node.json \\
        profiling/profiles/raw/h100-1gpu-node.raw.json bench/results/runtime/h100_interference_S48/intf_*.raw.json
    python bench/accuracy/interference_profile.py --check mist_ds/profiles/h100-1gpu-node.json RAW ...

The H100 node's profile took its interference from one profiler run, whose h2d beside d2h came out 1.478x slower;
three more runs on the same node kind (S48-2, 2026-12-05) gave 1.246 / 1.213 / 1.227 (d2h 1.057-1.074), and a traced
optimizer swap there moved 60 MiB chunks both ways at 50.9 / 50.6 GB/s (bench/results/runtime/h100_swap_trace_S48/),
so one run is one draw: per channel set, each channel's slowdown is the median over the raw files that measured that
set (floored at 1, as profile/assemble.py stores one run's). Writes the profile (its provenance notes say which files)
or, with --check, exits 1 where the profile differs from what the files give; unreadable raw files or none with an
interference section: one line, exit 2. No GPU needed.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.median_fields import MARKS, run  # noqa: E402
from mist_ds.config.hardware import HardwareProfile, InterferenceFactor  # noqa: E402

NOTE_MARK = MARKS[1]
TOLERANCE = 1e-9


def combined(raws: list[dict]) -> tuple[dict, dict]:
    """({"interference": per measured channel set (in first-measured order), the median slowdown of each channel
    over the files that measured the set}, {"interference": how many files had an interference section})."""
    sets: dict[tuple[str, ...], list[list[float]]] = {}
    for raw in raws:
        for record in raw.get("interference", []):
            sets.setdefault(tuple(record["channels"]), []).append([max(1.0, s) for s in record["slowdowns"]])
    if not sets:
        raise ValueError("the raw files hold no interference section")
    factors = tuple(InterferenceFactor(channels=channels, slowdowns=tuple(statistics.median(c) for c in zip(*rows)))
                    for channels, rows in sets.items())
    return {"interference": factors}, {"interference": sum(bool(raw.get("interference")) for raw in raws)}


def note(paths: list[str], fields: dict, counts: dict) -> str:
    """The sentence the profile's provenance notes carry about the interference factors."""
    pair = {f.channels: f.slowdowns for f in fields["interference"]}.get(("h2d", "d2h"))
    both = f" (h2d beside d2h {pair[0]:.3f} / {pair[1]:.3f})" if pair else ""
    return (f"{NOTE_MARK} each channel set's slowdowns are the medians of {counts['interference']} profiler runs"
            f"{both}; from {', '.join(paths)}.")


def differs(profile: HardwareProfile, fields: dict) -> list[str]:
    """["interference"] where the profile's factors are not what the raw files give, else []."""
    mine = {f.channels: f.slowdowns for f in profile.interference}
    theirs = {f.channels: f.slowdowns for f in fields["interference"]}
    same = mine.keys() == theirs.keys() and all(
        len(mine[k]) == len(v) and all(abs(a - b) <= TOLERANCE for a, b in zip(mine[k], v)) for k, v in theirs.items())
    return [] if same else ["interference"]


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, "interference_profile", combined, differs, note, NOTE_MARK)


if __name__ == "__main__":
    sys.exit(main())
