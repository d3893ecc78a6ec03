"""The one entry function: `tune(request, hardware) -> TuneResult`.

`python -m mist_ds.autotune`, `ds_configs/generate.py`, the benchmarks and the tests all tune through
here, so ranking and prediction happen one way. The search (mist_ds/search) finds the best layouts and
partitions under the partition objective (cost/pipeline.py closed_form_bound); `tune` then predicts
each candidate's plan with `predict_plan` — the pipeline clock, the numbers predict, report.md and
plan.png show — and ranks the plans by that.
"""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.config import HardwareProfile, Plan, TuneRequest
from mist_ds.search import MemoryFloor, search
from mist_ds.search.engine import Progress, RecomputeMode, SearchStats
from mist_ds.search.plans import predicted_plan

# The search keeps this many times top_k candidates under its objective, so the clock's re-ranking
# can promote a candidate the closed form placed just outside the top-k.
CANDIDATE_FACTOR = 2


@dataclass(frozen=True)
class TuneResult:
    """Plans best first (each with its prediction), search statistics, and the memory floor when none fits."""

    plans: tuple[Plan, ...]
    stats: SearchStats
    floor: MemoryFloor | None
    warnings: tuple[str, ...] = ()
    """Candidates left out because predict_plan could not cost them (one line each)."""


def _clock_time(plan: Plan) -> float:
    return plan.prediction.iteration_time_s


def tune(request: TuneRequest, hardware: HardwareProfile, *, top_k: int = 5, progress: Progress | None = None,
         recompute: RecomputeMode | None = None) -> TuneResult:
    """The `top_k` fastest plans for `request` on `hardware`, ranked by predicted iteration time (ties
    keep the search's order: simpler plans first)."""
    result = search(request, hardware, top_k=CANDIDATE_FACTOR * top_k, progress=progress, recompute=recompute)
    plans, warnings = [], []
    for rank, candidate in enumerate(result.ranked, start=1):
        try:
            plans.append(predicted_plan(request, candidate, hardware))
        except ValueError as err:  # e.g. a profile lacking a collective the plan needs
            warnings.append(f"candidate #{rank} ({candidate.layout.describe()}) left out: "
                            + " ".join(str(err).split())[:160])
    plans.sort(key=_clock_time)
    return TuneResult(tuple(plans[:top_k]), result.stats, result.floor, tuple(warnings))
