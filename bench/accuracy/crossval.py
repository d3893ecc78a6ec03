#!/usr/bin/env python3
"""Cross-validate the profile's run-derived time terms on the committed runs (issue 10), CPU only.

    python bench/accuracy/crossval.py [--split gpus|family|workload|random:K|workload:K[,...]] [--terms T,T]
                                      [--start shipped|uncalibrated] [--json] [--write [OUT]]

Runs: every pair `make accuracy` scores (bench/accuracy/report.py collect + scored: the suite, older,
parity, engine and plan-quality pairs, less the runs without expandable segments and the plans the
search now rejects) that finished ('ok') on the GPU of --hardware; a run scored on the profile of another
node kind of that card (h200-1gpu-node) is predicted on that profile with the fold's fitted run-derived
terms (mist_ds/calibration/runs.py RunPair.node). Each fold fits the time terms with
mist_ds.calibration.calibrate (what `python -m mist_ds.calibrate` runs) on its training runs only,
then re-predicts its test runs with the fitted profile and the current cost model. Splits: `gpus`
(fit on the runs of one GPU count, test the others), `family` (leave one strategy family out),
`workload` (leave one workload out), `random:K` (K folds of runs, seeded by --seed), `workload:K` (K folds of
whole workloads, seeded by --seed: repeats and sibling plans of a tested workload never sit in its training runs,
as they can under random:K, at K fits instead of leave-one-workload-out's one per workload); in each split every
run is tested exactly once, so the pooled test errors are one held-out score per run.
The fitter starts from the start profile's values and from all zero and keeps the better end; a term
no training run exercises keeps the start profile's value. --start shipped (the default, what a user
of `python -m mist_ds.calibrate --hardware h200` gets) starts from the shipped values, fitted on 25
runs some of which a fold tests: they choose the fitter's start, never enter its objective.
--start uncalibrated starts from the uncalibrated values (0 s, pageable bandwidth unset): at 0 a
host-thread term changes a prediction only where the host path already outlasts the GPU
(cost/host_overlap.py host_overlap: max(GPU, host)), so the fitter may not move it and puts the time
elsewhere. --start from:PROFILE starts the fitted terms at another profile's values (e.g. another node's
fitted mistpipe host terms), outside that flat region. The 'shipped' columns score the same test runs with the
shipped profile of the node kind each ran on (its own run-derived terms: what `make accuracy` scores), not with
--hardware's terms on that node.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.report import RESULTS, ROOT, collect, scored  # noqa: E402
from mist_ds.calibration import RunPair, calibrate  # noqa: E402
from mist_ds.calibration.fit import TIME_TERMS  # noqa: E402
from mist_ds.config import HardwareProfile, Plan, RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402

SPLITS = ("gpus", "family", "workload", "random:K", "workload:K")
UNCALIBRATED = {term: (None if term in ("pageable_h2d_bandwidth_gbps", "pageable_d2h_bandwidth_gbps",
                                        "mistpipe_microbatch_overhead_s", "mistpipe_layer_overhead_s",
                                        "zero3_microbatch_overhead_s") else 0.0)
                for term in TIME_TERMS}
"""The time terms' uncalibrated values (config/hardware.py: 0.0 s; bandwidths None = the pinned rate; the
mistpipe engine's per-micro-batch and per-pass terms and ZeRO-3's per-micro-batch one None = the stock terms)."""


@dataclass(frozen=True)
class Run:
    """One scored, finished run: its pair for the fitter and the labels the folds split on."""

    pair: RunPair
    family: str
    workload: str
    gpus: int

    @property
    def name(self) -> str:
        return self.pair.name


@dataclass(frozen=True)
class Fold:
    label: str
    train: tuple[str, ...]
    test: tuple[str, ...]


def load_runs(suite: Path, results: Path, hardware: str) -> tuple[list[Run], list[str]]:
    """The runs report.py scores (collect + scored) that finished on `hardware`'s GPU, and
    'name: why' for the scored ones left out. A run scored on another node kind's profile of the same
    card (h200-1gpu-node beside h200) joins with that profile as its node (RunPair.node: its measured
    host side, the fold's fitted terms)."""
    rows, _ = collect(suite, results)
    card = load_hardware(hardware)
    nodes = {name: load_hardware(name) for name in {row.hardware for row in rows}}
    runs, left = [], []
    for row in scored(rows):
        same_card = nodes[row.hardware].gpu_name == card.gpu_name
        if not same_card or row.measured_s is None:
            left.append(f"{row.name}: " + (f"ran on {row.hardware}" if not same_card
                                           else f"status {row.status}, no time"))
            continue
        plan, run = Path(row.plan_path), Path(row.run_path)
        plan, run = (p if p.is_absolute() else ROOT / p for p in (plan, run))
        pair = RunPair(row.name, run, plan, Plan.load_checked(plan, "plan").without_prediction(),
                       RunReport.load_checked(run, "run report"),
                       node=nodes[row.hardware] if row.hardware != hardware else None)
        runs.append(Run(pair, row.family, row.workload, pair.plan.cluster.num_gpus))
    return runs, left


def _k_of(split: str, most: int) -> int:
    """K of 'random:K' / 'workload:K', checked to lie in 2..most."""
    k = split.split(":", 1)[1]
    if not k.isdigit() or not 2 <= int(k) <= most:
        raise ValueError(f"--split {split}: K must be an integer from 2 to {most}")
    return int(k)


def _grouped(runs: list[Run], key, k: int, seed: int, what: str) -> list[Fold]:
    """K folds over the values of key(run), shuffled by `seed` and dealt in turn: a fold tests every run of its
    values, so no value (a workload, or one run) is both fitted and tested."""
    order = sorted({key(r) for r in runs})
    random.Random(seed).shuffle(order)
    out = []
    for i in range(k):
        held = set(order[i::k])
        out.append(Fold(f"{what} {i + 1}/{k} (seed {seed})", tuple(r.name for r in runs if key(r) not in held),
                        tuple(r.name for r in runs if key(r) in held)))
    return out


def folds(runs: list[Run], split: str, seed: int = 0) -> list[Fold]:
    """The folds of `split`; each fold's train and test partition the runs."""
    if split.startswith("random:"):
        return _grouped(runs, lambda r: r.name, _k_of(split, len(runs)), seed, "random")
    if split.startswith("workload:"):
        workloads = len({r.workload for r in runs})
        return _grouped(runs, lambda r: r.workload, _k_of(split, workloads), seed, "workloads")
    key = {"gpus": lambda r: r.gpus, "family": lambda r: r.family, "workload": lambda r: r.workload}.get(split)
    if key is None:
        raise ValueError(f"--split {split}: one of {', '.join(SPLITS)}")
    values = sorted({key(r) for r in runs})
    if len(values) < 2:
        raise ValueError(f"--split {split}: the runs have one {split} only ({values[0] if values else '-'})")
    out = []
    for value in values:
        inside = tuple(r.name for r in runs if key(r) == value)
        outside = tuple(r.name for r in runs if key(r) != value)
        out.append(Fold(f"fit {value}-GPU -> test the rest", inside, outside) if split == "gpus"
                   else Fold(f"hold out {value}", outside, inside))
    return out


def start_profile(hw: HardwareProfile, start: str, terms: tuple[str, ...] = TIME_TERMS) -> HardwareProfile:
    """The profile a fold's fit starts from (module docstring, --start): 'from:NAME' takes profile NAME's values of
    the fitted `terms` (a start outside the flat region where a host term at 0 moves no prediction)."""
    if start == "shipped":
        return hw
    if start == "uncalibrated":
        return hw.model_copy(update=UNCALIBRATED)
    if start.startswith("from:"):
        donor = load_hardware(start.removeprefix("from:"))
        return hw.model_copy(update={term: getattr(donor, term) for term in terms})
    raise ValueError(f"--start {start}: 'uncalibrated', 'shipped' or 'from:PROFILE'")


def fit(hw: HardwareProfile, train: list[RunPair], terms: tuple[str, ...]) -> tuple[dict, HardwareProfile]:
    """The time terms mist_ds.calibration.calibrate fits on `train` alone (only `terms`; the others
    keep `hw`'s values) and the calibrated profile."""
    result = calibrate(hw, train, terms)
    values = {term: getattr(result.profile, term) for term in TIME_TERMS}
    return {"values": values, "fitted": [t for t in TIME_TERMS if t in result.fitted]}, result.profile


def stats(errors: list[float]) -> dict:
    """Count, median and max |error|."""
    known = [abs(e) for e in errors]
    return {"n": len(known), "median": statistics.median(known) if known else None,
            "max": max(known) if known else None}


def error(pair: RunPair, hw: HardwareProfile) -> tuple[float, float]:
    """(predicted seconds, relative time error) of a run under `hw`."""
    predicted = pair.predict(hw).iteration_time_s
    return predicted, predicted / pair.run.median_iteration_time_s - 1.0


def shipped_error(pair: RunPair, shipped: HardwareProfile) -> float:
    """The run's time error on the shipped profile of its node kind: its node's own profile where it ran on
    another node kind of the card (RunPair.predict keeps a profile's own terms on its own node), else `shipped`."""
    return error(pair, pair.node if pair.node is not None else shipped)[1]


def run_fold(fold: Fold, runs: list[Run], start: HardwareProfile, shipped: HardwareProfile,
             terms: tuple[str, ...]) -> dict:
    """Fit on the fold's training runs, score every run of the fold (train in-sample, test held out)."""
    by_name = {r.name: r for r in runs}
    began = time.monotonic()
    fitted, profile = fit(start, [by_name[n].pair for n in fold.train], terms)
    rows = []
    for role, names in (("train", fold.train), ("test", fold.test)):
        for name in names:
            run = by_name[name]
            predicted, err = error(run.pair, profile)
            rows.append({"name": name, "role": role, "predicted_s": round(predicted, 5), "error": round(err, 5),
                         "shipped_error": round(shipped_error(run.pair, shipped), 5)})
    test = [r for r in rows if r["role"] == "test"]
    family = {r.name: r.family for r in runs}
    families = sorted({family[r["name"]] for r in test})
    return {"label": fold.label, **fitted, "fit_s": round(time.monotonic() - began, 1),
            "train": stats([r["error"] for r in rows if r["role"] == "train"]),
            "test": stats([r["error"] for r in test]), "test_shipped": stats([r["shipped_error"] for r in test]),
            "test_families": {f: {"fitted": stats([r["error"] for r in test if family[r["name"]] == f]),
                                  "shipped": stats([r["shipped_error"] for r in test if family[r["name"]] == f])}
                              for f in families},
            "runs": rows}


def crossval(runs: list[Run], split: str, start: HardwareProfile, shipped: HardwareProfile,
             terms: tuple[str, ...] = TIME_TERMS, seed: int = 0, jobs: int = 1) -> list[dict]:
    """Every fold of `split`, fitted and scored (in `jobs` processes)."""
    todo = folds(runs, split, seed)
    if jobs <= 1:
        return [run_fold(f, runs, start, shipped, terms) for f in todo]
    n = len(todo)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_fold, todo, [runs] * n, [start] * n, [shipped] * n, [terms] * n))


