#!/usr/bin/env python3
"""Unpack a runner bundle into the committed results: one <case>.run.json per run.

    python bench/accuracy/unpack.py BUNDLE.json [--results bench/results/accuracy] [--force]

Each RunReport goes beside the <case>.plan.json it ran; the bundle itself (machine, op builds,
log tails, cases not run) is kept as bundles/<batch>_<date>.json. A run whose plan_hash is not the
committed plan's (the plan changed after the run) is refused unless --force; a run the runner stopped at the
call's budget (cut_by_budget) is not a result of its plan and is left for a later call. Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.plan import plan_file_hashes  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"


def unpack(bundle: dict, results: Path, force: bool = False) -> list[str]:
    """Write the run reports; returns one line per run (what was done)."""
    lines = []
    for run in bundle["runs"]:
        name = run["case"]
        if run.get("cut_by_budget"):
            lines.append(f"not run {name}: cut by the call's budget after {run.get('wall_s', 0):.0f} s "
                         "(no result of its plan)")
            continue
        report = RunReport.model_validate(run["report"], strict=False)
        plan_file = results / f"{name}.plan.json"
        if not plan_file.exists():
            lines.append(f"skipped {name}: no committed {plan_file.name}")
            continue
        Plan.load_checked(plan_file, "plan")  # a readable plan, or one line
        want = ", ".join(sorted(plan_file_hashes(plan_file)))
        if report.plan_hash not in plan_file_hashes(plan_file) and not force:
            lines.append(f"refused {name}: run plan_hash {report.plan_hash} != {plan_file.name} {want}")
            continue
        target = results / f"{name}.run.json"
        action = "replaced" if target.exists() else "wrote"
        report.save(target)
        lines.append(f"{action} {target.name}: {report.status}"
                     + (f", {report.median_iteration_time_s:.3f} s/iter" if report.median_iteration_time_s else ""))
    for skipped in bundle.get("not_run", []):
        lines.append(f"not run {skipped['case']}: {skipped['reason']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/unpack.py", description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--force", action="store_true", help="accept runs of a since-changed plan")
    args = parser.parse_args(argv)
    results = Path(args.results)
    try:
        bundle = json.loads(Path(args.bundle).read_text())
        lines = unpack(bundle, results, args.force)
    except (OSError, json.JSONDecodeError, KeyError, ValueError) as err:
        print(f"error: cannot unpack {args.bundle}: {err}".splitlines()[0], file=sys.stderr)
        return 2
    date = bundle.get("machine", {}).get("date_utc", "undated").replace(":", "")
    copy = results / "bundles" / f"{bundle.get('batch', 'batch')}_{date}.json"
    write_text_atomic(copy, json.dumps(bundle, indent=1) + "\n")
    print("\n".join(lines + [f"kept the bundle as {copy}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
