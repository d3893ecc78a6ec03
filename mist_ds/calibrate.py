"""`python -m mist_ds.calibrate RUN.json [RUN.json ...] --hardware NAME|FILE|auto --out PROFILE.json`:
fit a hardware profile's run-derived terms from your own GPU runs and write the calibrated profile.

Each RUN.json is a RunReport written by `launch/train.py --report`; its plan is NAME.plan.json
beside NAME.run.json (or NAME.json), or in --plans DIR. The profile (--hardware) supplies every
measured rate; calibration fits only the terms a microbenchmark cannot see, from the runs' median
iteration times, allocated and reserved GPU memory and peak RSS (mist_ds/calibration/fit.py):
  host_microbatch_overhead_s, host_layer_overhead_s, host_launch_overhead_s (per kernel launch of a
  block pass), host_step_overhead_s, host_step_tensor_overhead_s (per parameter tensor of a ZeRO-0
  step, or a ZeRO-1/2 step with the optimizer on the GPU), zero3_fetch_overhead_s, zero3_param_overhead_s (per ZeRO-3
  parameter tensor of a block pass),
  pageable_h2d_bandwidth_gbps, pageable_d2h_bandwidth_gbps (ZeRO-3's write-back under weight offload
  with the optimizer on the GPU), allocator_overhead_fraction (peak allocated over the modelled bytes:
  what decides OOM), host_process_base_bytes. (Reserved memory's holes are the allocator's, the same on
  every card: mist_ds/cost/reserved.py holds them, fitted by bench/accuracy/reserved_fit.py.)
--fit names the terms to fit (default: all of them); the others keep the input profile's values.
A term none of the runs exercises (e.g. the ZeRO-3 fetch cost without a ZeRO-3 run) keeps the input
profile's value. Runs that did not finish ('oom', 'killed', ...) are skipped. The output profile's
provenance names the runs that fitted it; autotune / predict take it like any other
(--hardware PROFILE.json). Hold some runs out and check them with `python -m mist_ds.compare`.

Exit codes: 0 written; 2 bad input (one line on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mist_ds.calibration import Calibration, calibrate, load_pairs
from mist_ds.calibration.fit import MEMORY_TERMS, TIME_TERMS
from mist_ds.cli import OneLineParser, run_cli
from mist_ds.config import HardwareProfile
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.gpuinfo import hardware_arg

NOTE_MARKERS = (" Run-derived terms", " Calibrated (profiling/calibrate.py)")
"""Where an earlier calibration's sentence starts in provenance.notes (replaced, not stacked)."""


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="RunReport JSON files (launch/train.py --report)")
    parser.add_argument("--hardware", required=True,
                        help="profile to calibrate: shipped name or JSON file, or auto: this node's")
    parser.add_argument("--out", required=True, type=Path, help="where to write the calibrated profile")
    parser.add_argument("--plans", type=Path, default=None,
                        help="folder holding NAME.plan.json for each NAME.run.json (default: beside each run)")
    parser.add_argument("--name", default=None, help="name of the written profile (default: --out's file stem)")
    parser.add_argument("--fit", default=",".join(TIME_TERMS + MEMORY_TERMS),
                        help="comma-separated run-derived terms to fit, time or memory (default: all); the others "
                             "keep the profile's values")
    return parser


def _value(term: str, value) -> str:
    if value is None:
        return "none"
    if term.endswith("_bytes"):
        return f"{value} ({value / GIB:.2f} GiB)"
    return f"{value:g}"


def provenance_note(result: Calibration, runs: list[Path]) -> str:
    """The sentence appended to the profile's provenance notes: what was fitted, on which runs."""
    used = set(result.used)
    files = ", ".join(str(p) for p in runs if any(p.name.startswith(n + ".") for n in used))
    fitted = ", ".join(f"{term}={value}" for term, value in result.fitted.items())
    kept = (f" Not fitted (not in --fit, or not determined by these runs), kept: {', '.join(result.kept)}."
            if result.kept else "")
    return (f" Run-derived terms fitted by `python -m mist_ds.calibrate` on {len(result.used)} run(s) "
            f"({files}): {fitted}.{kept}")


def calibrated_profile(hw: HardwareProfile, result: Calibration, runs: list[Path], name: str) -> HardwareProfile:
    notes = hw.provenance.notes
    for marker in NOTE_MARKERS:
        notes = notes.split(marker)[0]
    provenance = hw.provenance.model_copy(update={"notes": notes + provenance_note(result, runs)})
    profile = result.profile.model_copy(update={"name": name, "provenance": provenance})
    return HardwareProfile.model_validate(profile.model_dump())   # re-checks every field


def summary(result: Calibration) -> str:
    lines = [f"fitted on {len(result.used)} run(s)" + (f", skipped {len(result.skipped)}: "
                                                      + "; ".join(result.skipped) if result.skipped else "")]
    lines += [f"  {term} = {_value(term, value)}" for term, value in result.fitted.items()]
    lines += [f"  {term}: not fitted (not in --fit, or no run exercises it), kept" for term in result.kept]
    errors = sorted(abs(e) for e in result.time_errors.values())
    if errors:
        lines.append(f"in-sample time error: median {100 * errors[len(errors) // 2]:.1f}%, "
                     f"max {100 * errors[-1]:.1f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.out.suffix != ".json":
        raise ValueError(f"--out {args.out}: a profile is a .json file")
    terms = tuple(t.strip() for t in args.fit.split(",") if t.strip())
    if not terms or any(t not in TIME_TERMS + MEMORY_TERMS for t in terms):
        raise ValueError(f"--fit {args.fit}: the terms are {', '.join(TIME_TERMS + MEMORY_TERMS)}")
    hw = load_hardware(hardware_arg(args.hardware))
    pairs = load_pairs(list(args.runs), args.plans, hw)
    result = calibrate(hw, pairs, tuple(t for t in terms if t in TIME_TERMS),
                       tuple(t for t in terms if t in MEMORY_TERMS))
    profile = calibrated_profile(hw, result, list(args.runs), args.name or args.out.stem)
    profile.save(args.out)
    print(summary(result))
    print(f"wrote {args.out} (calibrated from {hw.name})")
    return 0


if __name__ == "__main__":
    run_cli(main)
    sys.exit(0)