# ----- output -----------------------------------------------------------------------------------------

UNITS = {"host_microbatch_overhead_s": ("host_microbatch ms", 1e3), "host_layer_overhead_s": ("host_layer ms", 1e3),
         "host_launch_overhead_s": ("host_launch us", 1e6), "host_step_overhead_s": ("host_step ms", 1e3),
         "host_step_tensor_overhead_s": ("host_step_tensor us", 1e6),
         "zero3_microbatch_overhead_s": ("zero3_microbatch ms", 1e3), "zero3_fetch_overhead_s": ("zero3_fetch ms", 1e3),
         "zero3_param_overhead_s": ("zero3_param ms", 1e3), "pageable_h2d_bandwidth_gbps": ("pageable GB/s", 1.0),
         "pageable_d2h_bandwidth_gbps": ("write-back GB/s", 1.0),
         "mistpipe_microbatch_overhead_s": ("mistpipe_microbatch ms", 1e3),
         "mistpipe_layer_overhead_s": ("mistpipe_layer ms", 1e3),
         "mistpipe_streamed_layer_overhead_s": ("mistpipe_streamed ms", 1e3)}


def _term(fold: dict, term: str) -> str:
    value = fold["values"][term]
    text = "none" if value is None else f"{value * UNITS[term][1]:.4g}"
    return text if term in fold["fitted"] else f"({text})"


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _mm(s: dict) -> str:
    return f"{_pct(s['median'])} / {_pct(s['max'])}"


