#!/usr/bin/env python3
"""Would another node's run-derived terms price a card's runs better than its own uncalibrated profile?

    python bench/accuracy/borrowed_terms.py [--target h100-sxm-80gb] [--donors h200,h200-1gpu-node]
        [--batches b46-1gpu-h100,b47-1gpu-h100 | --family mistpipe] [--terms a,b] [--out FILE.md]

A profile without runs of its own prices no host-thread time (config/hardware.py prices_host_thread). Before
fitting one, the cheapest candidate is the terms of a profile that has them: every RUN_DERIVED_FIELDS value of a
donor (or the --terms named) copied onto the target's measured tables. Each batch's committed runs (or, with
--family, every finished run of that family `make accuracy` scores on the target: bench/results/accuracy.json,
repeats included) are predicted as they ran
(cost/plan_predict.py predict_as_run) on the target and on each candidate; no term is fitted, so every run is held
out of every candidate. Prints one row per (batch, profile): median and max |time error| and the signed errors.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.cases import BATCHES  # noqa: E402
from bench.accuracy.generate import RESULTS, plan_path, run_path  # noqa: E402
from mist_ds.config import HardwareProfile, Plan, RunReport  # noqa: E402
from mist_ds.config.hardware import RUN_DERIVED_FIELDS  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.plan_predict import predict_as_run  # noqa: E402


def borrowed(target: HardwareProfile, donor: HardwareProfile,
             terms: tuple[str, ...] = RUN_DERIVED_FIELDS) -> HardwareProfile:
    """`target` with `terms` (default: every run-derived term) of `donor`."""
    return target.model_copy(update={field: getattr(donor, field) for field in terms})


def batch_errors(batch: str, hw: HardwareProfile, results: Path = RESULTS) -> list[float]:
    """(predicted - measured) / measured of each ok run of the batch, in catalogue order."""
    errors = []
    for case in BATCHES[batch]:
        if not run_path(case.name, results).exists():
            continue
        run = RunReport.load(run_path(case.name, results))
        if run.status != "ok" or not run.median_iteration_time_s:
            continue
        predicted = predict_as_run(Plan.load(plan_path(case.name, results)), hw, run).iteration_time_s
        errors.append(predicted / run.median_iteration_time_s - 1)
    return errors


def family_errors(target: str, family: str, hw: HardwareProfile, report: Path = RESULTS.parent / "accuracy.json"
                  ) -> list[float]:
    """(predicted - measured) / measured of every finished run of `family` that the accuracy report scores on the
    profile `target`, predicted as it ran on `hw`, in the report's order."""
    errors = []
    for row in json.loads(report.read_text())["runs"]:
        if row["hardware"] != target or row["family"] != family or row["status"] != "ok":
            continue
        run = RunReport.load(row["run_path"])
        predicted = predict_as_run(Plan.load(row["plan_path"]).without_prediction(), hw, run).iteration_time_s
        errors.append(predicted / run.median_iteration_time_s - 1)
    if not errors:
        raise ValueError(f"no finished run of family '{family}' is scored on '{target}'")
    return errors


def table(target: str, donors: list[str], batches: list[str],
          terms: tuple[str, ...] = RUN_DERIVED_FIELDS, family: str | None = None) -> list[str]:
    """Markdown rows: per batch (or for the family's scored runs), the target as shipped and with each donor's
    terms."""
    base = load_hardware(target)
    which = "terms" if terms == RUN_DERIVED_FIELDS else ", ".join(terms)
    candidates = {f"{target} (shipped)": base,
                  **{f"{target} + {name}'s {which}": borrowed(base, load_hardware(name), terms) for name in donors}}
    rows = ["| batch | profile | runs | median abs error | max abs error | signed errors |", "|---|---|---|---|---|---|"]
    for batch in ([f"scored {family}"] if family else batches):
        for label, hw in candidates.items():
            errors = family_errors(target, family, hw) if family else batch_errors(batch, hw)
            if not errors:
                rows.append(f"| {batch} | {label} | 0 | - | - | - |")
                continue
            sizes = [abs(e) for e in errors]
            rows.append(f"| {batch} | {label} | {len(errors)} | {statistics.median(sizes):.1%} | {max(sizes):.1%} | "
                        + " ".join(f"{e:+.1%}" for e in errors) + " |")
    return rows


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/borrowed_terms.py", description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="h100-sxm-80gb")
    parser.add_argument("--donors", default="h200,h200-1gpu-node")
    parser.add_argument("--batches", default="b46-1gpu-h100,b47-1gpu-h100")
    parser.add_argument("--family", default=None, help="instead of batches: every scored run of this family")
    parser.add_argument("--terms", default=",".join(RUN_DERIVED_FIELDS), help="run-derived terms to borrow")
    parser.add_argument("--out", default=None, help="also write the table here")
    args = parser.parse_args(argv)
    terms = tuple(t for t in args.terms.split(",") if t)
    if not terms or set(terms) - set(RUN_DERIVED_FIELDS):
        print(f"error: --terms takes run-derived terms ({', '.join(RUN_DERIVED_FIELDS)})", file=sys.stderr)
        return 2
    batches = [b for b in args.batches.split(",") if b]
    unknown = [b for b in batches if b not in BATCHES]
    if unknown or not batches:
        print(f"error: unknown batch '{unknown[0] if unknown else ''}'", file=sys.stderr)
        return 2
    try:
        rows = table(args.target, [d for d in args.donors.split(",") if d], batches, terms, args.family)
    except ValueError as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    text = "\n".join(rows) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(f"`python bench/accuracy/borrowed_terms.py {' '.join(argv or sys.argv[1:])}`\n\n"
                                  + text)
    return 0


if __name__ == "__main__":
    from mist_ds.cli import run_cli

    run_cli(main)
