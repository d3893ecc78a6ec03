"""`python -m mist_ds.compare PLAN.json RUN.json [--json] [--hardware NAME] [--stored] [--force]`:
predicted vs measured, side by side.

Predicted: the current cost model (mist_ds.cost.predict_plan) on the hardware profile of the GPU
the run reports (config.profiles.profile_for_gpu: 'NVIDIA H200' -> h200, ...; --hardware overrides). When no
shipped profile matches (a CPU run, an unknown card) the plan's stored prediction is shown and the
output says so; --stored always shows the stored one. Measured: the RunReport of launch/train.py.
Memory is compared per stage: the measured peak of a stage is the largest max_memory_allocated
over its ranks (rank layout of DeepSpeed's PipeModelDataParallelTopology: stage s owns ranks
[s*dp*tp, (s+1)*dp*tp)); the predicted peak is allocated memory (what decides OOM), and the reserved
line adds the allocator's holes (mist_ds/cost/reserved.py, cut at the plan's cap).
Relative error = (predicted - measured) / measured.
The kernels the run recorded (RunReport.kernels) are shown in one line; runs older than that
record show none. The prediction follows the run's ZeRO-3 start-up too (RunReport.zero_init: under
deepspeed.zero.Init, or the whole-model build of runs that recorded none) and its cross-device write-back
(RunReport.writeback_cast, shown in one line where the run had one).
A run of another plan (plan_hash mismatch) is refused with exit 2 unless --force.
Exit codes: 0 ok, 2 user error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from collections.abc import Sequence

from mist_ds.cli import OneLineParser, UserError, exit_code
from mist_ds.config import HardwareProfile, Plan, PlanPrediction, RunReport
from mist_ds.config.plan import plan_file_hashes
from mist_ds.config.profiles import load_hardware, profile_for_gpu
from mist_ds.config.run_report import KERNEL_KEYS
from mist_ds.config.units import GIB
from mist_ds.config.writeback import WRITEBACK_DESCRIPTIONS
from mist_ds.config.track_record import track_record_json
from mist_ds.emit.report import HOST_PACED_SHARE, HOST_SPREAD


def kernel_summary(kernels: dict[str, str]) -> str:
    """One line of a RunReport's kernels ('norm torch, activation compile, ...'); 'not recorded'
    for a report without them."""
    if not kernels:
        return "not recorded"
    return ", ".join(f"{op} {kernels[op]}" for op in KERNEL_KEYS if op in kernels)


def rel_error(predicted: float | None, measured: float | None) -> float | None:
    """(predicted - measured) / measured, None when either is missing or measured is 0."""
    if predicted is None or not measured:
        return None
    return (predicted - measured) / measured


def reserved_of(plan: Plan, index: int, predicted: int | None, pred: PlanPrediction | None,
                profile: HardwareProfile | None = None) -> int | None:
    """The reserved memory stage `index`'s predicted (allocated) peak comes with, on `profile` (the one the
    prediction was made on; None: the shipped profile its hardware_name names) (mist_ds/cost/reserved.py
    predicted_reserved_bytes: the allocator's holes, cut at the plan's cap); None without a loadable profile
    or without mist_ds.cost."""
    if predicted is None or pred is None:
        return None
    try:
        from mist_ds.cost.reserved import predicted_reserved_bytes

        return predicted_reserved_bytes(plan, index, predicted, profile or load_hardware(pred.hardware_name))
    except (ValueError, ImportError):
        return None


def prediction_for(plan: Plan, run: RunReport, hardware: str | None = None,
                   stored: bool = False) -> tuple[PlanPrediction | None, str]:
    """The prediction to compare with, and a sentence saying where it came from: the cost model on
    `hardware` or on the profile of the run's GPU, for the kernels the run recorded (none recorded:
    the eager set; a profile no run calibrated is named so: HardwareProfile.prices_host_thread); else (or
    with `stored`) the plan's own."""
    pred, source, _ = _prediction_and_profile(plan, run, hardware, stored)
    return pred, source


def _prediction_and_profile(plan: Plan, run: RunReport, hardware: str | None,
                            stored: bool) -> tuple[PlanPrediction | None, str, HardwareProfile | None]:
    """prediction_for with the profile the cost model predicted on (None: the plan's stored prediction or none)."""
    reason = "--stored"
    if not stored:
        try:
            name = hardware or profile_for_gpu(run.gpu_name, run.host_cpu_cores)
            from mist_ds.cost.plan_predict import predict_as_run

            profile = load_hardware(name)
            uncalibrated = ("" if profile.prices_host_thread else " (uncalibrated: it prices no host-thread time; "
                            "python -m mist_ds.calibrate fits it from runs like this one)")
            machine = (f" with the run's measured both-ways copies (h2d x{run.copy_slowdowns[0]:.2f}, d2h "
                       f"x{run.copy_slowdowns[1]:.2f} beside each other)" if run.copy_slowdowns else "")
            return (predict_as_run(plan, profile, run),
                    f"mist_ds.cost.predict_plan on {profile.name}{machine}{uncalibrated}", profile)
        except ImportError:
            reason = "mist_ds.cost is not available"
        except ValueError as err:
            if hardware:
                raise
            reason = str(err).split(" (known")[0]
    if plan.prediction is not None:
        return plan.prediction, f"plan.json's stored prediction ({plan.prediction.hardware_name}; {reason})", None
    return None, f"none: {reason}, and the plan stores no prediction", None