def split_lines(split: str, result: list[dict], labels: dict[str, dict]) -> list[str]:
    """Markdown for one split: the folds with their fitted values and errors, the test group by
    family, and each run's held-out error (`labels`: run -> family, measured_s)."""
    heads = [UNITS[t][0] for t in TIME_TERMS]
    lines = [f"## Split `{split}`", "",
             "| fold | train runs | test runs | " + " | ".join(heads) + " | train median / max | "
             "**test median / max** | test, shipped profile | fit s |",
             "|---" * (len(heads) + 7) + "|"]
    for f in result:
        lines.append(f"| {f['label']} | {f['train']['n']} | {f['test']['n']} | "
                     + " | ".join(_term(f, t) for t in TIME_TERMS)
                     + f" | {_mm(f['train'])} | **{_mm(f['test'])}** | {_mm(f['test_shipped'])} | {f['fit_s']} |")
    lines += ["", "Test group by family (|time error| median / max):", "",
              "| fold | family | runs | fitted on the fold's training runs | shipped profile |", "|---|---|---|---|---|"]
    for f in result:
        lines += [f"| {f['label']} | {fam} | {s['fitted']['n']} | {_mm(s['fitted'])} | {_mm(s['shipped'])} |"
                  for fam, s in f["test_families"].items()]
    lines += ["", "Held-out runs (each run's error in the fold that tests it):", "",
              "| run | family | fold | measured s | predicted s | error | shipped profile |", "|---|---|---|---|---|---|---|"]
    tested = sorted(((r, f["label"]) for f in result for r in f["runs"] if r["role"] == "test"),
                    key=lambda item: (labels[item[0]["name"]]["family"], item[0]["name"], item[1]))
    lines += [f"| {r['name']} | {labels[r['name']]['family']} | {label} | {labels[r['name']]['measured_s']:.3f} | "
              f"{r['predicted_s']:.3f} | "
              f"{100 * r['error']:+.1f}% | {100 * r['shipped_error']:+.1f}% |" for r, label in tested]
    return lines + [""]


