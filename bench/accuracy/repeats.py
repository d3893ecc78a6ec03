"""Repeated measurements of suite plans, and how far one plan's measurements spread.

    python bench/accuracy/repeats.py add BUNDLE.json LABEL   # runs -> bench/results/accuracy/repeats/

A repeat is another run of a committed suite plan in a later machine call (bench/calls/s8_call_alone.sh:
alone vs two per host). It is kept as repeats/<case>.<label>.run.json and scored as a run of its own
(report.py, source 'repeat'), beside the plan bench/results/accuracy/<case>.plan.json, so the suite's
first measurement is not silently replaced. `spread_rows` lists every plan measured more than once
(suite, repeats, kernel and plan-quality re-runs with the same kernels): the spread is what the
measurement itself varies, a floor under any per-run time error.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.config import RunReport  # noqa: E402
from mist_ds.config.plan import plan_file_hashes  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402

SUITE = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"


def repeat_pairs(suite: Path) -> list[tuple[str, Path, Path]]:
    """repeats/<case>.<label>.run.json beside the suite's <case>.plan.json."""
    return [("repeat:" + run.name.removesuffix(".run.json"),
             suite / (run.name.removesuffix(".run.json").rsplit(".", 1)[0] + ".plan.json"), run)
            for run in sorted((suite / "repeats").glob("*.run.json"))]


def kernel_class(kernels: str) -> str:
    """The kernel set a run's record names, with runs that recorded none (older than the record, which
    ran the eager set: scoring.run_kernels) and recorded eager runs as one class, 'eager'."""
    if kernels == "not recorded" or ("compile" not in kernels and "loss chunked" in kernels):
        return "eager"
    return kernels


def _repeated(rows) -> list[tuple[str, str, list]]:
    """(plan path, kernel class, its ok runs) of every plan and kernel set measured more than once; runs that
    wrote ZeRO-3's sub-groups back on the device (Scored.writeback_cast) are a group of their own, their kernel
    class marked '+ writeback device'."""
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        if row.measured_s is not None:
            way = " + writeback device" if row.writeback_cast == "device" else ""
            groups.setdefault((row.plan_path, kernel_class(row.kernels) + way), []).append(row)
    return [(plan, kernels, group) for (plan, kernels), group in sorted(groups.items()) if len(group) >= 2]


def spread_rows(rows) -> list[str]:
    """Markdown rows: per plan and kernel set measured more than once (ok runs), each run's s/iter,
    the spread (max / min - 1) and the prediction's error against the median of the runs."""
    lines = ["| plan | kernels | runs: s/iter | spread | predicted | error vs median |", "|---|---|---|---|---|---|"]
    for plan, kernels, group in _repeated(rows):
        times = sorted(r.measured_s for r in group)
        median = statistics.median(times)
        runs = ", ".join(f"{r.name} {r.measured_s:.3f}" for r in group)
        lines.append(f"| `{Path(plan).name}` | {kernels} | {runs} | {times[-1] / times[0] - 1:.1%} | "
                     f"{group[0].predicted_s:.3f} | {group[0].predicted_s / median - 1:+.1%} |")
    return lines


def best_max_error(times: list[float]) -> float:
    """The smallest largest |predicted / measured - 1| any one prediction can reach over runs that took `times`:
    with the spread s = max / min - 1, s / (2 + s), at the prediction 2 min max / (min + max)."""
    lo, hi = min(times), max(times)
    return (hi - lo) / (hi + lo)


def spread_summary(rows, bound: float) -> str:
    """One sentence: how many repeated plans (spread_rows' groups) no single prediction can bring within `bound`
    of every run (best_max_error), and the largest such floor: what the measurement leaves of a max-error target."""
    floors = sorted(((best_max_error([r.measured_s for r in group]), Path(plan).name)
                     for plan, _, group in _repeated(rows)), reverse=True)
    over = [f for f in floors if f[0] > bound]
    if not floors:
        return "No plan has been measured more than once."
    worst, name = floors[0]
    return (f"Of {len(floors)} plan and kernel-set groups measured more than once, {len(over)} spread so far that no "
            f"single prediction is within {bound:.0%} of each of their runs (the best possible largest error is "
            f"spread / (2 + spread)); the widest, `{name}`, leaves a floor of {worst:.1%} under any model's maximum.")


def add(bundle_path: Path, label: str, suite: Path = SUITE) -> list[str]:
    """Write each run of a runner bundle as repeats/<case>.<label>.run.json (refused when its plan hash
    is not the committed plan's); the bundle goes to repeats/bundles/<label>.json."""
    bundle = json.loads(bundle_path.read_text())
    lines = []
    for run in bundle["runs"]:
        plan = suite / f"{run['case']}.plan.json"
        report = RunReport.model_validate(run["report"], strict=False)
        if not plan.exists() or report.plan_hash not in plan_file_hashes(plan):
            lines.append(f"refused {run['case']}: no committed plan with hash {report.plan_hash}")
            continue
        write_text_atomic(suite / "repeats" / f"{run['case']}.{label}.run.json", report.model_dump_json(indent=1) + "\n")
        lines.append(f"wrote repeats/{run['case']}.{label}.run.json ({report.status}, {report.median_iteration_time_s})")
    write_text_atomic(suite / "repeats" / "bundles" / f"{label}.json", json.dumps(bundle, indent=1) + "\n")
    return lines


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/repeats.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("add", help="commit a bundle's runs as repeats")
    cmd.add_argument("bundle", type=Path)
    cmd.add_argument("label", help="a name for the call, e.g. S8-2-alone (letters, digits, '-')")
    args = parser.parse_args(argv)
    if not args.label.replace("-", "").isalnum():
        print(f"error: label {args.label!r}: letters, digits and '-' only", file=sys.stderr)
        return 2
    try:
        print("\n".join(add(args.bundle, args.label)))
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
