#!/usr/bin/env python3
"""Plan quality (issue 10): mist_ds's winner vs the baseline grid's measured best, per workload.

    python bench/plan_quality.py plans      # the search's winner per workload -> bench/results/plan_quality/
    python bench/plan_quality.py report     # -> bench/results/plan_quality.{json,md}

Workloads are bench/baseline/grid.py WORKLOADS (the baseline grid runs the same names). `plans`
writes <workload>.plan.json (autotune winner on h200 under the workload's cap; a plan that ran is
kept, and `plans --refresh` moves it with its run to superseded/ when today's winner differs) and
jobs.json (the plans still to run), which the accuracy runner runs on a GPU machine:
    python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $OUT
    python bench/accuracy/unpack.py BUNDLE --results bench/results/plan_quality
`report` pairs each <workload>.run.json with bench/results/baseline/<workload>/*.json and writes
plan_quality.json: [{"workload", "mist_ds_run", "baseline_runs"}] (paths from the repository root)
and plan_quality.md: speedup (baseline best s/iter / mist_ds s/iter), MFU of both, GPU, date.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.baseline.grid import WORKLOADS, Workload, committed, run_report, untried  # noqa: E402
from mist_ds.compare import kernel_summary  # noqa: E402
from mist_ds.config import ClusterSpec, Plan, RunReport, TuneRequest  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402
from mist_ds.config.units import GIB  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def winner(w: Workload) -> Plan:
    """The search's best plan for the workload's request, with its prediction."""
    from mist_ds.config.profiles import load_hardware
    from mist_ds.api import tune

    hardware = load_hardware(w.hardware)
    request = TuneRequest(model=w.spec(), cluster=ClusterSpec(num_nodes=1, gpus_per_node=w.num_gpus),
                          global_batch_size=w.global_batch, seq_len=w.seq_len,
                          gpu_memory_cap_bytes=int(w.cap_gib * GIB) if w.cap_gib else None)
    result = tune(request, hardware, top_k=1)
    if not result.plans:
        raise ValueError("the search finds no plan that fits")
    return result.plans[0]


JOB_PRIORITY = ("llama7b-2g-c78-s4096-b32", "gpt6.7b-2g-c78-s4096-b32", "llama3-8b-2g-c78-s8192-b16",
                "llama7b-2g-c40-s4096-b32", "llama2.7b-2g-c24-s4096-b32", "llama2.7b-1g-c78-s4096-b16",
                "llama2.7b-1g-c24-s4096-b16", "llama7b-1g-c78-s4096-b16",
                "llama13b-2g-c78-s4096-b32")
"""Order of jobs.json (a machine call may run out before the last): the workloads whose baseline has
run first, the slow llama-13b last."""


def same_plan(a: Plan, b: Plan) -> bool:
    """Whether two plans run the same way (their predictions may differ)."""
    return a.without_prediction().content_hash() == b.without_prediction().content_hash()


def supersede(folder: Path, name: str) -> str:
    """Move a workload's ran plan and its run to folder/superseded/<name>.<run date>.{plan,run}.json;
    returns the new plan path's stem."""
    run = RunReport.model_validate_json((folder / f"{name}.run.json").read_text())
    stamp = (run.date_utc or "undated")[:19].replace(":", "")
    target = folder / "superseded"
    target.mkdir(parents=True, exist_ok=True)
    for kind in ("plan", "run"):
        (folder / f"{name}.{kind}.json").rename(target / f"{name}.{stamp}.{kind}.json")
    return f"{name}.{stamp}"


def restore(folder: Path, name: str, best: Plan) -> str | None:
    """Move back the newest superseded plan of `name` that runs like `best` (and its run), when the
    winner returns to a plan that already ran; returns its stem, or None."""
    for old in sorted((folder / "superseded").glob(f"{name}.*.plan.json"), reverse=True):
        run = old.with_name(old.name.replace(".plan.json", ".run.json"))
        if run.exists() and same_plan(best, Plan.load(old)):
            old.rename(folder / f"{name}.plan.json")
            run.rename(folder / f"{name}.run.json")
            return old.name.removesuffix(".plan.json")
    return None


