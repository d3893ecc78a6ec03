#!/usr/bin/env python3
"""Re-derive the allocator-hole coefficients of mist_ds/cost/reserved.py (HOLES) from the
committed runs as bench/accuracy/RESERVED.md documents them. CPU only; prints markdown.

    PYTHONPATH=$PWD python bench/accuracy/reserved_fit.py [--accuracy bench/results/accuracy.json]

Input: the accuracy report's JSON (bench/accuracy/report.py, `make accuracy`): its per-stage predicted
allocated peak P (cost model only: independent of HOLES) and measured max_memory_reserved
(max over the stage's ranks). Run the report first after a cost-model change, then this, then the
report again (only its reserved columns move).

Samples: every stage of every run the report's targets cover (status 'ok', a plan the current search
emits, run with expandable segments) that ran on stock DeepSpeed, one run per distinct plan, less the
stages that reserved their cap (within AT_CAP): the allocator stopped there and retried, so their gap is
a lower bound on the holes, not a sample of them (cost/reserved.py predicts the cap for them). A sample
is (measured reserved - P) / the unit of the stage's class (cost/reserved.py stage_class, hole_unit_bytes: the
16-bit partition 2N/dp, or with the optimizer offloaded one fp32 vocabulary x hidden matrix). Coefficient of a
class: the median of its samples, rounded to 0.01 and clamped at 0 (a negative median is an over-predicted P, not
a hole).
VOCAB_HOLE, mistpipe's one coefficient, the same way from the mistpipe stages: (measured reserved - P) / the
fp32 bytes of the stage's vocabulary matrices (cost/reserved.py vocab_matrix_bytes).

Hold-out: runs split by crc32(name) parity (the stages of one run together); the coefficients fitted on
one half score the other (a class absent from the fitting half keeps the shipped coefficient). A plan's
error is its worst stage's, as in the report; runs of other executors are scored as the report does.
"""

from __future__ import annotations

import json
import statistics
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.compare import rel_error  # noqa: E402
from mist_ds.config import Plan  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.reserved import (HOLES, VOCAB_HOLE, VOCAB_UNIT_CLASSES, counts_vocab_holes,  # noqa: E402
                                   hole_unit_bytes, predicted_reserved_bytes, stage_class, vocab_matrix_bytes)

ROOT = Path(__file__).resolve().parents[2]
ACCURACY = ROOT / "bench" / "results" / "accuracy.json"
AT_CAP = 0.995
"""A stage whose measured reserved peak is at least this share of its cap reserved the cap."""


def targeted(report: dict) -> list[dict]:
    """The runs the report's targets cover that finished (each run's 'targeted': report.py scored)."""
    return [run for run in report["runs"] if run["status"] == "ok" and run["targeted"]]


def half_of(run: dict) -> int:
    """The hold-out half of a run: crc32 of its name, modulo 2."""
    return zlib.crc32(run["name"].encode()) % 2


def distinct_plans(runs: list[dict], plans: Mapping[str, Plan], vocab: bool) -> Iterator[tuple[dict, Plan, int]]:
    """(run, plan, cap) for each distinct plan of `runs` (its first run in `runs`' order) whose holes are counted in
    mistpipe's vocabulary matrices (`vocab`: cost/reserved.py counts_vocab_holes) or else in stock DeepSpeed's units
    (hole_unit_bytes): repeats of one plan (other kernel sets, other calls) are not independent evidence of its
    holes. cap: the plan's, else its card's memory."""
    seen: set[str] = set()
    hardware: dict = {}
    for run in runs:
        plan = plans[run["plan_path"]]
        key = plan.without_prediction().content_hash()
        if counts_vocab_holes(plan) != vocab or key in seen:
            continue
        seen.add(key)
        hw = hardware.setdefault(run["hardware"], load_hardware(run["hardware"]))
        yield run, plan, plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes


def distinct_stages(runs: list[dict], plans: Mapping[str, Plan], vocab: bool) -> Iterator[tuple[dict, Plan, dict, float]]:
    """(run, plan, the run's stage row, hole) for every stage of distinct_plans: hole = (measured reserved -
    predicted allocated peak) / the unit (vocab_matrix_bytes or hole_unit_bytes). Stages that reserved their
    cap (AT_CAP), and stages whose unit is empty (no vocabulary matrix), are left out."""
    for run, plan, cap in distinct_plans(runs, plans, vocab):
        for stage in run["memory"]:
            unit = (vocab_matrix_bytes if vocab else hole_unit_bytes)(plan, stage["stage"])
            if stage["reserved_bytes"] >= AT_CAP * cap or not unit:
                continue
            yield run, plan, stage, (stage["reserved_bytes"] - stage["predicted_bytes"]) / unit


def stock_stages(runs: list[dict], plans: Mapping[str, Plan]) -> Iterator[tuple[dict, Plan, dict, float]]:
    """distinct_stages of stock DeepSpeed (holes in its classes' units)."""
    return distinct_stages(runs, plans, vocab=False)


def vocab_samples(runs: list[dict], plans: Mapping[str, Plan]) -> list[float]:
    """The holes of the mistpipe stages (distinct_stages, in vocabulary matrices)."""
    return [hole for *_, hole in distinct_stages(runs, plans, vocab=True)]