def pooled(result: list[dict]) -> dict:
    """Held-out errors of a split pooled over its folds (each run is tested once per split)."""
    test = [r for f in result for r in f["runs"] if r["role"] == "test"]
    return {"folds": len(result), "fitted": stats([r["error"] for r in test]),
            "shipped": stats([r["shipped_error"] for r in test])}


def render(data: dict) -> str:
    """The markdown report of every split in `data`."""
    lines = ["# Cross-validation of the run-derived time terms", "",
             f"Written by `{data['command']}` on {data['date']} (profile {data['profile']}, "
             f"start {data['start']}; {data['runtime_s']:.0f} s).", "",
             f"{len(data['runs'])} finished runs that `make accuracy` scores on {data['profile']} or on the profile "
             "of another node kind of its card (predicted there, with the fold's fitted terms); each fold fits "
             f"{', '.join(data['terms'])} with `mist_ds.calibration.calibrate` on its training runs only and "
             "re-predicts the test runs with the current cost model. Errors are |predicted / measured - 1| of "
             "the median iteration time. A value in parentheses was not fitted (no training run exercises the "
             "term, or it is not in --terms): it is the start profile's (" + (
                 "uncalibrated: 0, bandwidth none = the pinned rate" if data["start"] == "uncalibrated"
                 else "the shipped value") + "). 'shipped profile' scores the same test runs with the shipped "
             f"{data['profile']} profile, whose terms were fitted on the runs its provenance names (some of them "
             "tested here).", ""]
    if data["left_out"]:
        lines += ["Left out: " + "; ".join(data["left_out"]) + ".", ""]
    lines += ["## Summary: held-out |time error| per split, pooled over its folds", "",
              "| split | folds | runs tested | fitted on the fold's training runs: median / max | shipped profile |",
              "|---|---|---|---|---|"]
    for split, result in data["splits"].items():
        p = pooled(result)
        lines.append(f"| {split} | {p['folds']} | {p['fitted']['n']} | {_mm(p['fitted'])} | {_mm(p['shipped'])} |")
    lines.append("")
    for split, result in data["splits"].items():
        lines += split_lines(split, result, data["runs"])
    return "\n".join(lines)


def to_json(data: dict) -> str:
    """`data` as indented JSON with each run row of a fold on one line (rows hold scalars only)."""
    text = json.dumps(data, indent=1)
    return re.sub(r'\{\n\s*"name"[^{}\[\]]*\}', lambda m: " ".join(m[0].split()), text) + "\n"