def stage_peaks(plan: Plan, peaks: tuple[int, ...]) -> list[int | None]:
    """Measured peak bytes per stage (max over the stage's ranks), None when not measured."""
    out: list[int | None] = []
    for index, stage in enumerate(plan.stages):
        ranks = peaks[index * plan.gpus_per_stage: (index + 1) * plan.gpus_per_stage]
        out.append(max(ranks) if ranks else None)
    return out


def comparison(plan: Plan, run: RunReport, hardware: str | None = None, stored: bool = False,
               hashes: frozenset[str] | None = None) -> dict:
    """Machine-readable comparison (what --json prints); `hashes`: the plan file's run hashes
    (config/plan.py plan_file_hashes; default: the plan's content hash)."""
    pred, source, profile = _prediction_and_profile(plan, run, hardware, stored)
    measured_mem = stage_peaks(plan, run.peak_allocated_bytes)
    reserved = stage_peaks(plan, run.peak_reserved_bytes)
    stages = []
    for index, peak in enumerate(measured_mem):
        predicted = pred.stages[index].peak_memory_bytes if pred else None
        # the predicted peak is allocated memory (what decides OOM); reserved adds the allocator's holes
        expected_reserved = reserved_of(plan, index, predicted, pred, profile)
        stages.append({"stage": index, "predicted_peak_bytes": predicted, "measured_peak_bytes": peak,
                       "predicted_reserved_bytes": expected_reserved, "measured_reserved_bytes": reserved[index],
                       "rel_error": rel_error(predicted, peak),
                       "rel_error_reserved": rel_error(expected_reserved, reserved[index])})
    measured_t = run.median_iteration_time_s
    predicted_t = pred.iteration_time_s if pred else None
    return {
        "plan": plan.describe(), "plan_hash": plan.without_prediction().content_hash(), "run_plan_hash": run.plan_hash,
        "same_plan": run.plan_hash in (hashes or {plan.without_prediction().content_hash()}),
        "status": run.status, "gpu_name": run.gpu_name, "num_gpus": run.num_gpus,
        "prediction_source": source, "kernels": dict(run.kernels), "zero_init": run.zero_init,
        "writeback_cast": run.writeback_cast,
        "iteration_time": {"predicted_s": predicted_t, "measured_s": measured_t,
                           "measured_iqr_s": run.iteration_time_iqr_s,
                           "rel_error": rel_error(predicted_t, measured_t)},
        "host_wait_s": _host_wait(pred),
        "mfu": {"predicted": pred.mfu if pred else None, "measured": run.mfu},
        "tokens_per_s": {"predicted": pred.throughput_tokens_per_s if pred else None,
                         "measured": run.tokens_per_s},
        "stages": stages,
        # config/track_record.py: how far the scored runs of plans of this kind were off
        "track_record": track_record_json(plan),
        # emit/coverage.py: what the re-prediction took from outside the profile's measurements (None: no re-prediction)
        "unmeasured": _unmeasured(plan, profile),
        # False: re-predicted on a profile that prices no host-thread time; None: not re-predicted
        "profile_prices_host_thread": None if profile is None else profile.prices_host_thread,
    }


def _unmeasured(plan: Plan, profile: HardwareProfile | None) -> list[str] | None:
    if profile is None:
        return None
    from mist_ds.emit.coverage import unmeasured_parts

    return unmeasured_parts(plan, profile)


def _host_wait(pred: PlanPrediction | None) -> float | None:
    """The longest predicted wait of a stage's GPU on its training thread, s/iter (TimeBreakdown
    .host_wait_s; None: no prediction, or one made before the field existed)."""
    waits = [s.time_breakdown.host_wait_s for s in pred.stages] if pred else [None]
    return None if None in waits else max(waits)