def fit_vocab(holes: list[float], fallback: float = VOCAB_HOLE) -> float:
    """VOCAB_HOLE from mistpipe samples: their median rounded to 0.01, clamped at 0 (`fallback` without any)."""
    return max(0.0, round(statistics.median(holes), 2)) if holes else fallback


def samples(runs: list[dict], plans: Mapping[str, Plan]) -> dict[str, list[float]]:
    """Per class, the holes of stock_stages."""
    out: dict[str, list[float]] = {}
    for _, plan, stage, hole in stock_stages(runs, plans):
        out.setdefault(stage_class(plan, stage["stage"]), []).append(hole)
    return out


def fit(by_class: Mapping[str, list[float]], fallback: Mapping[str, float] = HOLES) -> dict[str, float]:
    """Coefficient per class: the median sample rounded to 0.01, clamped at 0; a class without
    samples keeps `fallback`'s value."""
    return {name: (max(0.0, round(statistics.median(by_class[name]), 2)) if by_class.get(name) else value)
            for name, value in fallback.items()}


def plan_errors(runs: list[dict], plans: Mapping[str, Plan], holes: Mapping[str, float],
                vocab_hole: float = VOCAB_HOLE) -> list[float]:
    """|reserved error| of each run's worst stage with the coefficients `holes` and `vocab_hole` (cut at the
    cap, as the report scores it)."""
    hardware: dict = {}
    errors = []
    for run in runs:
        plan = plans[run["plan_path"]]
        hw = hardware.setdefault(run["hardware"], load_hardware(run["hardware"]))
        cap = plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes
        errors.append(max(abs(rel_error(predicted_reserved_bytes(plan, s["stage"], s["predicted_bytes"], hw, cap,
                                                                 holes, vocab_hole), s["reserved_bytes"]))
                          for s in run["memory"]))
    return errors


def load_plans(runs: list[dict]) -> dict[str, Plan]:
    return {run["plan_path"]: Plan.load_checked(ROOT / run["plan_path"], "plan") for run in runs}


def _stats(errors: list[float]) -> str:
    return f"{len(errors)} | {100 * statistics.median(errors):.1f}% | {100 * max(errors):.1f}%"


def render(runs: list[dict], plans: Mapping[str, Plan]) -> list[str]:
    halves = [[run for run in runs if half_of(run) == h] for h in (0, 1)]
    every, vocab = samples(runs, plans), vocab_samples(runs, plans)
    fitted, fitted_vocab = fit(every), fit_vocab(vocab)
    half_fits = [(fit(samples(half, plans)), fit_vocab(vocab_samples(half, plans))) for half in halves]
    lines = ["| class | unit | stages | median gap / unit | fitted | half 0 | half 1 | shipped |",
             "|---|---|---|---|---|---|---|---|"]
    for name in HOLES:
        gaps = every.get(name, [])
        median = f"{statistics.median(gaps):+.2f}" if gaps else "-"
        unit = "fp32 vocabulary matrix" if name in VOCAB_UNIT_CLASSES else "16-bit partition"
        lines.append(f"| {name} | {unit} | {len(gaps)} | {median} | {fitted[name]:.2f} | {half_fits[0][0][name]:.2f} | "
                     f"{half_fits[1][0][name]:.2f} | {HOLES[name]:.2f} |")
    median = f"{statistics.median(vocab):+.2f}" if vocab else "-"
    lines.append(f"| mistpipe (VOCAB_HOLE) | its fp32 vocabulary matrices | {len(vocab)} | {median} | "
                 f"{fitted_vocab:.2f} | {half_fits[0][1]:.2f} | {half_fits[1][1]:.2f} | {VOCAB_HOLE:.2f} |")
    lines += ["", "| coefficients | scored on | runs | median | max |", "|---|---|---|---|---|",
              f"| shipped | all | {_stats(plan_errors(runs, plans, HOLES))} |",
              f"| fitted on all (in-sample) | all | {_stats(plan_errors(runs, plans, fitted, fitted_vocab))} |"]
    for h in (0, 1):
        other = halves[1 - h]
        lines += [f"| shipped | half {1 - h} | {_stats(plan_errors(other, plans, HOLES))} |",
                  f"| fitted on half {h} | half {1 - h} | {_stats(plan_errors(other, plans, *half_fits[h]))} |"]
    body = ", ".join(f'"{name}": {value:.2f}' for name, value in fitted.items())
    return lines + ["", f"HOLES fitted on all {len(runs)} runs: {{{body}}}; VOCAB_HOLE = {fitted_vocab:.2f}"]


def report_script(argv: list[str] | None, prog: str, doc: str, lines: Callable[[dict], list[str]]) -> int:
    """The command line of this script and its siblings (reserved_activation.py, reserved_vocab.py): read the
    accuracy report (--accuracy), print `lines` of it; a report it cannot read or score: one line, exit 2."""
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--accuracy", default=str(ACCURACY), help="the accuracy report's JSON (report.py)")
    args = parser.parse_args(argv)
    try:
        text = lines(json.loads(Path(args.accuracy).read_text()))
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(text))
    return 0


def _lines(report: dict) -> list[str]:
    runs = targeted(report)
    return render(runs, load_plans(runs))


def main(argv: list[str] | None = None) -> int:
    return report_script(argv, "bench/accuracy/reserved_fit.py", __doc__, _lines)


if __name__ == "__main__":
    sys.exit(main())
