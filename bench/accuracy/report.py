#!/usr/bin/env python3
"""Re-score every committed (plan, run) pair with the current cost model (`make accuracy`, CPU only).

    python bench/accuracy/report.py [--out bench/results/accuracy]   # writes accuracy.md + accuracy.json

Pairs: bench/results/accuracy/<case>.plan.json + <case>.run.json (the suite), the older runs
bench/results/runs_h200x2_*.json matched by plan hash to bench/results/gpu_plans/*.json, the runtime
parity runs' mist_ds side, the executor comparisons and the plan-quality winners. Each run is
re-predicted on the shipped profile of the GPU it reports (mist_ds.config.profiles.profile_for_gpu), for the
element-wise and loss kernels it ran (RunReport.kernels; none recorded: the eager set). A run is
in-sample when its case says so (Case.in_sample) or when a profile's provenance names its file as
the data of a calibrated term. Exit 2 on bad input (e.g. a run on a GPU without a shipped profile).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.cases import CASES, AutotuneCase  # noqa: E402
from bench.accuracy.repeats import repeat_pairs, spread_rows, spread_summary  # noqa: E402
from bench.accuracy.scoring import Scored, rank_correlations, score, summary  # noqa: E402
from bench.accuracy.track_record import left_out_checks, track_record  # noqa: E402
from mist_ds.config import RunReport  # noqa: E402
from mist_ds.config.plan import plan_file_hashes  # noqa: E402
from mist_ds.config.units import GIB  # noqa: E402
from mist_ds.config.track_record import TRACK_RECORD_PATH, TrackRecord  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402
from mist_ds.source_version import cost_model_digest  # noqa: E402
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
TARGETS = {"time median": 0.05, "time max": 0.10, "memory median": 0.02, "memory max": 0.05,
           "host max": 0.10, "spearman": 0.9, "runs": 40}


def suite_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    return [(run.name[: -len(".run.json")], folder / run.name.replace(".run.json", ".plan.json"), run)
            for run in sorted(folder.glob("*.run.json"))]


def older_pairs(results: Path) -> list[tuple[str, Path, Path]]:
    """runs_h200x2_*.json whose plan_hash matches a gpu_plans/*.json plan."""
    plans = {h: p for p in sorted((results / "gpu_plans").glob("*.json")) for h in plan_file_hashes(p)}
    out = []
    for run in sorted(results.glob("runs_h200x2_*.json")):
        plan = plans.get(RunReport.load(run).plan_hash)
        if plan is not None:
            out.append(("older:" + run.stem.removeprefix("runs_h200x2_"), plan, run))
    return out


def parity_pairs(results: Path) -> list[tuple[str, Path, Path]]:
    """The mist_ds side of the runtime-parity runs (bench/runtime/parity.py unpack):
    runtime/parity/<config>.mist.run.json beside <config>.plan.json."""
    folder = results / "runtime" / "parity"
    return [("parity:" + run.name.removesuffix(".mist.run.json"), folder / run.name.replace(".mist.run.json", ".plan.json"),
             run) for run in sorted(folder.glob("*.mist.run.json"))]


def engine_pairs(results: Path) -> list[tuple[str, Path, Path]]:
    """The engine's runs, as committed: engine/<folder>/<name>.run.json beside <name>.plan.json
    (bench/engine/executor_compare.py writes executor_compare_<workload>/<executor>.*; profiled runs are
    kept as *.profiled-run.json and not scored: the profiler slows the step)."""
    return [(f"engine:{run.parent.name.removeprefix('executor_compare_')}/{run.name.removesuffix('.run.json')}",
             run.with_name(run.name.replace(".run.json", ".plan.json")), run)
            for run in sorted((results / "engine").glob("*/*.run.json"))]