def text_lines(split: str, result: list[dict]) -> list[str]:
    """Plain-text summary of one split for the terminal."""
    p = pooled(result)
    out = [f"split {split}: {p['folds']} folds, {p['fitted']['n']} runs tested, pooled {_mm(p['fitted'])} "
           f"(shipped profile {_mm(p['shipped'])})"]
    for f in result:
        out.append(f"  {f['label']}: train {f['train']['n']} runs {_mm(f['train'])}, test {f['test']['n']} runs "
                   f"{_mm(f['test'])} (shipped profile {_mm(f['test_shipped'])}), fit {f['fit_s']} s")
        out.append("    " + ", ".join(f"{UNITS[t][0]} {_term(f, t)}" for t in TIME_TERMS))
        out += [f"    {fam}: {s['fitted']['n']} runs {_mm(s['fitted'])} (shipped {_mm(s['shipped'])})"
                for fam, s in f["test_families"].items()]
    return out


def parse_terms(text: str) -> tuple[str, ...]:
    terms = tuple(t.strip() for t in text.split(",") if t.strip())
    if not terms or any(t not in TIME_TERMS for t in terms):
        raise ValueError(f"--terms {text}: time terms are {', '.join(TIME_TERMS)}")
    return terms


def main(argv: list[str] | None = None, prog: str = "bench/accuracy/crossval.py") -> int:
    """`prog`: the command the written files name (bench/accuracy/clock_crossval.py runs this with its own)."""
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="gpus", help="comma-separated: gpus, family, workload, random:K, workload:K")
    parser.add_argument("--terms", default=",".join(TIME_TERMS), help="time terms to fit (default: all six)")
    parser.add_argument("--start", default="shipped",
                        help="profile values the fit starts from: shipped, uncalibrated or from:PROFILE (the fitted "
                             "terms' values of another profile; module docstring)")
    parser.add_argument("--hardware", default="h200",
                        help="shipped profile; runs scored on another (another GPU or node kind) are left out")
    parser.add_argument("--seed", type=int, default=0, help="seed of random:K and workload:K")
    parser.add_argument("--jobs", type=int, default=1, help="folds fitted in parallel processes")
    parser.add_argument("--json", action="store_true", help="print the JSON instead of the text summary")
    parser.add_argument("--write", nargs="?", const=str(RESULTS / "crossval"), default=None,
                        help="also write OUT.md and OUT.json (default OUT: bench/results/crossval)")
    parser.add_argument("--suite", default=str(RESULTS / "accuracy"), help=argparse.SUPPRESS)
    parser.add_argument("--older", default=str(RESULTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    terms, splits = parse_terms(args.terms), [s.strip() for s in args.split.split(",") if s.strip()]
    began = time.monotonic()
    shipped = load_hardware(args.hardware)
    start = start_profile(shipped, args.start, terms)
    runs, left = load_runs(Path(args.suite), Path(args.older), shipped.name)
    for split in splits:
        folds(runs, split, args.seed)          # every split checked before the first fit
    results = {s: crossval(runs, s, start, shipped, terms, args.seed, args.jobs) for s in splits}
    command = f"python {prog} " + " ".join(sys.argv[1:] if argv is None else argv)
    data = {"command": command.strip(), "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "profile": shipped.name, "start": args.start, "terms": list(terms), "seed": args.seed,
            "runtime_s": round(time.monotonic() - began, 1), "left_out": left,
            "runs": {r.name: {"family": r.family, "workload": r.workload, "gpus": r.gpus,
                              "measured_s": r.pair.run.median_iteration_time_s} for r in runs},
            "shipped_values": {t: getattr(shipped, t) for t in TIME_TERMS}, "splits": results}
    print(to_json(data).rstrip("\n") if args.json
          else "\n".join(line for s, r in results.items() for line in text_lines(s, r)))
    if args.write:
        out = Path(args.write)
        write_text_atomic(out.with_suffix(".json"), to_json(data))
        write_text_atomic(out.with_suffix(".md"), render(data))
        print(f"wrote {out.with_suffix('.md')} and .json ({data['runtime_s']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from mist_ds.cli import run_cli

    run_cli(main)
