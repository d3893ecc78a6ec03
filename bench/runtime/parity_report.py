"""Tables and committed files of bench/runtime/parity.py.

`table(bundle)`: one row per parity configuration (both sides' median s/iter, the throughput ratio
plain-DeepSpeed time / mist_ds time - >= 1.0 means mist_ds is at least as fast -, MFU, peak memory)
and, when traced, one row per side with the trace summary's rank-0 figures.
`unpack(folder's parity.json, results, best_runs)` writes bench/results/runtime/parity/<config>.mist.run.json
(a RunReport), <config>.hf.json (the baseline result), <config>.plan.json, traces/, and merges the
pairs into bench/results/runtime_speed.json ({"parity": [{"config", "mist_ds_run", "plain_deepspeed_run"}],
"best_7b_runs": [...]}, issue 14) with runtime_speed.md, a table recomputed from the committed run files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mist_ds.config import RunReport
from mist_ds.config.units import GIB
from mist_ds.fileio import write_text_atomic


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _peak_gib(result: dict | None) -> float | None:
    peaks = (result or {}).get("peak_allocated_bytes") or []
    return max(peaks) / GIB if peaks else None


def ratio(mist: dict | None, plain: dict | None) -> float | None:
    """plain DeepSpeed's median iteration time over mist_ds's (>= 1: mist_ds at least as fast)."""
    a = (mist or {}).get("median_iteration_time_s") if (mist or {}).get("status") == "ok" else None
    b = (plain or {}).get("median_iteration_time_s") if (plain or {}).get("status") == "ok" else None
    return b / a if a and b else None


def _row(name: str, mist: dict | None, plain: dict | None) -> str:
    m, p = mist or {}, plain or {}
    return (f"| {name} | {m.get('status', 'none')} | {_fmt(m.get('median_iteration_time_s'), '.3f')} | "
            f"{p.get('status', 'none')} | {_fmt(p.get('median_iteration_time_s'), '.3f')} | "
            f"{_fmt(ratio(mist, plain), '.3f')} | {_fmt(m.get('mfu'), '.3f')} | {_fmt(p.get('mfu'), '.3f')} | "
            f"{_fmt(_peak_gib(mist), '.1f')} | {_fmt(_peak_gib(plain), '.1f')} | {_kernels(mist)} |")


def _kernels(mist: dict | None) -> str:
    """The mist_ds side's element-wise ops and loss (RunReport.kernels; '-' where not recorded)."""
    kernels = (mist or {}).get("kernels") or {}
    return ", ".join(f"{op} {kernels[op]}" for op in ("norm", "activation", "rope", "loss") if op in kernels) or "-"


HEADER = ("| config | mist_ds | s/iter | plain DS | s/iter | ratio (plain/mist) | MFU mist | MFU plain | "
          "peak GiB mist | peak GiB plain | mist_ds kernels |\n|---|---|---|---|---|---|---|---|---|---|---|")
