"""A profile's host-step fields from several `python -m mist_ds.profile --sections cpu_adam` runs on one node kind.

    python bench/accuracy/cpu_step_profile.py mist_ds/profiles/h100-1gpu-node.json \\
        profiling/profiles/raw/h100-1gpu-node.raw.json bench/results/runtime/h100_cpu_step_S47/*.raw.json
    python bench/accuracy/cpu_step_profile.py --check mist_ds/profiles/h100-1gpu-node.json RAW ...

The node's CPU Adam rate moved 4.67-6.39 G params/s at 16 threads between eight runs of the profiler on the H100
node (same CPU model, 2026-12-05), and one run's Adam + cast alone took twice its usual time (S47-6 run 2, before the
profiler alternated alone and beside), so one run is one draw: the profile takes, per thread count, the median rate
of every raw file that measured it, and the median of cpu_step_per_adam and cpu_step_d2h_slowdown over the raw files
that measured those (profile/assemble.py cpu_step_fields: one file, one value). Writes the profile (its provenance
notes say which files) or, with --check, exits 1 where the profile differs from what the files give; unreadable raw
files or none with the beside record: one line, exit 2. No GPU needed.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.accuracy.median_fields import MARKS, run  # noqa: E402
from mist_ds.config.hardware import CpuAdamSample, HardwareProfile  # noqa: E402
from mist_ds.profile.assemble import cpu_step_fields  # noqa: E402

NOTE_MARK = MARKS[0]
TOLERANCE = 1e-9


def combined(raws: list[dict]) -> tuple[dict, dict]:
    """(the profile fields the raw files give: cpu_adam (median rate per thread count), cpu_step_per_adam and
    cpu_step_d2h_slowdown (medians over the files that measured them); per field, how many files did)."""
    rates: dict[int, list[float]] = {}
    for raw in raws:
        for record in raw.get("cpu_adam", []):
            rates.setdefault(record["num_threads"], []).append(record["params_per_s"])
    steps = [cpu_step_fields(raw) for raw in raws]
    per_adam, slowdowns = [s[0] for s in steps if s[0] is not None], [s[1] for s in steps if s[1] is not None]
    if not rates or not per_adam or not slowdowns:
        raise ValueError("the raw files hold no cpu_adam section with a step_beside_d2h record")
    fields = {"cpu_adam": tuple(CpuAdamSample(num_threads=t, params_per_s=statistics.median(v))
                                for t, v in sorted(rates.items())),
              "cpu_step_per_adam": statistics.median(per_adam), "cpu_step_d2h_slowdown": statistics.median(slowdowns)}
    counts = {"cpu_adam": sum(bool(raw.get("cpu_adam")) for raw in raws), "cpu_step_per_adam": len(per_adam),
              "cpu_step_d2h_slowdown": len(slowdowns)}
    return fields, counts


def note(paths: list[str], fields: dict, counts: dict) -> str:
    """The sentence the profile's provenance notes carry about these fields."""
    top = fields["cpu_adam"][-1]
    return (f"{NOTE_MARK} cpu_adam is the median of {counts['cpu_adam']} profiler runs' rates per thread count ("
            f"{top.params_per_s / 1e9:.2f} G/s at {top.num_threads}), cpu_step_per_adam "
            f"{fields['cpu_step_per_adam']:.3f} the median of {counts['cpu_step_per_adam']}, cpu_step_d2h_slowdown "
            f"{fields['cpu_step_d2h_slowdown']:.3f} of {counts['cpu_step_d2h_slowdown']}; from {', '.join(paths)}.")


def differs(profile: HardwareProfile, fields: dict) -> list[str]:
    """Names of the fields where `profile` is not what the raw files give."""
    out = [k for k in ("cpu_step_per_adam", "cpu_step_d2h_slowdown")
           if getattr(profile, k) is None or abs(getattr(profile, k) - fields[k]) > TOLERANCE]
    mine = [(s.num_threads, s.params_per_s) for s in profile.cpu_adam]
    theirs = [(s.num_threads, s.params_per_s) for s in fields["cpu_adam"]]
    if len(mine) != len(theirs) or any(a[0] != b[0] or abs(a[1] - b[1]) > 1.0 for a, b in zip(mine, theirs)):
        out.append("cpu_adam")
    return out


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, "cpu_step_profile", combined, differs, note, NOTE_MARK)


if __name__ == "__main__":
    sys.exit(main())