def _fmt(value, scale: float = 1.0, spec: str = ".3f") -> str:
    return "-" if value is None else format(value / scale, spec)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def render(result: dict) -> str:
    """Plain-text table (no rich: this module is importable anywhere)."""
    t = result["iteration_time"]
    lines = [f"plan: {result['plan']}"] if result.get("plan") else []
    lines.append(f"run: {result['status']} on {result['num_gpus']} x {result['gpu_name']}   "
                 f"prediction: {result['prediction_source']}")
    if result.get("kernels"):
        lines.append(f"kernels: {kernel_summary(result['kernels'])}")
    if result.get("zero_init"):
        lines.append("build: under deepspeed.zero.Init (ZeRO-3 parameters partitioned as they were created)")
    if result.get("writeback_cast"):
        lines.append(f"ZeRO-3 write-back across the bus: {WRITEBACK_DESCRIPTIONS[result['writeback_cast']]}")
    if result["gpu_name"] == "cpu":
        lines.append("note: a CPU run (fp32, gloo): the prediction is for the plan's GPUs, not this machine")
    if result["status"] != "ok":
        lines.append("note: the run failed; its measured memory is the failing rank's peak at the failure")
    if not result["same_plan"]:
        lines.append(f"warning: run plan hash {result['run_plan_hash']} != plan {result['plan_hash']}")
    lines.append(f"{'':24}{'predicted':>12}{'measured':>12}{'rel.err':>10}")
    lines.append(f"{'iteration time (s)':24}{_fmt(t['predicted_s'], spec='.4g'):>12}"
                 f"{_fmt(t['measured_s'], spec='.4g'):>12}"
                 f"{_pct(t['rel_error']):>10}")
    m = result["mfu"]
    lines.append(f"{'MFU':24}{_fmt(m['predicted']):>12}{_fmt(m['measured']):>12}")
    for stage in result["stages"]:
        lines.append(f"{'stage ' + str(stage['stage']) + ' peak mem (GiB)':24}"
                     f"{_fmt(stage['predicted_peak_bytes'], GIB, '.2f'):>12}"
                     f"{_fmt(stage['measured_peak_bytes'], GIB, '.2f'):>12}{_pct(stage['rel_error']):>10}")
        lines.append(f"{'  reserved (GiB)':24}{_fmt(stage['predicted_reserved_bytes'], GIB, '.2f'):>12}"
                     f"{_fmt(stage['measured_reserved_bytes'], GIB, '.2f'):>12}"
                     f"{_pct(stage['rel_error_reserved']):>10}")
    wait = result.get("host_wait_s")
    if wait is not None and t["predicted_s"] and wait >= HOST_PACED_SHARE * t["predicted_s"]:
        lines.append(f"note: host-paced plan (the GPU waits {wait:.3g} s of {t['predicted_s']:.4g} on the training "
                     f"thread): its time follows the host core's speed ({HOST_SPREAD})")
    if result.get("unmeasured"):
        lines.append(f"note: not measured on the profile's node: {'; '.join(result['unmeasured'])}")
    lines.append(track_record_note(result["track_record"], t["rel_error"],
                                   ranged=result.get("profile_prices_host_thread") is True))
    return "\n".join(lines)


def track_record_note(track: dict, time_error: float | None, ranged: bool = True) -> str:
    """One line: this run's time error beside the scored runs of plans of its kind (compare --json's
    'track_record'), and, with `ranged` (the prediction came from a calibrated profile, as the record's runs'
    did), whether its measured / predicted time fell inside the kind's range."""
    record = track["record"]
    if record is None or record["time_max"] is None:
        return f"track record of {track['kind']} plans: none has run on a GPU yet (bench/results/accuracy.md)"
    text = (f"track record of {track['kind']} plans: {record['ok']} held-out runs of {record['plans']} plans were "
            f"off by {record['time_median']:.1%} (median), {record['time_max']:.1%} at most")
    if time_error is None:
        return text
    where = "within" if abs(time_error) <= record["time_max"] else "beyond"
    text = f"{text}; this run's {time_error:+.1%} is {where} that"
    if not ranged or not record.get("time_ratio_span"):
        return text
    ratio = 1.0 / (1.0 + time_error)   # measured / predicted, from (predicted - measured) / measured
    low, high = record["time_ratio_low"], record["time_ratio_high"]
    inside = "inside" if low <= ratio <= high else "outside"
    return f"{text}; it took {ratio:.2f}x its prediction, {inside} the expected {low:.2f}-{high:.2f}x"


def _load(cls, path: str):
    return cls.load_checked(path)


def _compare(argv: Sequence[str] | None) -> int:
    parser = OneLineParser(prog="python -m mist_ds.compare",
                           description="predicted (plan) vs measured (RunReport)")
    parser.add_argument("plan")
    parser.add_argument("run")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--hardware", default=None,
                        help="profile to predict with (default: the one of the GPU the run reports)")
    parser.add_argument("--stored", action="store_true", help="use the plan's stored prediction")
    parser.add_argument("--force", action="store_true", help="compare even when the run is of another plan")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="also write a PNG: per-stage memory and the iteration time, predicted vs measured")
    args = parser.parse_args(argv)
    plan, run = _load(Plan, args.plan), _load(RunReport, args.run)
    hashes = plan_file_hashes(args.plan)
    if run.plan_hash not in hashes and not args.force:
        raise UserError(f"{args.run} is a run of plan {run.plan_hash}, not of {args.plan} "
                        f"({', '.join(sorted(hashes))}); --force compares anyway")
    result = comparison(plan, run, args.hardware, args.stored, hashes)
    if args.plot is not None:
        from mist_ds.emit.compare_plot import comparison_png
        from mist_ds.fileio import write_bytes_atomic

        write_bytes_atomic(Path(args.plot), comparison_png(result, prediction_for(plan, run, args.hardware,
                                                                                   args.stored)[0]))
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (mist_ds.cli.exit_code: one stderr line and 2 on bad input)."""
    return exit_code(_compare, argv)


if __name__ == "__main__":
    sys.exit(main())
