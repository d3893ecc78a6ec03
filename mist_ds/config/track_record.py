"""How well the cost model has predicted plans of each kind on real GPUs: the shipped track record.

`make accuracy` (bench/accuracy/report.py) re-predicts every committed GPU run with the current cost model
and writes, beside bench/results/accuracy.{md,json}, this package's track_record.json: per plan kind
(config/plan_kind.py: strategy family, a stock ZeRO-3 plan's fetch unit, GPU span), how many runs were scored and how
far their predictions were off. autotune, predict and report.md quote the record of the plan's kind, so a user sees how
much to trust a prediction before spending GPU hours on it (tests/bench/test_track_record.py keeps the shipped file
equal to what the committed runs give).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from typing import Literal

from pydantic import Field

from mist_ds.config.base import StrictModel
from mist_ds.config.plan_kind import plan_kind

TRACK_RECORD_PATH = Path(__file__).resolve().parent / "track_record.json"
"""The shipped record (package data), written by `make accuracy`."""
PERCENTILE_MIN_PLANS = 10
"""Plans a kind needs before its time range is the 10th-90th percentile rather than the whole range: with
fewer, a percentile would rest on one or two plans."""
RANGE_MIN_PLANS = 3
"""Plans (that trained) a kind needs before it has a time range at all: the runs of one or two plans show those
plans' run-to-run spread, not how far a new plan of the kind may land."""


class KindRecord(StrictModel):
    """The scored runs of one plan kind."""

    runs: int = Field(ge=1)
    """Scored runs (ran, or ran out of memory) of emitted plans of this kind, held out of every fit (a run
    that fitted a profile or model term is left out: bench/accuracy/track_record.py)."""
    plans: int = Field(ge=1)
    """Distinct plans among them (a plan re-run counts once: repeats of one plan are not independent)."""
    ok: int = Field(ge=0)
    """Of them, the runs that trained (the time and memory errors are theirs)."""
    time_median: float | None = Field(default=None, ge=0.0)
    """Median |predicted - measured| / measured seconds per iteration; None without an ok run."""
    time_max: float | None = Field(default=None, ge=0.0)
    """Largest such |error|."""
    time_median_signed: float | None = None
    """Median signed time error: negative when plans of this kind mostly ran slower than predicted."""
    slower_than_predicted: int = Field(ge=0)
    """Ok runs that took longer than predicted."""
    allocated_median: float | None = Field(default=None, ge=0.0)
    """Median |error| of the predicted peak against torch.cuda.max_memory_allocated (worst stage)."""
    allocated_max: float | None = Field(default=None, ge=0.0)
    """Largest such |error|."""
    oom_predicted_to_fit: int = Field(ge=0)
    """Runs that ran out of GPU memory although their predicted peak was under the cap."""
    time_ratio_low: float | None = Field(default=None, gt=0.0)
    """Low end of measured / predicted seconds per iteration over the ok runs (time_ratio_span says which end:
    the 10th percentile, or the smallest ratio); None where fewer than RANGE_MIN_PLANS plans trained."""
    time_ratio_high: float | None = Field(default=None, gt=0.0)
    """High end of that ratio (the 90th percentile, or the largest)."""
    time_ratio_span: Literal["p10-p90", "min-max", ""] = ""
    """'p10-p90': percentiles with every plan weighted equally (its runs share one weight, so a plan re-run
    many times does not outweigh the others), for kinds of at least PERCENTILE_MIN_PLANS plans; 'min-max': the
    whole range of fewer plans' runs; '' where fewer than RANGE_MIN_PLANS plans trained (no range)."""
    gpus: tuple[str, ...]
    """The GPUs the runs ran on (RunReport.gpu_name)."""
    first_date: str
    """UTC date of the earliest run ('' when no run recorded one)."""
    last_date: str
    """UTC date of the latest run."""


class TrackRecord(StrictModel):
    """Per plan kind, how the current cost model predicts the committed GPU runs."""

    source: str
    """Where the numbers come from (the committed runs and the command that scored them)."""
    kinds: dict[str, KindRecord]
    """Keyed by config/plan_kind.py plan_kind ('zero3-offload (whole-block fetch), 1 GPU')."""


@lru_cache(maxsize=1)
def shipped_track_record() -> TrackRecord:
    """The track record shipped with the package."""
    return TrackRecord.load_checked(TRACK_RECORD_PATH, "track record")


def record_for(plan, record: TrackRecord | None = None) -> tuple[str, KindRecord | None]:
    """(the plan's kind, its record in `record` (default: the shipped one), None when no run of that kind
    has been scored)."""
    kind = plan_kind(plan)
    return kind, (record or shipped_track_record()).kinds.get(kind)


def track_record_json(plan) -> dict:
    """{"kind": the plan's kind, "record": its shipped KindRecord as JSON, or None}: what predict --json and
    compare --json carry."""
    kind, record = record_for(plan)
    return {"kind": kind, "record": None if record is None else record.model_dump(mode="json")}


def expected_time_range_s(plan, hardware, record: TrackRecord | None = None) -> tuple[float, float] | None:
    """The predicted seconds per iteration of `plan` (which carries its prediction on `hardware`) scaled by its
    kind's time_ratio_low and time_ratio_high: where the held-out runs of such plans landed against their own
    predictions. None without a prediction, without a range for the kind, or on a profile that prices no
    host-thread time (HardwareProfile.prices_host_thread): the record's runs were all scored on calibrated
    profiles, so their spread says nothing of an uncalibrated one's predictions."""
    _, kr = record_for(plan, record)
    if plan.prediction is None or kr is None or kr.time_ratio_low is None or kr.time_ratio_high is None:
        return None
    if not hardware.prices_host_thread:
        return None
    predicted = plan.prediction.iteration_time_s
    return predicted * kr.time_ratio_low, predicted * kr.time_ratio_high
