"""The shipped track record (mist_ds/config/track_record.py) from the scored runs: per plan kind, the
summary (scoring.py) of the held-out runs the targets cover. bench/accuracy/report.py writes it on every
`make accuracy`; tests/bench/test_track_record.py rebuilds it from the committed accuracy.json."""

from __future__ import annotations

from bench.accuracy.scoring import Scored, summary
from mist_ds.config.track_record import KindRecord, TrackRecord

SOURCE = ("bench/results/accuracy.json: the committed GPU runs of emitted plans held out of every fit, re-predicted "
          "by the current cost model (make accuracy; bench/results/accuracy.md)")


def kind_record(rows: list[Scored]) -> KindRecord:
    """The record of one kind's runs."""
    s = summary(rows)
    dates = sorted(r.date for r in rows if r.date)
    return KindRecord(runs=s["runs"], plans=len({r.plan_id for r in rows}), ok=s["ok"], time_median=s["time"]["median"], time_max=s["time"]["max"],
                      time_median_signed=s["time"]["median_signed"], slower_than_predicted=s["time"]["under"],
                      allocated_median=s["memory_vs_allocated"]["median"],
                      allocated_max=s["memory_vs_allocated"]["max"], oom_predicted_to_fit=s["oom_predicted_to_fit"],
                      gpus=tuple(sorted({r.gpu_name for r in rows})), first_date=dates[0] if dates else "",
                      last_date=dates[-1] if dates else "")


def track_record(rows: list[Scored]) -> TrackRecord:
    """Per kind (Scored.kind), the record of the runs of `rows` (the runs report.py's targets cover:
    report.scored) held out of every fit: a run that fitted a term of the profile or the model (Scored.in_sample)
    measures the fit, not how far a prediction can be trusted, and the record sets the search's tie tolerance
    (mist_ds/api.py time_tolerance)."""
    held_out = [r for r in rows if not r.in_sample]
    kinds = sorted({r.kind for r in held_out})
    return TrackRecord(source=SOURCE, kinds={k: kind_record([r for r in held_out if r.kind == k]) for k in kinds})