TRACE_HEADER = ("| run (rank 0, traced step) | wall ms | GPU busy ms | idle | kernels | launches | host syncs | "
                "NCCL calls | gemm ms | attention ms | nccl ms | triton ms | other ms |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def _trace_row(name: str, s: dict) -> str:
    cat = s.get("kernel_ms_by_category", {})
    return (f"| {name} | {s['wall_ms']:.1f} | {s['gpu_busy_ms']:.1f} | {_fmt(s.get('gpu_idle_share'), '.1%')} | "
            f"{s['num_kernels']} | {s['kernel_launches']} | {s['host_syncs']['count']} | "
            f"{sum(s['nccl_calls'].values())} | " + " | ".join(_fmt(cat.get(k), ".1f") for k in
                                                             ("gemm", "attention", "nccl", "triton", "other")) + " |")


def table(bundle: dict) -> str:
    """Markdown: the parity table, then the traces' rank-0 summaries (if any)."""
    lines = [HEADER]
    traces = []
    for pair in bundle["pairs"]:
        name = pair["config"]["name"]
        if "not_run" in pair:
            lines.append(f"| {name} | not run: {pair['not_run']} |" + " |" * 8)
            continue
        lines.append(_row(name, pair["mist_ds"]["result"], pair["plain_deepspeed"]["result"]))
        for side in ("mist_ds", "plain_deepspeed"):
            rank0 = [s for f, s in pair[side]["traces"].items() if ".rank0." in f]
            traces += [_trace_row(f"{name} {side}", s) for s in rank0]
    return "\n".join(lines + (["", TRACE_HEADER, *traces] if traces else []))


def _checked_report(data: dict, what: str) -> dict:
    try:
        RunReport.model_validate({k: v for k, v in data.items() if k != "baseline_config"}, strict=False)
    except ValueError as err:
        raise ValueError(f"the {what} result is not a RunReport: {str(err).splitlines()[0]}") from None
    return data


def unpack(bundle: dict, folder: Path, results: Path, best_runs: list[str], rebuild=None,
           label: str = "") -> list[str]:
    """Commit a parity bundle (module docstring); the lines to print. `rebuild(pair)` (parity.py) makes
    the plan of a pair whose plans/ file did not come back with the bundle; it is committed only when
    its hash is the run's plan_hash. A non-empty `label` commits the pairs as '<config><label>' (files
    and runtime_speed.json entries), beside rather than over an unlabelled run of the same configuration
    (e.g. '+fastest' for a run with config/kernel_picks.py's fastest set)."""
    target = results / "runtime" / "parity"
    base = results.parent.parent
    speed_path = results / "runtime_speed.json"
    speed = json.loads(speed_path.read_text()) if speed_path.exists() else {"parity": [], "best_7b_runs": []}
    lines, entries = [], {e["config"]["name"]: e for e in speed["parity"]}
    for pair in bundle["pairs"]:
        config_name = pair["config"]["name"]
        name = config_name + label
        mist, plain = pair.get("mist_ds", {}).get("result"), pair.get("plain_deepspeed", {}).get("result")
        if mist is None or plain is None:
            lines.append(f"{name}: not committed (a side left no result)")
            continue
        files = {f"{name}.mist.run.json": _checked_report(mist, "mist_ds"),
                 f"{name}.hf.json": _checked_report(plain, "plain DeepSpeed")}
        for file, data in files.items():
            write_text_atomic(target / file, json.dumps(data, indent=2) + "\n")
        plan = folder / "plans" / f"{config_name}.plan.json"
        if plan.exists():
            shutil.copyfile(plan, target / f"{name}.plan.json")
        elif rebuild is not None:
            lines += _rebuilt_plan(rebuild(pair), mist, target / f"{name}.plan.json")
        for trace in sorted((folder / "traces").glob(f"{config_name}.*")):
            (target / "traces").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(trace, target / "traces" / (name + trace.name[len(config_name):]))
        entries[name] = {"config": {**pair["config"], "name": name},
                         "mist_ds_run": str((target / f"{name}.mist.run.json").relative_to(base)),
                         "plain_deepspeed_run": str((target / f"{name}.hf.json").relative_to(base))}
        lines.append(f"{name}: committed ({mist.get('status')} / {plain.get('status')}, "
                     f"ratio {_fmt(ratio(mist, plain), '.3f')})")
    for run in best_runs:
        RunReport.load(run)
        path = str(Path(run).resolve().relative_to(base.resolve()))
        speed["best_7b_runs"] = sorted(set(speed["best_7b_runs"]) | {path})
    speed["parity"] = list(entries.values())
    write_text_atomic(speed_path, json.dumps(speed, indent=2) + "\n")
    write_text_atomic(speed_path.with_suffix(".md"), speed_markdown(speed, base) + "\n")
    return lines + [f"wrote {speed_path} and {speed_path.with_suffix('.md')}"]


def _rebuilt_plan(plan, mist: dict, path: Path) -> list[str]:
    """Write a rebuilt plan when it is the plan the mist_ds run reports (same hash)."""
    if plan.without_prediction().content_hash() != mist.get("plan_hash"):
        return [f"{path.name}: not written (the rebuilt plan is not the one that ran)"]
    write_text_atomic(path, plan.to_json() + "\n")
    return [f"{path.name}: rebuilt (its plans/ file did not come back; same plan_hash)"]


def speed_markdown(speed: dict, base: Path) -> str:
    """runtime_speed.md, recomputed from the committed run files."""
    lines = ["# Runtime speed (issue 14)", "", "Same configuration through mist_ds and plain DeepSpeed "
             "(bench/runtime/parity.py); ratio = plain DeepSpeed s/iter / mist_ds s/iter. Both sides of a row "
             "ran back to back in one machine call; compare rows only through their ratios.", "",
             "Command: `python3 bench/runtime/parity.py run --out $OUT [--configs ...] [--trace]` on 2 GPUs, then "
             "`python bench/runtime/parity.py unpack $OUT/parity.json [--label=-fastest]`; a '-fastest' row ran "
             "with mist_ds/config/kernel_picks.py AUTO_USES_FASTEST set to True on the GPU machine. Machine "
             "files: bench/results/runtime/machine_*.txt.", "", HEADER]
    for entry in speed["parity"]:
        mist = json.loads((base / entry["mist_ds_run"]).read_text())
        plain = json.loads((base / entry["plain_deepspeed_run"]).read_text())
        lines.append(_row(entry["config"]["name"], mist, plain))
    lines += ["", "| config | GPUs | date (UTC, mist_ds run) | driver |", "|---|---|---|---|"]
    for entry in speed["parity"]:
        mist = json.loads((base / entry["mist_ds_run"]).read_text())
        lines.append(f"| {entry['config']['name']} | {mist.get('num_gpus')}x {mist.get('gpu_name')} | "
                     f"{mist.get('date_utc') or '-'} | {mist.get('driver_version') or '-'} |")
    if speed["best_7b_runs"]:
        lines += ["", "| best 7B run | s/iter | MFU |", "|---|---|---|"]
        for path in speed["best_7b_runs"]:
            report = RunReport.load(base / path)
            lines.append(f"| {path} | {_fmt(report.median_iteration_time_s, '.3f')} | {_fmt(report.mfu, '.3f')} |")
    return "\n".join(lines)
