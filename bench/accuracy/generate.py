#!/usr/bin/env python3
"""Write bench/results/accuracy/<case>.plan.json for every case of the catalogue (before a GPU run).

    python bench/accuracy/generate.py [--cases A,B] [--hardware h200] [--check]

Each plan carries the current cost model's prediction (on --hardware) so the runner can size its
time limits; the plan hash (which the run records) leaves the prediction out. A plan that already
has a <case>.run.json beside it is never rewritten: what ran stays exact. An autotune case is the
search's winner at generation time and is frozen the same way once it has run.
--check: exit 1 when a case's committed plan is missing or differs from its knobs (CI-safe, no
writes). Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.cases import CASES, AutotuneCase, Case  # noqa: E402
from bench.accuracy.schema import GIB, to_plan  # noqa: E402
from mist_ds.config import PRESETS, ClusterSpec, Plan, SearchSpace, TuneRequest, resolve_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "accuracy"


def plan_path(name: str, results: Path = RESULTS) -> Path:
    return results / f"{name}.plan.json"


def run_path(name: str, results: Path = RESULTS) -> Path:
    return results / f"{name}.run.json"


def autotune_plan(case: AutotuneCase, hardware) -> Plan:
    """The search's winner for the case's request, with its prediction."""
    from mist_ds.api import tune

    model = case.model if case.model in PRESETS else str(ROOT / case.model)
    request = TuneRequest(model=resolve_model(model),
                          cluster=ClusterSpec(num_nodes=1, gpus_per_node=case.num_gpus),
                          global_batch_size=case.global_batch, seq_len=case.seq_len,
                          space=SearchSpace.model_validate(case.space, strict=False),
                          gpu_memory_cap_bytes=int(case.cap_gib * GIB))
    result = tune(request, hardware, top_k=1)
    if not result.plans:
        raise ValueError(f"{case.name}: the search finds no plan that fits")
    return result.plans[0]


def build(case: Case | AutotuneCase, hardware) -> Plan:
    """The case's plan with the cost model's prediction on `hardware`; an autotune case is searched on the
    profile it names (AutotuneCase.hardware: the machine's host memory and cores decide its winner)."""
    if isinstance(case, AutotuneCase):
        from mist_ds.config.profiles import load_hardware

        return autotune_plan(case, load_hardware(case.hardware))
    from mist_ds.cost import predict_plan

    plan = to_plan(case.knobs)
    return plan.model_copy(update={"prediction": predict_plan(plan, hardware)})


def summary(name: str, plan: Plan, action: str) -> str:
    pred = plan.prediction
    cap = plan.gpu_memory_cap_bytes
    peaks = "/".join(f"{s.peak_memory_bytes / GIB:.1f}" for s in pred.stages) if pred else "-"
    host = max((s.cpu_memory_bytes for s in pred.stages), default=0) / GIB if pred else 0
    fits = "" if not (pred and cap) else ("" if max(s.peak_memory_bytes for s in pred.stages) <= cap
                                           else "  OVER CAP")
    time = f"{pred.iteration_time_s:.2f}s" if pred else "-"
    return (f"{action:8} {name:44} {time:>8}  peak {peaks} / {cap / GIB if cap else 0:.0f} GiB"
            f"  host {host:.0f} GiB/GPU{fits}")


def check(names: list[str], results: Path) -> int:
    """Committed plans match their knobs (autotune plans: exist)."""
    bad = []
    for name in names:
        case, path = CASES[name], plan_path(name, results)
        if not path.exists():
            bad.append(f"{name}: missing {path}")
        elif isinstance(case, Case):
            want = to_plan(case.knobs).content_hash()
            if Plan.load(path).without_prediction().content_hash() != want:
                bad.append(f"{name}: {path.name} differs from the case's knobs")
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


def generate(names: list[str], hardware, results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = plan_path(name, results)
        if path.exists() and run_path(name, results).exists():
            old = Plan.load(path)
            if isinstance(CASES[name], Case) and old.without_prediction() != to_plan(CASES[name].knobs):
                print(f"warning: {name}: has a run, so its plan is kept, but the case's knobs changed: "
                      "give the changed case a new name", file=sys.stderr)
            print(summary(name, old, "kept"))
            continue
        plan = build(CASES[name], hardware)
        plan.save(path)
        print(summary(name, plan, "wrote"))


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser
    from mist_ds.config.profiles import load_hardware

    parser = OneLineParser(prog="bench/accuracy/generate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--hardware", default="h200",
                        help="profile of the predictions stored in hand-set plans (autotune cases use their own)")
    parser.add_argument("--results", default=str(RESULTS), help="folder of <case>.plan.json")
    parser.add_argument("--check", action="store_true", help="verify, write nothing")
    args = parser.parse_args(argv)
    names = [n for n in args.cases.split(",") if n] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    try:
        if unknown:
            raise ValueError(f"unknown case(s): {', '.join(unknown)}")
        if args.check:
            return check(names, Path(args.results))
        generate(names, load_hardware(args.hardware), Path(args.results))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