def kernel_run_pairs(results: Path) -> list[tuple[str, Path, Path]]:
    """Runs of one plan with different kernel sets (runtime/<folder>/, parity/ aside):
    <plan>.<label>.run.json beside <plan>.plan.json (e.g. runtime/fastest_1g/; profiled runs are kept
    as *.profiled-run.json and not scored)."""
    runs = [run for run in sorted((results / "runtime").glob("*/*.run.json")) if run.parent.name != "parity"]
    return [(f"kernels:{run.parent.name}/{run.name.removesuffix('.run.json')}",
             run.with_name(run.name.removesuffix(".run.json").rsplit(".", 1)[0] + ".plan.json"), run) for run in runs]


def plan_quality_pairs(results: Path) -> list[tuple[str, Path, Path]]:
    """The search's winners run for plan quality (bench/plan_quality.py): plan_quality/<workload>.run.json
    beside <workload>.plan.json, and the superseded ones under plan_quality/superseded/."""
    folder = results / "plan_quality"
    runs = sorted(folder.glob("*.run.json")) + sorted(folder.glob("superseded/*.run.json"))
    return [("plan-quality:" + run.name.removesuffix(".run.json"), run.with_name(run.name.replace(".run.json", ".plan.json")),
             run) for run in runs]


def provenance_terms(run_path: Path, notes: list[str]) -> tuple[str, ...]:
    """Calibrated terms whose provenance sentence names this run's file."""
    rel = str(run_path.resolve().relative_to(ROOT)) if run_path.resolve().is_relative_to(ROOT) else run_path.name
    terms = []
    for note in notes:
        for part in re.split(r";\s|\.\s", note):
            if rel in part:
                terms += re.findall(r"(\w+)=", part)[:1] or ["profile calibration"]
    return tuple(terms)