def write_plans(folder: Path, names: list[str], refresh: bool = False) -> None:
    """Write each workload's winner unless it already ran; with `refresh`, a ran plan that is no
    longer the search's winner (the cost model changed) is superseded by today's winner, or by an
    earlier superseded plan that is the winner again (restored with its run, nothing to run)."""
    jobs = []
    for name in names:
        plan_path, run_path = folder / f"{name}.plan.json", folder / f"{name}.run.json"
        if run_path.exists() and not refresh:
            print(f"{name}: kept {plan_path.name} (it ran)")
            continue
        try:
            best = winner(WORKLOADS[name])
        except ValueError as err:
            print(f"{name}: {err}")
            continue
        if run_path.exists() and same_plan(best, Plan.load(plan_path)):
            print(f"{name}: kept {plan_path.name} (ran, still the winner)")
            continue
        if run_path.exists():
            print(f"{name}: superseded the ran plan ({supersede(folder, name)})")
        back = restore(folder, name, best)
        if back is not None:
            print(f"{name}: the winner is a plan that ran before: restored {back}")
            continue
        best.save(plan_path)
        print(f"{name}: wrote {plan_path.name}, predicted {best.prediction.iteration_time_s:.2f} s/iter")
        jobs.append({"name": name, "plan": str(plan_path.relative_to(ROOT) if plan_path.is_relative_to(ROOT) else plan_path)})
    jobs.sort(key=lambda job: JOB_PRIORITY.index(job["name"]) if job["name"] in JOB_PRIORITY else len(JOB_PRIORITY))
    write_text_atomic(folder / "jobs.json", json.dumps(jobs, indent=1) + "\n")


def _rel(path: Path) -> str:
    return str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)


def entries(folder: Path, baseline: Path) -> list[dict]:
    out = []
    for name in WORKLOADS:
        run = folder / f"{name}.run.json"
        base = sorted((baseline / name).glob("*.json")) if (baseline / name).is_dir() else []
        if run.exists() or base:
            out.append({"workload": name, "mist_ds_run": _rel(run) if run.exists() else None,
                        "baseline_runs": [_rel(p) for p in base]})
    return out


def load_result(path: str) -> RunReport:
    return run_report(json.loads((ROOT / path).read_text()))


def _f(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def failures(base: list[tuple[str, RunReport]]) -> str:
    """How a baseline grid's runs ended when none trained, e.g. '1 killed: signal 9'."""
    counts: dict[str, int] = {}
    for _, report in base:
        label = f"{report.status}: signal {report.signal}" if report.signal else report.status
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in counts.items())


def today_text(ran: Path, today: Plan | None) -> str:
    """The 'today's winner' cell: 'same' when the search's winner now is the plan that ran (`ran`: its
    plan file), else today's winner and its predicted s/iter ('-' when the search was not asked)."""
    if today is None:
        return "-"
    if ran.exists() and same_plan(today, Plan.load(ran)):
        return "same"
    return f"{today.describe(short=True)}, {today.prediction.iteration_time_s:.3f} predicted"


def todays_winners(names: list[str]) -> dict[str, Plan | None]:
    """The search's winner of each workload with the current cost model (None: nothing fits)."""
    out: dict[str, Plan | None] = {}
    for name in names:
        try:
            out[name] = winner(WORKLOADS[name])
        except ValueError:
            out[name] = None
    return out


def row(entry: dict, baseline: Path, today: str = "-") -> tuple[str, float | None, list[str]]:
    """One table row, the workload's speedup (None when either side has no successful run) and the baseline
    grid's points still untried (bench/baseline/grid.py untried; `baseline`: the committed grid results);
    `today`: its today's-winner cell (today_text)."""
    mist = load_result(entry["mist_ds_run"]) if entry["mist_ds_run"] else None
    base = [(p, load_result(p)) for p in entry["baseline_runs"]]
    ok = [(p, r) for p, r in base if r.status == "ok" and r.median_iteration_time_s]
    best_path, best = min(ok, key=lambda pr: pr[1].median_iteration_time_s) if ok else (None, None)
    mist_s = mist.median_iteration_time_s if (mist and mist.status == "ok") else None
    speedup = best.median_iteration_time_s / mist_s if (best and mist_s) else None
    base_text = (f"{best.median_iteration_time_s:.3f} ({Path(best_path).stem}, {len(ok)}/{len(base)} ran)"
                 if best else f"none trained ({failures(base)})" if base else "-")
    left = untried(WORKLOADS[entry["workload"]], committed(baseline, entry["workload"]))
    speedup_text = f"{'<= ' if left and speedup else ''}{speedup:.2f}x" if speedup else "-"
    gpu = (mist or best).gpu_name if (mist or best) else "-"
    date = ((mist or best).date_utc or "")[:10] if (mist or best) else ""
    status = mist.status if mist else "not run"
    text = (f"| {entry['workload']} | {_f(mist_s, '.3f')} ({status}) | {_f(mist.mfu if mist else None, '.1%')} | "
            f"{kernel_summary(mist.kernels) if mist else '-'} | "
            f"{base_text} | {_f(best.mfu if best else None, '.1%')} | {speedup_text} | "
            f"{', '.join(left) if left else 'none'} | {gpu} | {date or '-'} | {today} |")
    return text, speedup, left


