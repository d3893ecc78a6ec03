#!/usr/bin/env python3
"""Which run-derived time terms the committed H100 runs determine (CPU only; issue 10, sessions 45-46).

    python bench/accuracy/h100_fit.py [--write [bench/results/h100_fit.md]]

The H100 runs all ran on one 16-core 1-GPU node (mist_ds/profiles/h100-1gpu-node.json). Batches b46 and b47 (the
search's winners of 12 workloads) are the fitting runs; batch b48 (ZeRO-3 with every weight offloaded, the optimizer
on the GPU, half or all offloaded) is held out of every fit. For each set of time terms: leave-one-out over the
12 fitting runs (each predicted by a fit on the other 11 with mist_ds.calibration.calibrate, the memory terms
fitted too), b48 and sessions 46-48's batches b49-b53 (LATER: winners planned on the shipped profile, and the
write-back checks) predicted by the fit on all 12; beside them, the profile's measured tables with
h100-sxm-80gb's run-derived terms (unfitted) and with h200-1gpu-node's (another card's node). Starting profile:
h100-1gpu-node with the run-derived terms of --start (default h100-sxm-80gb, what the fit started from), then the
CARRIED terms of the profile they were carried over from, as h100-1gpu-node ships them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.borrowed_terms import borrowed  # noqa: E402
from bench.accuracy.cases import BATCHES  # noqa: E402
from bench.accuracy.generate import run_path  # noqa: E402
from bench.accuracy.tables import publish, utc_minute  # noqa: E402
from mist_ds.calibration import RunPair, calibrate, load_pairs  # noqa: E402
from mist_ds.calibration.fit import TIME_TERMS  # noqa: E402
from mist_ds.config import HardwareProfile  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "bench" / "results" / "h100_fit.md"
FITTING, HELD_OUT = ("b46-1gpu-h100", "b47-1gpu-h100"), ("b48-1gpu-h100-writeback",)
LATER = ("b49-1gpu-h100-node", "b49b-1gpu-h100-node-stock", "b50-1gpu-h100-writeback", "b50b-1gpu-h100-writeback",
         "b51-1gpu-h100-swap", "b52-1gpu-h100-node", "b53-1gpu-h100-interference")
CARRIED = {"pageable_h2d_bandwidth_gbps": "h200-1gpu-node"}
"""Terms h100-1gpu-node carries from another node kind's fit (session 46: the write-back rate; its provenance)."""
TERM_SETS = {"all time terms": TIME_TERMS,
             "host_microbatch_overhead_s, host_step_overhead_s": ("host_microbatch_overhead_s", "host_step_overhead_s"),
             "host_microbatch_overhead_s": ("host_microbatch_overhead_s",)}


def batch_runs(batches: tuple[str, ...]) -> list[Path]:
    """The committed run files of the batches' cases."""
    return [run_path(case.name) for batch in batches for case in BATCHES[batch] if run_path(case.name).exists()]


def errors(hw: HardwareProfile, pairs: list[RunPair]) -> list[float]:
    """Signed time error of each pair predicted on `hw`."""
    return [p.predict(hw).iteration_time_s / p.run.median_iteration_time_s - 1 for p in pairs]


def leave_one_out(hw: HardwareProfile, pairs: list[RunPair], terms: tuple[str, ...]) -> list[float]:
    """Each pair's error under a fit of `terms` on the others."""
    return [errors(calibrate(hw, pairs[:i] + pairs[i + 1:], only=terms).profile, [pair])[0]
            for i, pair in enumerate(pairs)]


def summary(values: list[float]) -> str:
    size = [abs(v) for v in values]
    return (f"{100 * statistics.median(size):.1f}% / {100 * max(size):.1f}% "
            f"(signed median {100 * statistics.median(values):+.1f}%)")


def start_profile(start: str) -> HardwareProfile:
    """h100-1gpu-node's measured tables with `start`'s run-derived terms, then the CARRIED ones."""
    hw = borrowed(load_hardware("h100-1gpu-node"), load_hardware(start))
    for term, donor in CARRIED.items():
        hw = borrowed(hw, load_hardware(donor), (term,))
    return hw


def rows(start: str) -> list[tuple[str, ...]]:
    """(label, fitted values, b46+b47 held out one by one, b48 held out, LATER held out) per term set and
    reference."""
    hw = start_profile(start)
    fitting, held, later = (load_pairs(batch_runs(batches), None, hw) for batches in (FITTING, HELD_OUT, LATER))
    out = []
    for label, terms in TERM_SETS.items():
        fit = calibrate(hw, fitting, only=terms)
        values = ", ".join(f"{k} {v:.4g}" for k, v in fit.fitted.items() if k in TIME_TERMS)
        out.append((f"fit {label}", values, summary(leave_one_out(hw, fitting, terms)),
                    summary(errors(fit.profile, held)), summary(errors(fit.profile, later))))
    for donor in (start, "h200-1gpu-node"):
        ref = borrowed(hw, load_hardware(donor))
        out.append((f"unfitted: {donor}'s terms", "-", summary(errors(ref, fitting)), summary(errors(ref, held)),
                    summary(errors(ref, later))))
    return out


def later_label() -> str:
    """LATER's batch numbers as a range (b49-b53)."""
    return f"{LATER[0].split('-')[0]}-{LATER[-1].split('-')[0]}"


def render(table: list[tuple[str, ...]], start: str, when: str) -> str:
    carried = ", ".join(f"{term} from {donor}" for term, donor in CARRIED.items())
    lines = ["# Fitting the H100 node's run-derived time terms", "",
             f"Written by `python bench/accuracy/h100_fit.py --write` on {when} (CPU only; start: {start}'s terms on "
             f"h100-1gpu-node's measured tables, {carried}). Fitting runs: batches b46 + b47 (12), each scored by a "
             "fit on the other 11; held out of every fit: batch b48 (3) and sessions 46-48's batches "
             f"{' + '.join(LATER)}. |time error| median / max.", "",
             f"| terms | fitted on all 12 | b46 + b47, leave-one-out | b48, held out | {later_label()}, held out |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", default="h100-sxm-80gb", help="profile whose run-derived terms the fits start from")
    ap.add_argument("--write", nargs="?", type=Path, const=OUT, default=None, help="write the table here")
    args = ap.parse_args(argv)
    try:
        table = rows(args.start)
    except (ValueError, OSError) as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    return publish(render(table, args.start, utc_minute()), args.write)


if __name__ == "__main__":
    sys.exit(main())
