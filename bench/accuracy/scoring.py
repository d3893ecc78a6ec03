"""Score committed (plan, run) pairs against the CURRENT cost model: per-run errors and the
statistics the accuracy report prints. Pure apart from reading files; no torch.

Each run is predicted as it ran (mist_ds/cost/conditions.py RunConditions.of_run: its kernels, ZeRO-3
start-up, mistpipe engine options and stock activation-offload copy mode, from its RunReport).
Errors are relative: (predicted - measured) / measured. Memory is per stage: the measured peak of
a stage is the largest over its ranks (mist_ds.compare.stage_peaks); a plan's memory error is the
error of its worst stage. Host memory (offload plans): the prediction's per-GPU cpu_memory_bytes
against the largest per-rank peak RSS of the stage (RSS includes the process's own base, which
the prediction may leave out; the report says so).

Memory: the predicted peak targets max_memory_allocated, which decides OOM under expandable segments
(config/hardware.py allocator_overhead_fraction). Reserved memory is predicted by
mist_ds/cost/reserved.py predicted_reserved_bytes: the predicted peak plus the allocator's holes in
16-bit partitions per ZeRO/offload class, or the cap where that would pass it (the plan's memory cap
or, uncapped, the card's memory), since the allocator reserves up to it before it releases its cache.
Runs without expandable segments (NO_EXPANDABLE_SEGMENTS) used an allocator the runtime no longer
uses; the report scores them apart.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.accuracy.cases import family, workload
from bench.accuracy.schema import knobs_of
from mist_ds.compare import kernel_summary, rel_error, stage_peaks
from mist_ds.config.plan import plan_file_hashes
from mist_ds.config.plan_kind import plan_kind
from mist_ds.config.profiles import profile_for_gpu
from mist_ds.config import HardwareProfile, Plan, RunReport
from mist_ds.config.profiles import load_hardware
from mist_ds.config.request import HostLimits
from mist_ds.config.units import GIB
from mist_ds.cost.kernel_set import EAGER, KernelSet
from mist_ds.cost.conditions import RunConditions, stock_act_offload
from mist_ds.cost.mistpipe_step import stage_optimizer_paths
from mist_ds.cost.plan_predict import predict_plan
from mist_ds.cost.reserved import predicted_reserved_bytes
from mist_ds.emit.host import node_need_bytes
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO


@dataclass
class Scored:
    """One committed pair, re-predicted."""

    name: str
    source: str
    """'suite' (bench/results/accuracy) or 'older' (bench/results/runs_h200x2_* + gpu_plans)."""
    plan_path: str
    run_path: str
    family: str
    workload: str
    status: str
    gpu_name: str
    date: str
    hardware: str
    same_plan: bool
    in_sample: tuple[str, ...]
    predicted_fit: bool
    predicted_within_margin: bool
    """The predicted peak is within the cap less the search's memory margin (search/driver.py
    DEFAULT_MEMORY_MARGIN_RATIO): the search would emit the plan today."""
    predicted_s: float
    measured_s: float | None
    time_error: float | None
    memory: list[dict] = field(default_factory=list)
    mem_error_reserved: float | None = None
    mem_error_allocated: float | None = None
    host_predicted_bytes: int | None = None
    host_measured_bytes: int | None = None
    host_error: float | None = None
    error_message: str = ""
    kernels: str = "not recorded"
    """The kernels the run recorded (mist_ds.compare.kernel_summary of RunReport.kernels), or
    'not recorded' for a run older than that record."""
    kernel_set: str = EAGER.summary()
    """The kernel set its prediction is made for (run_kernels: an empty record is the eager set; an op
    recorded 'none' keeps the default), as KernelSet.summary() names it (rank_correlations)."""
    plan_id: str = ""
    """Content hash of the plan without its prediction: copies of one plan file in several folders
    (a plan re-run under other kernels) are one plan (rank_correlations), and plan_point_id: a run that
    wrote back on the device is another point of it."""
    writeback_cast: str | None = None
    """RunReport.writeback_cast of the run (None: no ZeRO-3 write-back across devices, or not recorded): the
    write-back its prediction used (cost/conditions.py writeback_cast_of)."""
    date_utc: str = ""
    """RunReport.date_utc of the run (when it started; rank_correlations takes the prediction of a plan's
    first run under a kernel set)."""
    zero_init: bool | None = None
    """RunReport.zero_init of the run (None: not recorded, the whole-model build): the ZeRO-3
    start-up term its prediction used (cost/memory.py, Build)."""
    act_offload_copy: str | None = None
    """The activation-offload copy mode its prediction used (conditions.act_offload_copy_of of the
    run's record and torch version) for a stock plan with offloaded blocks; None for other plans."""
    unreleased_bytes: int | None = None
    """An OOM run's memory reserved but unallocated when it failed (torch's message; None otherwise):
    what the allocator could not release, which the search's memory margin has to cover."""
    no_expandable_segments: str = ""
    """Why this run is scored apart (NO_EXPANDABLE_SEGMENTS_REASON) when it ran without expandable
    segments, else ''; the report lists such runs apart and leaves them out of the targets."""
    step_alloc_retries: list[int] | None = None
    """RunReport.step_alloc_retries: the retries per timed step (the most over ranks), None when not recorded."""
    copy_slowdowns: list[float] | None = None
    """RunReport.copy_slowdowns: the (h2d, d2h) pair the run measured at start, on which it is priced
    (RunConditions.of_run); None when it measured none."""
    profile_pair_time_error: float | None = None
    """A run that measured its pair: its time error priced on the profile's own pair instead (what the
    report said before the probe); None otherwise."""
    optimizer_path: str | None = None
    """The mistpipe optimizer offload path the run recorded running on every stage (RunConditions.optimizer_path
    of RunReport.adam_impl: 'gpu_swap' or 'cpu_adam', whether the start-up probe or a hand-set ds_config chose
    it), which its prediction takes; None for other runs and where stages ran different paths."""
    profile_optimizer_path: str | None = None
    """A mistpipe run that measured its copy pair: the path the cost model picks on the profile's own pair
    (cost/mistpipe_step.py stage_optimizer_paths; 'mixed' where its stages differ), what the run would have
    taken without the probe; None otherwise."""
    alloc_retries: list[int] | None = None
    """RunReport.alloc_retries per rank (the caching allocator's num_alloc_retries: each one released
    cached blocks and synchronised the device), None when the run did not record it."""
    rejected: str = ""
    """Why the current search would not emit this plan (its host-memory rule), or '' when it would;
    the report lists such runs apart and leaves them out of the targets."""
    uncalibrated: str = ""
    """Why this run is scored apart when its profile prices no host-thread time (HardwareProfile
    .prices_host_thread: no run calibrated it, so the prediction leaves out what the fitted terms carry on
    calibrated profiles), else ''; the report lists such runs apart and leaves them out of the targets."""
    kind: str = ""
    """mist_ds/config/plan_kind.py plan_kind of the plan (family and GPU span): the key of the shipped
    track record (bench/accuracy/track_record.py)."""


ROOT = Path(__file__).resolve().parents[2]

NO_EXPANDABLE_SEGMENTS_REASON = (
    "ran without PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, which the runtime sets since "
    "2026-11-26 17:20 UTC (commit be873db; bench/results/runs_h200x2_README.md): that allocator keeps "
    "its fragmented cache at OOM (18.25 GiB reserved but unallocated in the pp2 run), so allocated "
    "memory does not decide whether such a run fits")
NO_EXPANDABLE_SEGMENTS = frozenset({
    f"bench/results/runs_h200x2_{name}.json" for name in (
        "gpt-1.3b", "llama-7b", "llama-7b-zero3", "llama-7b-zero3-mb2-rc14",   # rounds 1-2, 16:47-16:54 UTC
        "gpt-1.3b-calibrated", "llama-7b-pp2-calibrated-noexpseg")})          # round 3, before be873db
"""Run files (repo-relative) of the runs made before the runtime set expandable segments (the
README's rounds 1-3; `runs_h200x2_llama-7b-pp2-calibrated.json` is the same plan re-run with them).
Runs since 2026-11-30 record their allocator setting themselves (RunReport.cuda_alloc_conf)."""


def repo_relative(path: Path) -> str:
    """`path` relative to the checkout when inside it (committed reports must not name this machine's
    folders), else as given."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def _worst(errors: list[float | None]) -> float | None:
    known = [e for e in errors if e is not None]
    return max(known, key=abs) if known else None


def machine_file_cores(run_path: Path) -> int | None:
    """The CPU count the machine files beside a run recorded (bench/calls/prefix.sh writes `nproc` as
    the last line of $R/machine.txt; the call's files are committed as machine*.txt next to its runs),
    when every such file in the run's folder agrees; else None."""
    counts = set()
    for path in Path(run_path).parent.glob("machine*.txt"):
        lines = path.read_text().split()
        if lines and lines[-1].isdigit():
            counts.add(int(lines[-1]))
    return counts.pop() if len(counts) == 1 else None


def bundle_cores(run_path: Path) -> int | None:
    """The CPU count of the call a repeat ran in: `repeats/<case>.<LABEL>.run.json` came from the batch
    bundle `repeats/bundles/<LABEL>.json` (bench/accuracy/repeats.py add), whose machine record holds it;
    None for other runs or a bundle without it."""
    path = Path(run_path)
    if path.parent.name != "repeats" or "." not in path.name.removesuffix(".run.json"):
        return None
    bundle = path.parent / "bundles" / (path.name.removesuffix(".run.json").rsplit(".", 1)[1] + ".json")
    if not bundle.is_file():
        return None
    return json.loads(bundle.read_text()).get("machine", {}).get("cpu_count")


def hardware_of(run: RunReport, cache: dict[str, HardwareProfile],
                run_path: Path | None = None) -> HardwareProfile:
    """The shipped profile of the GPU and node kind the run reports (config/profiles.py profile_for_gpu;
    the node's cores from RunReport.host_cpu_cores, else from the bundle of the call a repeat ran in, else
    from the machine files beside the run); one-line ValueError if the GPU has none."""
    cores = run.host_cpu_cores or (bundle_cores(run_path) or machine_file_cores(run_path)
                                   if run_path is not None else None)
    name = profile_for_gpu(run.gpu_name, cores)
    if name not in cache:
        cache[name] = load_hardware(name)
    return cache[name]


def host_rejection(plan: Plan, prediction, hw: HardwareProfile, offloads: bool) -> str:
    """Why the current host-memory rule (config/request.py HostLimits with its defaults: the profile's
    memory, the margin per process, the share kept free) rejects an offloading plan, or ''."""
    if not offloads:
        return ""
    host = HostLimits.of(hw, plan.cluster.gpus_per_node)
    need = max(node_need_bytes(plan.model_copy(update={"prediction": prediction}), host))
    if need <= host.usable_bytes:
        return ""
    return (f"host memory: its node needs {need / GIB:.1f} GiB of the {host.usable_bytes / GIB:.1f} GiB offloaded "
            f"state may take ({host.free_fraction:.0%} of {host.memory_bytes / GIB:.0f} GiB kept free)")


def score(name: str, source: str, plan_path: Path, run_path: Path, in_sample: tuple[str, ...],
          cache: dict[str, HardwareProfile]) -> Scored:
    plan, run = Plan.load_checked(plan_path, "plan"), RunReport.load_checked(run_path, "run report")
    hw = hardware_of(run, cache, run_path)
    bare = plan.without_prediction()
    conditions = RunConditions.of_run(bare, run)
    pred = predict_plan(bare, hw, conditions)
    knobs = knobs_of(plan)
    cap = plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes
    ok = run.status == "ok"
    alloc, reserved = stage_peaks(plan, run.peak_allocated_bytes), stage_peaks(plan, run.peak_reserved_bytes)
    rss = stage_peaks(plan, run.host_peak_rss_bytes)
    memory = [{"stage": i, "predicted_bytes": s.peak_memory_bytes, "allocated_bytes": alloc[i],
               "predicted_reserved_bytes": predicted_reserved_bytes(plan, i, s.peak_memory_bytes, hw, cap),
               "reserved_bytes": reserved[i], "host_predicted_bytes": s.cpu_memory_bytes,
               "host_rss_bytes": rss[i]} for i, s in enumerate(pred.stages)]
    # a plan that keeps state or activations in host memory (every prediction holds the process base)
    offload = plan.uses_host_memory
    host = [(s.cpu_memory_bytes, r) for s, r in zip(pred.stages, rss) if r]
    host_pred, host_meas = max(host, key=lambda pair: pair[1]) if (offload and ok and host) else (None, None)
    peak = max(s.peak_memory_bytes for s in pred.stages)
    return Scored(
        name=name, source=source, plan_path=repo_relative(plan_path), run_path=repo_relative(run_path),
        family=family(knobs), workload=workload(knobs), kind=plan_kind(plan), status=run.status,
        gpu_name=run.gpu_name, date=run.date_utc[:10], hardware=hw.name, same_plan=run.plan_hash in plan_file_hashes(plan_path),
        in_sample=in_sample, predicted_fit=peak <= cap,
        predicted_within_margin=peak <= cap * (1 - DEFAULT_MEMORY_MARGIN_RATIO),
        predicted_s=pred.iteration_time_s, measured_s=run.median_iteration_time_s if ok else None,
        time_error=rel_error(pred.iteration_time_s, run.median_iteration_time_s) if ok else None,
        memory=memory,
        mem_error_reserved=_worst([rel_error(m["predicted_reserved_bytes"], m["reserved_bytes"])
                                   for m in memory]) if ok else None,
        mem_error_allocated=_worst([rel_error(m["predicted_bytes"], m["allocated_bytes"]) for m in memory]) if ok else None,
        host_predicted_bytes=host_pred, host_measured_bytes=host_meas,
        host_error=rel_error(host_pred, host_meas), error_message=run.error_message,
        kernels=kernel_summary(run.kernels), kernel_set=run_kernels(run).summary(), date_utc=run.date_utc,
        plan_id=plan_point_id(bare.content_hash(), run.writeback_cast), writeback_cast=run.writeback_cast,
        zero_init=run.zero_init,
        act_offload_copy=conditions.act_offload_copy if stock_act_offload(plan) else None,
        rejected=host_rejection(plan, pred, hw, offload),
        unreleased_bytes=unreleased_at_oom(run.status, run.error_message),
        alloc_retries=list(run.alloc_retries or ()) or None,
        step_alloc_retries=list(run.step_alloc_retries) or None,
        copy_slowdowns=list(run.copy_slowdowns) or None,
        profile_pair_time_error=profile_pair_error(bare, hw, conditions, run) if ok else None,
        optimizer_path=conditions.optimizer_path,
        profile_optimizer_path=profile_path(bare, hw) if conditions.copy_slowdowns else None,
        no_expandable_segments=NO_EXPANDABLE_SEGMENTS_REASON if without_expandable_segments(run, run_path) else "",
        uncalibrated="" if hw.prices_host_thread else f"{hw.name} prices no host-thread time (no run calibrated it)")


def profile_pair_error(bare: Plan, hw: HardwareProfile, conditions: RunConditions, run: RunReport) -> float | None:
    """The time error of a run that measured its copy pair, priced on the profile's pair instead; None for
    a run that measured none."""
    if conditions.copy_slowdowns is None:
        return None
    profile_pair = predict_plan(bare, hw, replace(conditions, copy_slowdowns=None))
    return rel_error(profile_pair.iteration_time_s, run.median_iteration_time_s)


def profile_path(bare: Plan, hw: HardwareProfile) -> str | None:
    """The optimizer offload path the cost model picks for a mistpipe plan's stages on profile `hw` ('mixed'
    where stages differ; None for another executor or a plan that offloads no optimizer state)."""
    if bare.executor != "mistpipe":
        return None
    paths = {path for path, _ in stage_optimizer_paths(bare, hw) if path != "none"}
    if len(paths) > 1:
        return "mixed"
    return paths.pop() if paths else None


def without_expandable_segments(run: RunReport, run_path: Path) -> bool:
    """Whether the run's allocator could not release its cache before an OOM: its own record
    (RunReport.cuda_alloc_conf) when it has one, else the list of runs made before the runtime set
    expandable segments (NO_EXPANDABLE_SEGMENTS)."""
    if run.cuda_alloc_conf is not None:
        return "expandable_segments:true" not in run.cuda_alloc_conf.replace(" ", "").lower()
    return repo_relative(run_path) in NO_EXPANDABLE_SEGMENTS


UNRELEASED = re.compile(r"([\d.]+) (GiB|MiB|KiB) is reserved by PyTorch but unallocated")


def unreleased_at_oom(status: str, error_message: str) -> int | None:
    """Bytes the allocator still held reserved but unallocated when the run ran out of memory (torch's
    OutOfMemoryError message), or None (not an OOM, or a message without the figure)."""
    found = UNRELEASED.search(error_message) if status == "oom" else None
    return None if found is None else round(float(found[1]) * {"GiB": 2**30, "MiB": 2**20, "KiB": 2**10}[found[2]])


def run_kernels(run: RunReport) -> KernelSet:
    """The element-wise and loss kernels a run ran (RunReport.kernels; an empty record is the eager
    set, which every run before the record existed ran): the set its prediction is made for."""
    return KernelSet.from_record(run.kernels, run.date_utc)


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rank correlation (ties get their average rank); None for < 2 points or no spread."""
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    if len(xs) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else None


def summary(rows: list[Scored]) -> dict:
    """Counts, median and max |error| of time, memory (vs reserved and allocated) and host memory, and
    each one's bias: the median signed error and how many were under-predicted (error < 0)."""
    def stats(values: list[float | None]) -> dict:
        signed = [v for v in values if v is not None]
        known = [abs(v) for v in signed]
        return {"n": len(known), "median": statistics.median(known) if known else None,
                "max": max(known) if known else None,
                "median_signed": statistics.median(signed) if signed else None,
                "under": sum(v < 0 for v in signed)}

    return {
        "runs": len(rows), "ok": sum(r.status == "ok" for r in rows),
        "time": stats([r.time_error for r in rows]),
        "memory_vs_reserved": stats([r.mem_error_reserved for r in rows]),
        "memory_vs_allocated": stats([r.mem_error_allocated for r in rows]),
        "host_memory": stats([r.host_error for r in rows]),
        "oom_predicted_to_fit": sum(r.status == "oom" and r.predicted_fit for r in rows),
        "oom_predicted_within_margin": sum(r.status == "oom" and r.predicted_within_margin for r in rows),
        "oom": sum(r.status == "oom" for r in rows),
        "killed": sum(r.status == "killed" for r in rows),
        "timeout_or_error": sum(r.status in ("timeout", "error") for r in rows),
    }


def plan_point_id(content_hash: str, writeback_cast: str | None) -> str:
    """Scored.plan_id: the plan's content hash, with '+writeback-device' for a run that wrote ZeRO-3's GPU
    sub-groups back on the device (runtime/writeback_cast.py): that runs the same plan 2-4x faster than
    DeepSpeed's own write-back (bench/results/runtime/writeback_ab_S66/), so its runs are another plan for
    rankings, per-plan weights and spreads, as a plan under another kernel set is."""
    return content_hash + ("+writeback-device" if writeback_cast == "device" else "")


def rank_correlations(rows: list[Scored], min_plans: int = 4) -> dict[str, dict]:
    """Spearman of predicted vs measured time per workload and kernel set (Scored.kernel_set) with
    >= min_plans distinct plans that ran under that set, keyed 'workload [kernel set]'.

    A ranking compares plans under one kernel set, as the search ranks them: the prediction is made for
    the run's kernels, and the kernels move a plan's time by as much as plans differ (llama-1.3b 1-GPU
    ZeRO-0 mb4: 0.508 s predicted eager, 0.383 fused). A plan (Scored.plan_id: copies of one plan file are
    one plan) is one point in each set it ran under, at the median measured time of its runs there:
    repeats (bench/accuracy/repeats.py) measure the machine's spread, not the ranking, and as separate
    points their equal predictions would tie against unequal measurements. Runs of one set may come
    from several machine calls, which differ by a few percent (swiglu_1g_S11/README.md: one plan and set
    3.5% apart in two calls). Until session 23 a plan counted once, under the set of its first run, which
    ranked plans run under different sets against each other (llama-1.3b 1-GPU: 0.40; by set 0.90 and
    1.00). Plans are ranked against runs on one GPU model only (an H100 run of a workload is not a point among
    its H200 plans: session 43's first H100 runs)."""
    by: dict[tuple[str, str, str], dict[str, list[Scored]]] = {}
    for row in rows:
        if row.measured_s is not None:
            key = (row.workload, row.gpu_name, row.kernel_set)
            by.setdefault(key, {}).setdefault(row.plan_id or row.plan_path, []).append(row)
    out = {}
    for (workload, gpu, kernel_set), plans in sorted(by.items()):
        if len(plans) >= min_plans:
            points = [_plan_point(runs) for runs in plans.values()]
            out[f"{workload} on {gpu} [{kernel_set}]"] = {
                "workload": workload, "gpu": gpu, "kernel_set": kernel_set, "plans": len(points),
                "runs": sum(n for *_, n in points),
                "spearman": spearman([p for p, _, _ in points], [m for _, m, _ in points])}
    return out


def _plan_point(runs: list[Scored]) -> tuple[float, float, int]:
    """(predicted, median measured, run count) of one plan's runs under one kernel set (the prediction
    of its first run there)."""
    first = min(runs, key=lambda r: r.date_utc)
    return first.predicted_s, statistics.median(r.measured_s for r in runs), len(runs)