"""The shipped track record (mist_ds/config/track_record.py) from the scored runs: per plan kind, the
summary (scoring.py) of the held-out runs the targets cover. bench/accuracy/report.py writes it on every
`make accuracy`; tests/bench/test_track_record.py rebuilds it from the committed accuracy.json."""

from __future__ import annotations

import statistics

from bench.accuracy.scoring import Scored, summary
from mist_ds.config.track_record import PERCENTILE_MIN_PLANS, RANGE_MIN_PLANS, KindRecord, TrackRecord

SOURCE = ("bench/results/accuracy.json: the committed GPU runs of emitted plans held out of every fit, re-predicted "
          "by the current cost model (make accuracy; bench/results/accuracy.md)")


def weighted_quantile(values: list[float], weights: list[float], q: float) -> float:
    """The smallest value whose cumulative weight (values sorted, weights normalised) reaches q."""
    total, cumulative = sum(weights), 0.0
    ordered = sorted(zip(values, weights))
    for value, weight in ordered:
        cumulative += weight / total
        if cumulative >= q - 1e-12:
            return value
    return ordered[-1][0]


def time_ratio_range(rows: list[Scored]) -> tuple[float | None, float | None, str]:
    """(low, high, span) of measured / predicted time over the ok runs (KindRecord.time_ratio_span): the
    10th-90th percentile with each plan's runs sharing one weight when the runs cover PERCENTILE_MIN_PLANS
    plans, else the smallest and largest ratio; none where fewer than RANGE_MIN_PLANS plans trained."""
    ok = [r for r in rows if r.status == "ok" and r.measured_s and r.predicted_s]
    per_plan = {r.plan_id: sum(o.plan_id == r.plan_id for o in ok) for r in ok}
    if len(per_plan) < RANGE_MIN_PLANS:
        return None, None, ""
    ratios = [r.measured_s / r.predicted_s for r in ok]
    if len(per_plan) < PERCENTILE_MIN_PLANS:
        return min(ratios), max(ratios), "min-max"
    weights = [1.0 / per_plan[r.plan_id] for r in ok]
    return weighted_quantile(ratios, weights, 0.1), weighted_quantile(ratios, weights, 0.9), "p10-p90"


def left_out_check(rows: list[Scored]) -> tuple[int, int, int, int]:
    """(plans checked, plans inside, runs checked, runs inside): each plan of one kind's runs left out in turn,
    its runs' measured / predicted time against the range (time_ratio_range) the kind's other plans give; a plan
    is inside when its median ratio is. Plans whose others give no range are not checked."""
    ok = [r for r in rows if r.status == "ok" and r.measured_s and r.predicted_s]
    counts = [0, 0, 0, 0]
    for plan_id in sorted({r.plan_id for r in ok}):
        low, high, span = time_ratio_range([r for r in ok if r.plan_id != plan_id])
        if not span:
            continue
        ratios = [r.measured_s / r.predicted_s for r in ok if r.plan_id == plan_id]
        counts[0] += 1
        counts[1] += low <= statistics.median(ratios) <= high
        counts[2] += len(ratios)
        counts[3] += sum(low <= x <= high for x in ratios)
    return tuple(counts)


def kind_record(rows: list[Scored]) -> KindRecord:
    """The record of one kind's runs."""
    s = summary(rows)
    dates = sorted(r.date for r in rows if r.date)
    low, high, span = time_ratio_range(rows)
    return KindRecord(runs=s["runs"], plans=len({r.plan_id for r in rows}), ok=s["ok"], time_median=s["time"]["median"], time_max=s["time"]["max"],
                      time_median_signed=s["time"]["median_signed"], slower_than_predicted=s["time"]["under"],
                      allocated_median=s["memory_vs_allocated"]["median"],
                      allocated_max=s["memory_vs_allocated"]["max"], oom_predicted_to_fit=s["oom_predicted_to_fit"],
                      time_ratio_low=low, time_ratio_high=high, time_ratio_span=span,
                      gpus=tuple(sorted({r.gpu_name for r in rows})), first_date=dates[0] if dates else "",
                      last_date=dates[-1] if dates else "")


def held_out_by_kind(rows: list[Scored]) -> dict[str, list[Scored]]:
    """The runs of `rows` held out of every fit (Scored.in_sample empty), by plan kind (Scored.kind)."""
    held_out = [r for r in rows if not r.in_sample]
    return {k: [r for r in held_out if r.kind == k] for k in sorted({r.kind for r in held_out})}


def left_out_checks(rows: list[Scored]) -> dict[str, tuple[int, int, int, int]]:
    """left_out_check of each kind's held-out runs (the runs its track record is made of)."""
    return {kind: left_out_check(runs) for kind, runs in held_out_by_kind(rows).items()}


def track_record(rows: list[Scored]) -> TrackRecord:
    """Per kind (Scored.kind), the record of the runs of `rows` (the runs report.py's targets cover:
    report.scored) held out of every fit: a run that fitted a term of the profile or the model (Scored.in_sample)
    measures the fit, not how far a prediction can be trusted, and the record sets the search's tie tolerance
    (mist_ds/api.py time_tolerance)."""
    return TrackRecord(source=SOURCE, kinds={k: kind_record(runs) for k, runs in held_out_by_kind(rows).items()})