def collect(folder: Path, results: Path) -> tuple[list[Scored], list[str]]:
    from mist_ds.config.profiles import available_profiles, load_hardware

    notes = [load_hardware(name).provenance.notes for name in available_profiles()]
    cache: dict = {}
    rows, unscored, seen = [], [], {}
    for source, pairs in (("suite", suite_pairs(folder)), ("repeat", repeat_pairs(folder)),
                          ("older", older_pairs(results)),
                          ("parity", parity_pairs(results)), ("engine", engine_pairs(results)),
                          ("kernels", kernel_run_pairs(results)),
                          ("plan-quality", plan_quality_pairs(results))):
        for name, plan, run in pairs:
            if not plan.exists():
                unscored.append(f"{name}: no {plan.name} beside {run.name}")
                continue
            raw = run.read_bytes()
            copy_of = seen.setdefault(raw, name)
            if copy_of != name:
                unscored.append(f"{name}: a copy of {copy_of}'s run, scored once")
                continue
            case = CASES.get(name)
            in_sample = tuple(dict.fromkeys((case.in_sample if case else ()) + provenance_terms(run, notes)))
            rows.append(score(name, source, plan, run, in_sample, cache))
    return rows, unscored


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def _abs_pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _rho(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _gib(value) -> str:
    return "-" if value is None else f"{value / GIB:.2f}"


def targets(overall: dict, corr: dict) -> list[tuple[str, str, bool]]:
    t, m, h = overall["time"], overall["memory_vs_reserved"], overall["host_memory"]
    a = overall["memory_vs_allocated"]
    worst_rho = min((c["spearman"] for c in corr.values() if c["spearman"] is not None), default=None)

    def le(value, goal):
        return value is not None and value <= goal

    return [
        (f"time: >= {TARGETS['runs']} runs, median |error| <= 5%, max <= 10%",
         f"{t['n']} runs, median {_abs_pct(t['median'])}, max {_abs_pct(t['max'])}",
         t["n"] >= TARGETS["runs"] and le(t["median"], TARGETS["time median"]) and le(t["max"], TARGETS["time max"])),
        ("Spearman >= 0.9 in every workload with >= 4 plans (per kernel set)",
         f"{len(corr)} workload x kernel-set groups, lowest {_rho(worst_rho)}",
         bool(corr) and worst_rho is not None and worst_rho >= TARGETS["spearman"]),
        ("memory vs max_memory_reserved: median <= 2%, max <= 5%",
         f"median {_abs_pct(m['median'])}, max {_abs_pct(m['max'])}",
         le(m["median"], TARGETS["memory median"]) and le(m["max"], TARGETS["memory max"])),
        ("memory vs max_memory_allocated (decides OOM; the reserved bounds applied to it): median <= 2%, max <= 5%",
         f"median {_abs_pct(a['median'])}, max {_abs_pct(a['max'])}",
         le(a["median"], TARGETS["memory median"]) and le(a["max"], TARGETS["memory max"])),
        ("host memory of offload plans within 10%", f"{h['n']} runs, max {_abs_pct(h['max'])}",
         h["n"] > 0 and le(h["max"], TARGETS["host max"])),
        ("0 plans predicted to fit that ran out of memory",
         f"{overall['oom_predicted_to_fit']} under the cap, {overall['oom_predicted_within_margin']} within the "
         f"search's {DEFAULT_MEMORY_MARGIN_RATIO:.0%} margin", overall["oom_predicted_to_fit"] == 0),
    ]


def search_winner(row: Scored) -> bool:
    """The run's plan was the search's winner when it was written: an autotune case of the catalogue (its
    suite run or a repeat of it, both beside <case>.plan.json) or a plan-quality run (mist_ds's winner for
    its workload); the hand-written suite cases, engine, parity and older runs are not."""
    if row.source == "plan-quality":
        return True
    case = Path(row.plan_path).name.removesuffix(".plan.json")
    return row.source in ("suite", "repeat") and isinstance(CASES.get(case), AutotuneCase)


def family_rows(rows: list[Scored]) -> list[str]:
    out = ["| family | runs | ok | time median | time max | time bias (median signed; under) | "
           "mem (allocated) median | max | mem (reserved) median | max | host median | host max | OOM predicted to fit |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups = sorted({r.family for r in rows})
    for label, group in [(f, [r for r in rows if r.family == f]) for f in groups] + [
            ("**all**", rows), ("**held-out**", [r for r in rows if not r.in_sample]),
            ("**search winners**", [r for r in rows if search_winner(r)])]:
        s = summary(group)
        bias = s["time"]["median_signed"]
        out.append(f"| {label} | {s['runs']} | {s['ok']} | {_abs_pct(s['time']['median'])} | "
                   f"{_abs_pct(s['time']['max'])} | {'-' if bias is None else _pct(bias)}; "
                   f"{s['time']['under']} of {s['time']['n']} | {_abs_pct(s['memory_vs_allocated']['median'])} | "
                   f"{_abs_pct(s['memory_vs_allocated']['max'])} | {_abs_pct(s['memory_vs_reserved']['median'])} | "
                   f"{_abs_pct(s['memory_vs_reserved']['max'])} | {_abs_pct(s['host_memory']['median'])} | "
                   f"{_abs_pct(s['host_memory']['max'])} | {s['oom_predicted_to_fit']} |")
    return out


def kind_rows(record: TrackRecord, checks: dict[str, tuple[int, int, int, int]]) -> list[str]:
    """The track record autotune, predict and compare quote (bench/accuracy/track_record.py), a row a kind, with
    its time range (measured / predicted) and how the range did on each plan left out of it (`checks`:
    track_record.left_out_checks)."""
    out = ["| kind | runs | plans | trained | time median | time max | slower than predicted | allocated median | "
           "allocated max | OOM predicted to fit | time range (measured / predicted) | left-out plans inside | "
           "left-out runs inside | dates |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, r in record.kinds.items():
        dates = r.first_date if r.first_date == r.last_date else f"{r.first_date} .. {r.last_date}"
        span = "-" if not r.time_ratio_span else f"{r.time_ratio_low:.2f}-{r.time_ratio_high:.2f} ({r.time_ratio_span})"
        plans, plans_in, runs, runs_in = checks[kind]
        out.append(f"| {kind} | {r.runs} | {r.plans} | {r.ok} | {_abs_pct(r.time_median)} | {_abs_pct(r.time_max)} | "
                   f"{r.slower_than_predicted} | {_abs_pct(r.allocated_median)} | {_abs_pct(r.allocated_max)} | "
                   f"{r.oom_predicted_to_fit} | {span} | {f'{plans_in} of {plans}' if plans else '-'} | "
                   f"{f'{runs_in} of {runs}' if runs else '-'} | {dates or '-'} |")
    return out


def range_check_line(record: TrackRecord, checks: dict[str, tuple[int, int, int, int]]) -> str:
    """The left-out checks of kind_rows summed over the kinds of each range type."""
    parts = []
    for span, what in (("p10-p90", "10th-90th percentile ranges"), ("min-max", "whole ranges")):
        totals = [0, 0, 0, 0]
        for kind, r in record.kinds.items():
            if r.time_ratio_span == span:
                totals = [a + b for a, b in zip(totals, checks[kind])]
        if totals[0]:
            parts.append(f"{what}: {totals[1]} of {totals[0]} left-out plans ({totals[1] / totals[0]:.0%}) and "
                         f"{totals[3]} of {totals[2]} of their runs ({totals[3] / totals[2]:.0%}) inside")
    return "Held out, by the kind's range type: " + "; ".join(parts) + "." if parts else ""


def run_rows(rows: list[Scored]) -> list[str]:
    out = ["| run | family | status | predicted s | measured s | time err | predicted GiB | allocated GiB | "
           "err | predicted / measured reserved GiB | err | host pred / RSS GiB | host err | in-sample |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        worst = max(r.memory, key=lambda m: m["predicted_bytes"])
        status = r.status + ("" if r.same_plan else " (plan changed since the run)")
        if r.status == "oom":
            status += " (predicted to fit)" if r.predicted_fit else " (predicted over the cap)"
        host = f"{_gib(r.host_predicted_bytes)} / {_gib(r.host_measured_bytes)}" if r.host_measured_bytes else "-"
        out.append(f"| {r.name} | {r.family} | {status} | {r.predicted_s:.3f} | "
                   f"{'-' if r.measured_s is None else f'{r.measured_s:.3f}'} | {_pct(r.time_error)} | "
                   f"{_gib(worst['predicted_bytes'])} | {_gib(worst['allocated_bytes'])} | {_pct(r.mem_error_allocated)} | "
                   f"{_gib(worst['predicted_reserved_bytes'])} / {_gib(worst['reserved_bytes'])} | "
                   f"{_pct(r.mem_error_reserved)} | {host} | "
                   f"{_pct(r.host_error)} | {', '.join(r.in_sample) or '-'} |")
    return out


def kernel_note(rows: list[Scored]) -> str:
    """One line: how many runs recorded which kernel set (RunReport.kernels)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.kernels] = counts.get(row.kernels, 0) + 1
    sets = sorted(counts.items(), key=lambda item: (item[0] == "not recorded", -item[1], item[0]))
    return "Kernels (RunReport.kernels): " + ("; ".join(
        f"{n} run{'s' if n != 1 else ''} {label if label == 'not recorded' else 'ran ' + label}"
        for label, n in sets) or "-") + "."


def rejected_rows(rows: list[Scored]) -> list[str]:
    """The runs of plans the current search would not emit, and why."""
    out = ["| run | family | status | predicted s | measured s | time err | why the search rejects it now |",
           "|---|---|---|---|---|---|---|"]
    return out + [f"| {r.name} | {r.family} | {r.status} | {r.predicted_s:.3f} | "
                  f"{'-' if r.measured_s is None else f'{r.measured_s:.3f}'} | {_pct(r.time_error)} | {r.rejected} |"
                  for r in rows]


def no_expseg_rows(rows: list[Scored]) -> list[str]:
    """The runs made without expandable segments, with their memory beside the prediction."""
    out = ["| run | family | status | predicted s | measured s | time err | predicted GiB | allocated GiB | "
           "err | reserved GiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        worst = max(r.memory, key=lambda m: m["predicted_bytes"])
        status = r.status + ((" (predicted to fit)" if r.predicted_fit else " (predicted over the cap)")
                             if r.status == "oom" else "")
        out.append(f"| {r.name} | {r.family} | {status} | {r.predicted_s:.3f} | "
                   f"{'-' if r.measured_s is None else f'{r.measured_s:.3f}'} | {_pct(r.time_error)} | "
                   f"{_gib(worst['predicted_bytes'])} | {_gib(worst['allocated_bytes'])} | "
                   f"{_pct(r.mem_error_allocated)} | {_gib(worst['reserved_bytes'])} |")
    return out


def probed_rows(rows: list[Scored]) -> list[str]:
    """The runs that measured their copy pair: the optimizer path they ran and the one the profile's pair picks,
    the pair, the time error on it and on the profile's pair."""
    out = ["| run | family | optimizer path ran | the profile's pair picks | h2d / d2h beside each other | "
           "predicted s | measured s | time err | on the profile's pair |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h2d, d2h = r.copy_slowdowns
        out.append(f"| {r.name} | {r.family} | {r.optimizer_path or '-'} | {r.profile_optimizer_path or '-'} | "
                   f"{h2d:.3f} / {d2h:.3f} | "
                   f"{r.predicted_s:.3f} | {'-' if r.measured_s is None else f'{r.measured_s:.3f}'} | "
                   f"{_pct(r.time_error)} | {_pct(r.profile_pair_time_error)} |")
    return out


def retry_rows(rows: list[Scored]) -> list[str]:
    """The runs whose caching allocator retried (released its cache and synchronised), with their errors."""
    out = ["| run | family | allocator retries per rank (per timed step, the most over ranks) | predicted s | "
           "measured s | time err | reserved GiB measured / predicted (worst stage) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        worst = max(r.memory, key=lambda m: m["reserved_bytes"] or 0)
        per_step = "" if r.step_alloc_retries is None else f" (timed steps {r.step_alloc_retries})"
        out.append(f"| {r.name} | {r.family} | {r.alloc_retries}{per_step} | {r.predicted_s:.3f} | "
                   f"{'-' if r.measured_s is None else f'{r.measured_s:.3f}'} | {_pct(r.time_error)} | "
                   f"{_gib(worst['reserved_bytes'])} / {_gib(worst['predicted_reserved_bytes'])} |")
    return out


def unreleased_text(rows: list[Scored]) -> str:
    """'A-B MiB' of memory reserved but unallocated at the runs' OOMs (their torch messages)."""
    held = sorted(r.unreleased_bytes for r in rows if r.unreleased_bytes is not None)
    return f"{held[0] / 2**20:.0f}-{held[-1] / 2**20:.0f} MiB" if held else "no figure"


def scored(rows: list[Scored]) -> list[Scored]:
    """The runs the targets cover: plans the current search emits, run with expandable segments, scored on a
    profile calibrated from runs."""
    return [r for r in rows if not r.rejected and not r.no_expandable_segments and not r.uncalibrated]


def apart_uncalibrated(rows: list[Scored]) -> list[Scored]:
    """The runs listed apart only for their profile: scored on one no run calibrated, not already apart for
    another reason (rejected, no expandable segments)."""
    return [r for r in rows if r.uncalibrated and not r.rejected and not r.no_expandable_segments]


def uncalibrated_rows(rows: list[Scored]) -> list[str]:
    """The runs scored on a profile no run calibrated: time, allocated and host errors, and their medians."""
    out = ["| run | family | status | predicted s | measured s | time err | allocated err | host err |",
           "|---|---|---|---|---|---|---|---|"]
    out += [f"| {r.name} | {r.family} | {r.status} | {r.predicted_s:.3f} | "
            f"{'-' if r.measured_s is None else f'{r.measured_s:.3f}'} | {_pct(r.time_error)} | "
            f"{_pct(r.mem_error_allocated)} | {_pct(r.host_error)} |" for r in rows]
    times = [abs(r.time_error) for r in rows if r.time_error is not None]
    if times:
        out += ["", f"Median / max |time error| {_pct(statistics.median(times)).lstrip('+')} / "
                    f"{_pct(max(times)).lstrip('+')} over {len(times)} runs."]
    return out


def build_note(rows: list[Scored]) -> str:
    """One line: how the runs' ZeRO-3 models were built (RunReport.zero_init), which sets the start-up
    term they are scored with."""
    zero3 = [r for r in rows if r.family in ("zero3", "zero3-offload", "weight-offload")]
    counts = {label: sum(1 for r in zero3 if r.zero_init is value)
              for label, value in (("under deepspeed.zero.Init", True), ("whole, recorded", False),
                                   ("not recorded (whole-model build)", None))}
    return ("ZeRO-3 builds (RunReport.zero_init): "
            + "; ".join(f"{n} {label}" for label, n in counts.items() if n) + "." if zero3 else "")


def writeback_note(rows: list[Scored]) -> str:
    """One line: how many runs recorded ZeRO-3's cross-device write-back each way (RunReport.writeback_cast),
    which each is priced with (cost/writeback.py); the others are priced DeepSpeed's way."""
    counts = {way: sum(1 for r in rows if r.writeback_cast == way) for way in ("device", "host")}
    if not any(counts.values()):
        return ""
    return ("ZeRO-3 write-backs across the bus (RunReport.writeback_cast), each run priced as it recorded: "
            f"{counts['device']} by DMA from pinned memory ('device', the runtime's default since session 66), "
            f"{counts['host']} recorded DeepSpeed's way ('host'); every unrecorded run is priced DeepSpeed's way.")


def intro(rows: list[Scored]) -> str:
    """What the report compares, and how memory is scored."""
    return ("Written by `make accuracy` (`bench/accuracy/report.py`): every committed plan + run pair "
            "re-predicted by the current cost model on the shipped profile of the GPU the run reports. "
            "Errors are (predicted - measured) / measured; a plan's memory error is its worst stage's; a "
            "family's time bias is its median signed error and how many of its runs were priced short. "
            "Memory is scored twice. The predicted peak targets max_memory_allocated: that decides whether "
            "a plan runs out of memory, since under expandable segments (the runtime's default) the caching "
            "allocator releases its cache and retries before it fails (the OOM runs held "
            f"{unreleased_text(rows)} reserved but unallocated when they failed). Reserved memory is "
            "predicted as the allocated peak plus the holes DeepSpeed's partition-sized transient buffers "
            "leave, per ZeRO class, or for mistpipe a share of the stage's vocabulary matrices "
            "(mist_ds/cost/reserved.py, bench/accuracy/RESERVED.md), at most the cap "
            "(uncapped runs take the card's memory), and is reported only. Host memory compares the "
            "predicted offloaded state per GPU with the rank's peak RSS (which also holds the process's "
            f"own base). Cost model: `mist_ds/cost` digest {cost_model_digest()} (mist_ds/source_version.py; "
            "tests/bench/test_track_record.py fails when the committed report was scored by other code).")


def render(all_rows: list[Scored], unscored: list[str]) -> str:
    rows = scored(all_rows)
    overall, corr = summary(rows), rank_correlations(rows)
    gpus = sorted({f"{r.gpu_name} ({r.hardware})" for r in rows})
    dates = sorted({r.date for r in rows if r.date})
    lines = ["# Cost-model accuracy", "",
             intro(rows), "",
             f"Runs: {overall['runs']} ({overall['ok']} ok, {overall['oom']} out of memory, "
             f"{overall['killed']} killed, {overall['timeout_or_error']} time-out/error) on "
             f"{', '.join(gpus) or '-'}; run dates {dates[0] + ' .. ' + dates[-1] if dates else 'not recorded'}"
             + "".join(f"; and {n} {what} (listed apart)" for n, what in (
                 (sum(1 for r in all_rows if r.rejected), "runs of plans the current search rejects"),
                 (sum(1 for r in all_rows if r.no_expandable_segments and not r.rejected),
                  "runs without expandable segments"),
                 (len(apart_uncalibrated(all_rows)), "runs scored on a profile no run calibrated")) if n) + ".",
             "", kernel_note(rows), "", build_note(rows), "", writeback_note(rows), "",
             "## Targets (issue 10)", "", "| target | now | met |", "|---|---|---|"]
    lines += [f"| {goal} | {now} | {'yes' if met else '**no**'} |" for goal, now, met in targets(overall, corr)]
    lines += ["", "## By family", ""] + family_rows(rows)
    lines += ["", "## By kind: the track record autotune, predict and compare quote", "",
              "The held-out runs by the kind of plan (mist_ds/config/plan_kind.py: family, a stock ZeRO-3 plan's "
              "fetch unit, one GPU or several), as mist_ds/config/track_record.json ships them (a kind's median time "
              "error, when above the model's, is also its plans' tie tolerance in the search: mist_ds/api.py "
              "time_tolerance). The time range is what autotune and predict quote as 'Expect ... s/iter' (the "
              "prediction times it): the 10th-90th percentile of measured / predicted time with each plan weighted "
              "equally from 10 plans, the whole range from 3, none below. The last two columns check it held out: "
              "each plan left out in turn, against the range of the kind's other plans (a plan counts inside when its "
              "median ratio does; a 10th-90th percentile range should hold about 80% of new plans).", ""]
    record, checks = track_record(rows), left_out_checks(rows)
    lines += kind_rows(record, checks) + ["", range_check_line(record, checks)]
    lines += ["", "## Rank correlation per workload and kernel set (>= 4 distinct plans that ran under it)", "",
              "Plans are ranked against plans run under the same kernels, with predictions for those kernels (the "
              "kernels move a plan's time as much as plans differ). A plan file is one point per kernel set, at the "
              "median measured time of its runs under that set (bench/accuracy/scoring.py rank_correlations).",
              "", "| workload | GPU | kernels | plans | runs | Spearman |", "|---|---|---|---|---|---|"]
    lines += [f"| {c['workload']} | {c['gpu']} | {c['kernel_set']} | {c['plans']} | {c['runs']} | "
              f"{_rho(c['spearman'])} |"
              for c in corr.values()] or ["| (none yet) | | | | | |"]
    lines += ["", "## Runs", ""] + run_rows(rows)
    lines += ["", "## Plans measured more than once (bench/accuracy/repeats.py)", "",
              "The spread is what the measurement itself varies between runs of one plan and kernel set "
              "(different machine calls, or alone vs two runs per host): no model can be more accurate on "
              "that plan than this.", "", spread_summary(rows, TARGETS["time max"]), ""] + spread_rows(rows)
    retried = [r for r in rows if r.alloc_retries and max(r.alloc_retries) > 0]
    if retried:
        lines += ["", "## Runs whose caching allocator retried (RunReport.alloc_retries, recorded since 2026-11-30)",
                  "", "A retry frees the cache and synchronises the device; the cost model does not price it. "
                  "bench/results/engine/README.md (S6-2) measured what it costs a plan at its cap.", ""]
        lines += retry_rows(retried)
    probed = [r for r in rows if r.copy_slowdowns]
    if probed:
        lines += ["", "## Runs that measured their machine's both-ways copies (RunReport.copy_slowdowns, "
                  "since 2026-12-06)",
                  "", "Each such run is priced on its own (h2d, d2h) pair in place of the profile's (mist_ds/config/"
                  "machine.py; the runtime chose its optimizer path on it, runtime/copy_probe.py, unless its "
                  "ds_config set the path by hand); the last column is the error the profile's pair would give with "
                  "the path the run ran.", ""]
        lines += probed_rows(probed)
    old = [r for r in all_rows if r.no_expandable_segments and not r.rejected]
    if old:
        lines += ["", "## Runs without expandable segments (not in the targets above)", "",
                  f"These {len(old)} runs {old[0].no_expandable_segments}.", ""]
        lines += no_expseg_rows(old)
    uncalibrated = apart_uncalibrated(all_rows)
    if uncalibrated:
        lines += ["", "## Runs scored on a profile no run calibrated (not in the targets above)", "",
                  f"{uncalibrated[0].uncalibrated}: autotune, predict and compare say so beside such predictions "
                  "(mist_ds/emit/report.py uncalibrated_line); `python -m mist_ds.calibrate` fits the terms from "
                  "runs like these.", ""]
        lines += uncalibrated_rows(uncalibrated)
    rejected = [r for r in all_rows if r.rejected]
    if rejected:
        lines += ["", "## Runs of plans the current search rejects (not in the targets above)", ""]
        lines += rejected_rows(rejected)
    if unscored:
        lines += ["", "## Not scored", ""] + [f"- {line}" for line in unscored]
    return "\n".join(lines) + "\n"


def track_record_path(out: Path) -> Path:
    """Where the track record goes without --track-record: into the package for the committed results
    (the default --out), beside OUT.md for any other report (a test's, a scratch re-score)."""
    return TRACK_RECORD_PATH if out.resolve() == (RESULTS / "accuracy").resolve() else out.with_suffix(".track_record.json")


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/report.py", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=str(RESULTS / "accuracy"), help="folder of <case>.{plan,run}.json")
    parser.add_argument("--older", default=str(RESULTS), help="folder of runs_h200x2_*.json and gpu_plans/")
    parser.add_argument("--out", default=str(RESULTS / "accuracy"), help="writes OUT.md and OUT.json")
    parser.add_argument("--track-record", default=None,
                        help="writes the per-kind record autotune and predict quote (default: the package's "
                             "mist_ds/config/track_record.json with the default --out, else OUT.track_record.json)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    record_path = Path(args.track_record) if args.track_record else track_record_path(out)
    missing = [str(p.parent) for p in (out, record_path) if not p.parent.is_dir()]
    if missing:   # before anything is written
        print(f"error: no folder {missing[0]} to write into", file=sys.stderr)
        return 2
    try:
        rows, unscored = collect(Path(args.suite), Path(args.older))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    kept = scored(rows)   # the targets cover plans the current search emits, run with expandable segments
    covered = {id(r) for r in kept}
    data = {"cost_model_digest": cost_model_digest(),
            "summary": summary(kept), "held_out": summary([r for r in kept if not r.in_sample]),
            "search_winners": summary([r for r in kept if search_winner(r)]),
            "families": {f: summary([r for r in kept if r.family == f]) for f in sorted({r.family for r in kept})},
            "rank_correlation": rank_correlations(kept), "runs": [{**asdict(r), "targeted": id(r) in covered} for r in rows],
            "rejected": [r.name for r in rows if r.rejected],
            "no_expandable_segments": [r.name for r in rows if r.no_expandable_segments],
            "uncalibrated": [r.name for r in rows if r.uncalibrated], "not_scored": unscored}
    write_text_atomic(out.with_suffix(".json"), json.dumps(data, indent=1) + "\n")
    write_text_atomic(out.with_suffix(".md"), render(rows, unscored))
    track_record(kept).save(record_path)
    print(f"wrote {out.with_suffix('.md')}, .json and {record_path}: {len(rows)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