def render(items: list[dict], folder: Path | None = None, baseline: Path = RESULTS / "baseline",
           today: dict[str, Plan | None] | None = None) -> str:
    """plan_quality.md; `today`: the search's winner per workload now (todays_winners; None: not asked,
    the column reads '-')."""
    folder = folder or RESULTS / "plan_quality"
    lines = ["# Plan quality: mist_ds's winner vs the DeepSpeed baseline's measured best", "",
             "Written by `python bench/plan_quality.py report`. Baseline: a Hugging Face model trained with "
             "plain DeepSpeed (`bench/baseline/`), best of its grid (ZeRO 0-3 x micro-batch x checkpointing, "
             "ZeRO-Offload when nothing else fits). Speedup = baseline best s/iter / mist_ds s/iter.", "",
             "The mist_ds run's kernels are those it recorded (RunReport.kernels): the runtime's default set is "
             "mist_ds/config/kernel_picks.py's fastest since 2026-11-30 (AUTO_USES_FASTEST), so a run of the "
             "eager set ('activation torch, ..., loss chunked') understates what the plan runs at today.", "",
             "A baseline grid cut short by its call's budget leaves points untried (the last column: neither "
             "run nor skipped for memory or an OOM's dominance, bench/baseline/grid.py untried); such a "
             "workload's speedup is an upper bound ('<=').", "",
             "'none trained': every baseline point that ran failed (e.g. killed by the host's OOM killer, signal "
             "9); such a workload has no speedup and is left out of the geometric mean.", "",
             "Today's winner: the search's winner for the workload with the cost model of this report; 'same' "
             "when it is the plan that ran. Where it differs, the row's speedup is an earlier winner's and today's "
             "has not run (`plans --refresh` queues it).", "",
             "| workload | mist_ds s/iter | mist_ds MFU | mist_ds kernels | baseline best s/iter | baseline MFU | "
             "speedup | baseline points untried | GPU | date | today's winner |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    speedups, bounds, earlier = [], 0, 0
    for entry in items:
        name = entry["workload"]
        cell = today_text(folder / f"{name}.plan.json", today.get(name)) if today is not None else "-"
        text, speedup, left = row(entry, baseline, cell)
        lines.append(text)
        if speedup is not None:
            speedups.append(speedup)
            bounds += bool(left)
            earlier += cell not in ("same", "-")
    if speedups:
        geo = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        lines += ["", f"Geometric mean over {len(speedups)} workloads: {geo:.2f}x (target >= 1.3x); lowest "
                  f"{min(speedups):.2f}x (target >= 1.0x in every workload). {bounds} of the {len(speedups)} "
                  "speedups are upper bounds (baseline grid not finished)"
                  + (f"; {earlier} are of an earlier winner (today's has not run)." if earlier else ".")]
    else:
        lines += ["", "No workload has both a mist_ds run and a successful baseline run yet."]
    return "\n".join(lines + superseded_lines(folder)) + "\n"


def superseded_lines(folder: Path) -> list[str]:
    """Earlier winners that ran and were superseded after a cost-model change (plans --refresh)."""
    lines = []
    for run in sorted(folder.glob("superseded/*.run.json")):
        report = RunReport.model_validate_json(run.read_text())
        workload = next((w for w in WORKLOADS if run.name.startswith(w + ".")), run.name)
        lines.append(f"| {workload} | `{_rel(run)}` | {report.status} | "
                     f"{_f(report.median_iteration_time_s, '.3f')} | {_f(report.mfu, '.1%')} |")
    if not lines:
        return []
    return ["", "Earlier winners (superseded by today's search; kept with their runs):", "",
            "| workload | run | status | s/iter | MFU |", "|---|---|---|---|---|", *lines]


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/plan_quality.py", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("plans", "report"))
    parser.add_argument("--workloads", default="", help="comma-separated (default: all)")
    parser.add_argument("--folder", default=str(RESULTS / "plan_quality"), help="mist_ds plans and runs")
    parser.add_argument("--baseline", default=str(RESULTS / "baseline"), help="baseline results")
    parser.add_argument("--out", default=str(RESULTS / "plan_quality"), help="writes OUT.json and OUT.md")
    parser.add_argument("--refresh", action="store_true",
                        help="plans: replace a ran plan that is no longer the winner (kept in superseded/)")
    args = parser.parse_args(argv)
    names = [n for n in args.workloads.split(",") if n] or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        print(f"error: unknown workload(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    folder = Path(args.folder).resolve()
    if args.command == "plans":
        write_plans(folder, names, args.refresh)
        return 0
    try:
        items = [e for e in entries(folder, Path(args.baseline)) if e["workload"] in names]
        text = render(items, folder, Path(args.baseline), todays_winners([e["workload"] for e in items]))
    except (ValueError, OSError) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    out = Path(args.out)
    write_text_atomic(out.with_suffix(".json"), json.dumps(items, indent=1) + "\n")
    write_text_atomic(out.with_suffix(".md"), text)
    print(f"wrote {out.with_suffix('.md')}: {len(items)} workloads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
