#!/usr/bin/env python3
"""The grid a DeepSpeed user explores, run with the baseline script (bench/baseline/train_hf.py).

    python bench/baseline/grid.py run --workload llama7b-2g-c78-s4096-b32 --out $OUT --budget-s 500
    python bench/baseline/grid.py unpack $OUT/baseline_<workload>.json   # -> bench/results/baseline/<workload>/

Grid (DeepSpeed Autotuner's space plus checkpointing): ZeRO 0-3 x micro-batch x HF gradient checkpointing
off/on; then ZeRO-Offload (ZeRO-2/3 + CPU Adam, checkpointing on) only when nothing else ran (--zero-stages
and --micro-batches narrow that phase too). ZeRO-3 points run after the ZeRO 0-2 ones (grid() says why).
Skipped without running: a configuration whose model states alone exceed the cap (DeepSpeed's own estimate,
autotuning/autotuner.py get_instantiation_memory_required_per_gpu), one whose model states plus activations
exceed the cap by more than memory.SAFETY_FACTOR (bench/baseline/memory.py: Korthikanti et al. 2022 per-
layer activations, HF's fp32 loss; DeepSpeed's autotuner prunes micro-batches with activation memory too,
measured at micro-batch 1 in a profiling run and scaled linearly, autotuner.py tune_space), one dominated by
a recorded OOM (same ZeRO stage, checkpointing and offload, smaller or equal micro-batch), and one already
committed under --results (so a workload can span several calls); a ZeRO-Offload point at a ZeRO stage whose
offload point was killed for host memory (host_killed). Runs are sequential (each uses every GPU
of the workload), each with a time limit from a FLOP estimate; an OOM, a time-out or a signal is a result.
A point is skipped when its estimate, scaled by what this call's finished points of its kind took against
theirs (calibrated_s), exceeds the budget left; each run records both (expected_s, budgeted_s).
Once a run has finished, a later one stops after its first timed step when that step is EARLY_STOP_RATIO
slower than the best median so far (recorded as "stopped_early_above_s"). Exit 0 when the grid ran, 2 on bad
input.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy import machine  # noqa: E402
from bench.accuracy.jobs import killing_signal, last_error_line, run_with_limit  # noqa: E402
from bench.baseline.memory import FORMULA, SAFETY_FACTOR, estimate_bytes, model_states_bytes  # noqa: E402
from mist_ds.config import ModelSpec, RunReport, get_preset  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402
from mist_ds.config.units import GIB  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "baseline"
MICRO_BATCHES = (1, 2, 4, 8)
ASSUMED_MFU = 0.35         # for time limits only
CKPT_FACTOR, OFFLOAD_FACTOR = 4 / 3, 1.5
"""Step-time factors of the FLOP estimate, for time limits and the budget only. OFFLOAD_FACTOR was 3.0 until
session 6, which left the llama7b-c40 grid (only ZeRO-Offload fits) unrun: measured ZeRO-Offload steps are ~1.0x
the estimate with checkpointing's factor (first wave's llama-13b ZeRO-3 + offload + checkpointing, 20.98 s vs
22.0; plan_quality/llama7b-2g-c40-s4096-b32.run.json, ZeRO-1 offload without, 8.38 s vs 8.73); 1.5 keeps a margin.
"""
STARTUP_S, PER_BPARAM_S, OFFLOAD_PER_BPARAM_S = 40.0, 3.0, 5.0
"""Start-up seconds of a run, for time limits and the budget only. OFFLOAD_PER_BPARAM_S was 8.0 until session 9,
whose ZeRO-2 + CPU Adam runs started in 60-65 s (llama-2.7b) and 89 s (llama-7b): wall minus 5 x the median step,
bench/results/baseline/llama2.7b-2g-c24-s4096-b32/ and llama7b-2g-c40-s4096-b32/ (8.0 estimated 70 and 114 s,
so a call's budget skipped points that would have fit); 5.0 gives 62 and 94 s."""
BASE_PORT = 29811
EARLY_STOP_RATIO = 1.25
"""A run stops after its first timed step when that step took longer than this times the best median so
far. (DeepSpeed's autotuner also stops early, differently: after `tuner_early_stopping` experiments without
improvement, autotuning/config.py.) Iteration times
of one configuration vary by a few percent (RunReport.iteration_time_iqr_s of the committed runs), so a
configuration 25% slower on its first timed step cannot become the best."""


@dataclass(frozen=True)
class Workload:
    model: str
    """mist_ds preset name or a ModelSpec JSON file."""
    num_gpus: int
    cap_gib: float | None
    seq_len: int
    global_batch: int
    max_seq_len: int | None = None
    """Override of the preset's max_seq_len (a GPT shape at seq 4096)."""
    hardware: str = "h200"
    """Profile of the node kind the workload runs on: the search tunes on it, MFU divides by its peak
    (the 1-GPU workload runs on the 1-GPU node, whose host side has its own profile)."""

    def spec(self) -> ModelSpec:
        spec = ModelSpec.load(self.model) if self.model.endswith(".json") else get_preset(self.model)
        return spec.model_copy(update={"max_seq_len": self.max_seq_len}) if self.max_seq_len else spec


# The plan-quality workloads of issue 10 (2 GPUs unless said).
WORKLOADS = {
    "llama7b-2g-c78-s4096-b32": Workload("llama-7b", 2, 78, 4096, 32),
    "gpt6.7b-2g-c78-s4096-b32": Workload("gpt-6.7b", 2, 78, 4096, 32, max_seq_len=4096),
    "llama13b-2g-c78-s4096-b32": Workload("llama-13b", 2, 78, 4096, 32),
    "llama7b-2g-c40-s4096-b32": Workload("llama-7b", 2, 40, 4096, 32),
    "llama2.7b-2g-c24-s4096-b32": Workload("llama-2.7b", 2, 24, 4096, 32),
    "llama3-8b-2g-c78-s8192-b16": Workload("llama3-8b", 2, 78, 8192, 16),
    "llama2.7b-1g-c78-s4096-b16": Workload("llama-2.7b", 1, 78, 4096, 16, hardware="h200-1gpu-node"),
    # beyond the list: a 1-GPU workload where memory binds (only ZeRO-Offload fits the plain
    # DeepSpeed user), measurable in full on the 1-GPU machine
    "llama2.7b-1g-c24-s4096-b16": Workload("llama-2.7b", 1, 24, 4096, 16, hardware="h200-1gpu-node"),
    # beyond the list: a 7B model on one 78 GiB card (its model states, 16 bytes a parameter, do not
    # fit: the plain DeepSpeed user has ZeRO-Offload only)
    "llama7b-1g-c78-s4096-b16": Workload("llama-7b", 1, 78, 4096, 16, hardware="h200-1gpu-node"),
    # beyond the list: Llama-3-8B on one 78 GiB card, mist_ds's held-out b24 workload
    # (auto-l38b-1g-c78-s4096-b16); ZeRO-Offload's host state, ~16 bytes a parameter, is ~128 GB here
    "llama3-8b-1g-c78-s4096-b16": Workload("llama3-8b", 1, 78, 4096, 16, hardware="h200-1gpu-node"),
    # beyond the list: the 24 GiB Llama-2.7B workload on the other card the device tool lends, one H100
    # of the 16-core 1-GPU node (its own profile): plan quality on a second GPU model
    "h100n-llama2.7b-1g-c24-s4096-b16": Workload("llama-2.7b", 1, 24, 4096, 16, hardware="h100-1gpu-node"),
}


@dataclass(frozen=True)
class Config:
    zero: int
    micro_batch: int
    checkpointing: bool
    offload: bool = False

    @property
    def name(self) -> str:
        return (f"z{self.zero}-mb{self.micro_batch}-{'ckpt' if self.checkpointing else 'nockpt'}"
                + ("-offload" if self.offload else ""))


def grid(w: Workload, zeros=(0, 1, 2, 3), micro_batches=MICRO_BATCHES, ckpts=(False, True),
         offload: bool = False) -> list[Config]:
    """The configurations in run order: ZeRO 0-2 before ZeRO-3; within each, checkpointing off before on,
    then ascending ZeRO stage, then ascending micro-batch (smaller first: its OOM dominates the larger ones).

    ZeRO-3 goes last because the committed runs price it above checkpointing: ZeRO-3 without checkpointing
    took 9.14 s/iter (gpt6.7b-2g-c78) and 17.82 s/iter (llama7b-2g-c78) against 6.38 and 7.80 for ZeRO-1
    with checkpointing, 1.43x and 2.28x, more than checkpointing's recompute (CKPT_FACTOR); the ZeRO-3
    points, run last, are also the ones the early stop cuts short. Micro-batch order is kept: larger
    micro-batches were never faster (ZeRO-1 mb 2 vs mb 1: +0.6% gpt6.7b, +1.8% llama7b; ZeRO-0 llama2.7b +0.1%)."""
    per_rank = w.global_batch // w.num_gpus
    stages = tuple(z for z in zeros if z in (2, 3)) if offload else zeros
    configs = [Config(z, mb, ck, offload) for ck in ((True,) if offload else ckpts) for z in stages
               for mb in micro_batches if mb <= per_rank and per_rank % mb == 0]
    return sorted(configs, key=lambda c: c.zero == 3)  # stable: the order above within each part


def skip_reason(w: Workload, config: Config, done: dict[str, dict], factor: float = SAFETY_FACTOR) -> str | None:
    """Why `config` is not worth a run, or None (`factor`: memory.SAFETY_FACTOR; inf never skips on the estimate)."""
    if config.name in done:
        return "already done"
    cap = (w.cap_gib or 1e9) * GIB
    if model_states_bytes(w.spec().num_params, config.zero, w.num_gpus, config.offload) > cap:
        return "model states exceed the cap (DeepSpeed autotuner estimate)"
    # the activation estimate prunes only points without checkpointing: the evidence for the factor is
    # seq 4096 at vocab 32000, and a checkpointed point (where the baseline's best points are) pruned
    # wrongly would weaken the baseline (llama3-8b at seq 8192: its 128k-vocabulary loss term alone
    # would prune ZeRO-3 mb 1); checkpointed points rely on the OOM dominance below
    estimate = estimate_bytes(w.spec(), w.seq_len, config.micro_batch, config.zero, w.num_gpus,
                              config.checkpointing, config.offload)
    if not config.checkpointing and estimate > factor * cap:
        return (f"estimated {estimate / GIB:.1f} GiB > {factor} x the {cap / GIB:.0f} GiB cap "
                f"({FORMULA})")
    for result in done.values():
        c = result["baseline_config"]
        if (result["status"] == "oom" and c["zero"] == config.zero and c["checkpointing"] == config.checkpointing
                and c["offload_optimizer"] == config.offload and c["micro_batch"] <= config.micro_batch):
            return f"dominated by the OOM of micro-batch {c['micro_batch']}"
        if host_killed(result) and config.offload:
            if c["zero"] == config.zero:
                return (f"dominated by the kill of micro-batch {c['micro_batch']} before its first step (signal 9: "
                        "host memory, which ZeRO-Offload fills with model states whatever the micro-batch)")
            if (c["zero"], config.zero) == (3, 2):
                return (f"dominated by the kill of ZeRO-3 + CPU Adam at micro-batch {c['micro_batch']} before its "
                        "first step (signal 9): ZeRO-2's host state is ZeRO-3's plus a 16-bit accumulation buffer")
    return None


def host_killed(result: dict) -> bool:
    """Whether a ZeRO-Offload point was killed by signal 9 before its first step: the host's OOM killer as far
    as a run can tell (S9-3's llama-13b and S29-1's llama-7b ZeRO-2 offload points; no GPU OOM, no time-out).
    Its host state is the model states (fp32 master weights, Adam moments, fp32 gradients), the same at every
    micro-batch, so the kill dominates the stage's other micro-batches. A ZeRO-3 kill also dominates ZeRO-2
    offload: DeepSpeed 0.19's stage_1_and_2.py keeps the same fp32 partition, its pinned fp32 gradient and Adam's
    moments on the host, and with gradient accumulation a pinned 16-bit accumulation buffer per parameter
    besides (accumulated_grads_in_cpu); llama-7b on one card ran ZeRO-3 + CPU Adam and had ZeRO-2's killed (S29)."""
    return (result["status"] == "killed" and result.get("signal") == 9 and not result.get("iteration_times_s")
            and result["baseline_config"]["offload_optimizer"])


BASELINE_KEYS = ("baseline_config", "stopped_early_above_s")
"""What a baseline result holds beyond RunReport's fields (bench/baseline/train_hf.py result)."""


def run_report(result: dict) -> RunReport:
    """The RunReport part of a baseline result."""
    return RunReport.model_validate({k: v for k, v in result.items() if k not in BASELINE_KEYS}, strict=False)


def best_median_s(done: dict[str, dict]) -> float | None:
    """The fastest median s/iter among the full runs so far (early-stopped runs never count)."""
    medians = [r["median_iteration_time_s"] for r in done.values()
               if r["status"] == "ok" and r.get("median_iteration_time_s") and "stopped_early_above_s" not in r]
    return min(medians, default=None)


def early_stop_s(done: dict[str, dict], ratio: float = EARLY_STOP_RATIO) -> float | None:
    """The --stop-above-s of the next run: `ratio` x the best median; None before any, or when ratio is 0."""
    best = best_median_s(done)
    return None if best is None or not ratio else ratio * best


def estimates(w: Workload, config: Config, steps: int, warmup: int = 0,
              stop_above_s: float | None = None) -> tuple[float, float]:
    """(expected seconds, time limit) from a FLOP estimate at ASSUMED_MFU of the profile's peak; with an
    early stop, the run is expected to end after its first timed step or to run near stop_above_s."""
    from mist_ds.config.profiles import load_hardware

    spec = w.spec()
    peak = load_hardware(w.hardware).peak_bf16_tflops * 1e12
    step = spec.flops_per_token(w.seq_len) * w.global_batch * w.seq_len / (w.num_gpus * peak * ASSUMED_MFU)
    step *= (CKPT_FACTOR if config.checkpointing else 1.0) * (OFFLOAD_FACTOR if config.offload else 1.0)
    billions = spec.num_params / 1e9
    start = STARTUP_S + billions * (PER_BPARAM_S + (OFFLOAD_PER_BPARAM_S if config.offload else 0.0))
    expected = 1.3 * steps * step
    if stop_above_s is not None and steps > warmup + 1:
        expected = min(expected, 1.3 * (warmup + 1) * step + (steps - warmup - 1) * stop_above_s)
    return start + expected, 90.0 + 2 * start + 3.0 * steps * step


def calibrated_s(expected_s: float, offload: bool, observed: list[tuple[bool, float, float]]) -> float:
    """`expected_s` (estimates) scaled by this call's own evidence: the largest wall / expected ratio of
    the points of the same kind (ZeRO-Offload or not) that finished 'ok' here, given as (offload,
    expected s, wall s); unchanged before any. The estimate's factors are coarse (ASSUMED_MFU,
    STARTUP_S, OFFLOAD_PER_BPARAM_S): on the 1-GPU node the offload points were estimated at ~100 s and
    ran 60-77 s, so two session-21 calls skipped a point that would have fit
    (bench/results/baseline/README.md); the largest ratio keeps the budget on the safe side."""
    ratios = [wall / expected for kind, expected, wall in observed if kind == offload and expected > 0]
    return expected_s * max(ratios) if ratios else expected_s


def launch_argv(w: Workload, config: Config, port: int, hostfile: Path, report: Path, steps: int,
                warmup: int, stop_above_s: float | None = None) -> list[str]:
    argv = [sys.executable, "-u", "-m", "deepspeed.launcher.runner", "--hostfile", str(hostfile),
            "--no_ssh_check", "--master_addr", "127.0.0.1", "--master_port", str(port),
            "--include", "localhost:" + ",".join(map(str, range(w.num_gpus))),
            str(ROOT / "bench" / "baseline" / "train_hf.py"), "--model", w.model,
            "--seq-len", str(w.seq_len), "--global-batch", str(w.global_batch),
            "--micro-batch", str(config.micro_batch), "--zero", str(config.zero),
            "--steps", str(steps), "--warmup", str(warmup), "--hardware", w.hardware, "--report", str(report)]
    argv += ["--max-seq-len", str(w.max_seq_len)] if w.max_seq_len else []
    argv += ["--cap-gib", str(w.cap_gib)] if w.cap_gib else []
    argv += ["--checkpointing"] if config.checkpointing else []
    argv += ["--stop-above-s", f"{stop_above_s:.3f}"] if stop_above_s is not None else []
    return argv + (["--offload-optimizer"] if config.offload else [])


def synthesized(w: Workload, config: Config, status: str, message: str, info: dict, signal=None) -> dict:
    """A result for a run that left none (time-out, killed, crashed before writing)."""
    fields = {"status": status, "error_message": message[:500], "plan_hash": "hf-none",
              "gpu_name": info["gpu_name"], "num_gpus": w.num_gpus, "torch_version": info["torch"],
              "deepspeed_version": info["deepspeed"], "num_steps": 0, "num_warmup_steps": 0,
              "signal": signal, "driver_version": info["driver_version"]}
    report = RunReport.model_validate(fields, strict=False)
    cfg = {"model": w.model, "max_seq_len": w.max_seq_len, "seq_len": w.seq_len, "global_batch": w.global_batch,
           "micro_batch": config.micro_batch, "zero": config.zero, "offload_optimizer": config.offload,
           "checkpointing": config.checkpointing, "cap_gib": w.cap_gib}
    return {**json.loads(report.to_json()), "baseline_config": cfg}


def run_one(w: Workload, config: Config, port: int, scratch: Path, limit_s: float, steps: int,
            warmup: int, info: dict, stop_above_s: float | None = None) -> dict:
    """Launch one configuration; its result (never raises for a failed run)."""
    report, log = scratch / f"{config.name}.json", scratch / f"{config.name}.log"
    (scratch / "hostfile").write_text(f"localhost slots={max(w.num_gpus, 1)}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NCCL_NVLS_ENABLE": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    argv = launch_argv(w, config, port, scratch / "hostfile", report, steps, warmup, stop_above_s)
    returncode, timed_out, wall_s = run_with_limit(argv, env, ROOT, limit_s, log, grace_s=5.0)
    text = log.read_text(errors="replace")
    signal = killing_signal(text)
    result = json.loads(report.read_text()) if report.exists() else None
    if timed_out and not (result and result["status"] == "ok"):
        result = synthesized(w, config, "timeout", f"stopped by the grid's time limit of {limit_s:.0f} s", info)
    elif signal is not None and not (result and result["status"] == "ok"):
        result = synthesized(w, config, "killed", f"a rank was killed by signal {signal}", info, signal)
    elif result is None:
        result = synthesized(w, config, "error", f"exit {returncode}: {last_error_line(text)}", info)
    result["driver_version"] = info["driver_version"]
    kept = [ln for ln in text.splitlines() if ln.strip() and "Warning" not in ln and "warnings.warn" not in ln]
    return {"config": config.name, "returncode": returncode, "timed_out": timed_out,
            "wall_s": round(wall_s, 1), "limit_s": round(limit_s, 1),
            "result": result, "log_tail": "\n".join(kept)[-4000:]}


def committed(results: Path, name: str) -> dict[str, dict]:
    folder = results / name
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def needs_offload(done: dict[str, dict]) -> bool:
    """The grid turns to ZeRO-Offload when no configuration without offload ran (a resumed grid whose offload
    points ran keeps running the rest of them)."""
    return not any(r["status"] == "ok" and not r["baseline_config"]["offload_optimizer"] for r in done.values())


def untried(w: Workload, done: dict[str, dict]) -> list[str]:
    """The points of the full grid a run would still try given `done`: neither run nor skipped for memory
    or an OOM's dominance (a grid cut short by its budget leaves these; its best is then an upper bound)."""
    names = [c.name for c in grid(w) if skip_reason(w, c, done) is None]
    if needs_offload(done):
        names += [c.name for c in grid(w, offload=True) if skip_reason(w, c, done) is None]
    return names


def next_config(w: Workload, configs: list[Config], done: dict[str, dict], skipped: dict[str, str],
                factor: float = SAFETY_FACTOR) -> Config | None:
    """The first configuration worth running (records the reason of every one skipped on the way)."""
    for config in configs:
        if config.name in skipped:
            continue
        reason = skip_reason(w, config, done, factor)
        if reason is None:
            return config
        if reason != "already done":
            skipped[config.name] = reason
    return None


def run_workload(name: str, w: Workload, configs: list[Config], out: Path, budget_s: float, steps: int,
                 warmup: int, results: Path, build: bool, early_stop_ratio: float = EARLY_STOP_RATIO,
                 safety_factor: float = SAFETY_FACTOR, offload_configs: list[Config] | None = None) -> dict:
    """Run `configs`, then `offload_configs` (default: the whole offload grid) when no configuration without
    offload has run (needs_offload)."""
    started = time.monotonic()
    info = machine.machine_info()
    bundle = {"workload": name, "definition": asdict(w), "machine": info, "runs": [], "not_run": []}
    path = out / f"baseline_{name}.json"
    if build and not machine.on_cpu():
        ops = ["fused_adam", "cpu_adam"]
        bundle["op_builds"] = machine.finish_op_builds(machine.start_op_builds(ops), 300.0)
    done, skipped = committed(results, name), {}
    offload_phase, port = False, BASE_PORT
    observed: list[tuple[bool, float, float]] = []  # (offload, expected s, wall s) of the points run here
    with tempfile.TemporaryDirectory(prefix="mist_grid_") as scratch:
        while True:
            config = next_config(w, configs, done, skipped, safety_factor)
            if config is None and not offload_phase and needs_offload(done):
                offload_phase = True
                configs = grid(w, offload=True) if offload_configs is None else offload_configs
                continue
            if config is None:
                break
            stop_above = early_stop_s(done, early_stop_ratio)
            expected, limit = estimates(w, config, steps, warmup, stop_above)
            budgeted = calibrated_s(expected, config.offload, observed)
            remaining = budget_s - (time.monotonic() - started)
            if budgeted > remaining:
                skipped[config.name] = (f"would overrun the budget ({budgeted:.0f} s expected, "
                                        f"{remaining:.0f} s left)")
                continue
            port += 1
            entry = run_one(w, config, port, Path(scratch), min(limit, remaining), steps, warmup, info, stop_above)
            entry.update(expected_s=round(expected, 1), budgeted_s=round(budgeted, 1))
            bundle["runs"].append(entry)
            done[config.name] = entry["result"]
            if entry["result"]["status"] == "ok":
                observed.append((config.offload, expected, entry["wall_s"]))
            print(f"{config.name}: {entry['result']['status']} after {entry['wall_s']} s"
                  + (f", {entry['result']['median_iteration_time_s']:.3f} s/iter"
                     if entry["result"].get("median_iteration_time_s") else "")
                  + (" (stopped early: slower than the best)" if "stopped_early_above_s" in entry["result"] else ""),
                  flush=True)
            bundle["not_run"] = [{"config": k, "reason": v} for k, v in skipped.items()]
            write_text_atomic(path, json.dumps(bundle, indent=1) + "\n")
    bundle["not_run"] = [{"config": k, "reason": v} for k, v in skipped.items()]
    bundle["elapsed_s"] = round(time.monotonic() - started, 1)
    write_text_atomic(path, json.dumps(bundle, indent=1) + "\n")
    return bundle


def unpack(bundle: dict, results: Path) -> list[str]:
    """bench/results/baseline/<workload>/<config>.json per run (a later run of a config replaces it)."""
    lines = []
    for run in bundle["runs"]:
        run_report(run["result"])
        target = results / bundle["workload"] / f"{run['config']}.json"
        write_text_atomic(target, json.dumps(run["result"], indent=2) + "\n")
        lines.append(f"wrote {target}: {run['result']['status']}")
    return lines


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/baseline/grid.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a workload's grid here (GPU machine)")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--workload", help=f"one of {', '.join(WORKLOADS)}")
    which.add_argument("--workload-json", help="an ad-hoc Workload as JSON (tests)")
    run.add_argument("--name", default=None, help="name of an ad-hoc workload")
    run.add_argument("--out", required=True)
    run.add_argument("--budget-s", type=float, default=500.0)
    run.add_argument("--steps", type=int, default=5)
    run.add_argument("--warmup", type=int, default=2)
    run.add_argument("--zero-stages", default="0,1,2,3")
    run.add_argument("--micro-batches", default=",".join(map(str, MICRO_BATCHES)))
    run.add_argument("--checkpointing", default="off,on", help="off, on or off,on")
    run.add_argument("--results", default=str(RESULTS), help="committed results (skipped, used for dominance)")
    run.add_argument("--no-build", action="store_true")
    run.add_argument("--early-stop-ratio", type=float, default=EARLY_STOP_RATIO,
                     help="stop a run whose first timed step is this times slower than the best (0: never)")
    run.add_argument("--memory-safety-factor", type=float, default=SAFETY_FACTOR,
                     help="skip a point whose memory estimate exceeds this times the cap (inf: never)")
    unpack_cmd = sub.add_parser("unpack", help="bundle -> bench/results/baseline/<workload>/<config>.json")
    unpack_cmd.add_argument("bundle")
    unpack_cmd.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    try:
        if args.command == "unpack":
            print("\n".join(unpack(json.loads(Path(args.bundle).read_text()), Path(args.results))))
            return 0
        if args.workload:
            if args.workload not in WORKLOADS:
                raise ValueError(f"unknown workload '{args.workload}'; known: {', '.join(WORKLOADS)}")
            name, w = args.workload, WORKLOADS[args.workload]
        else:
            w = Workload(**json.loads(args.workload_json))
            name = args.name or "adhoc"
        if not args.memory_safety_factor > 0:
            raise ValueError(f"--memory-safety-factor must be > 0, got {args.memory_safety_factor}")
        ckpts = tuple({"off": False, "on": True}[x] for x in args.checkpointing.split(","))
        configs = grid(w, _ints(args.zero_stages), _ints(args.micro_batches), ckpts)
        offload_configs = grid(w, _ints(args.zero_stages), _ints(args.micro_batches), offload=True)
        w.spec()
    except (ValueError, KeyError, OSError, TypeError) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = run_workload(name, w, configs, out, args.budget_s, args.steps, args.warmup,
                          Path(args.results), not args.no_build, args.early_stop_ratio, args.memory_safety_factor,
                          offload_configs)
    print(f"{name}: {len(bundle['runs'])} runs, {len(bundle['not_run'])} skipped, {bundle['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
