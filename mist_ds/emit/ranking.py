"""report.md's "Ranking, headroom and fallbacks" section: the memory margin the search kept, each
listed plan's predicted headroom, which plans are a tie within the cost model's measured time error
and how ties were broken, and the fallback plans launch.sh runs when one runs out of memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mist_ds.config import HardwareProfile, Plan
from mist_ds.config.units import GIB
from mist_ds.emit.report import memory_cap, peak_bytes


@dataclass(frozen=True)
class Ranking:
    """How the listed plans were ranked (mist_ds.api.tune): plain data for the report."""

    tie_groups: tuple[int, ...]
    """Tie group per listed plan (same order); equal numbers: a tie."""
    tie_rtol: float
    """Relative predicted-time difference below which plans tie."""
    memory_margin_ratio: float
    """Fraction of the per-GPU cap the search kept free."""


def _tie_marks(groups: Sequence[int]) -> list[str]:
    """'=' + group number for plans sharing their group with another listed plan, else ''."""
    return [f"={g}" if list(groups).count(g) > 1 else "" for g in groups]


def ranking_markdown(plans: Sequence[Plan], hardware: HardwareProfile, ranking: Ranking,
                     fallbacks: Sequence[tuple[str, Plan]] = ()) -> str:
    """The section's markdown (ends with a blank line). `fallbacks`: (folder, plan) in run order."""
    cap = memory_cap(plans[0], hardware)
    lines = ["## Ranking, headroom and fallbacks", "",
             f"Every plan keeps at least {ranking.memory_margin_ratio:.0%} of the {cap / GIB:.2f} GiB per-GPU cap "
             "free (`--memory-margin`; the default covers 9 in 10 of the cost model's measured under-predictions of "
             "allocated memory, which decides OOM). Plans "
             f"predicted within {ranking.tie_rtol:.0%} of each other (the model's median measured time error) "
             "are a tie (same `=N`): the model cannot tell which is faster, so inside a tie stock DeepSpeed ranks "
             "before mist_ds's pipeline engine (mistpipe leads only when predicted more than that faster than every "
             "stock plan), then fewer moving parts (pipeline, tensor parallelism, weight / optimizer / activation "
             "offload), then more headroom (in whole steps of the memory error), then the faster prediction.", "",
             "| rank | setting | s/iter | peak GiB/GPU | headroom GiB | tie |", "|---|---|---|---|---|---|"]
    marks = _tie_marks(ranking.tie_groups)
    for rank, (plan, mark) in enumerate(zip(plans, marks), start=1):
        headroom = memory_cap(plan, hardware) - peak_bytes(plan)
        lines.append(f"| {rank} | {plan.describe()} | {plan.prediction.iteration_time_s:.3f} | "
                     f"{peak_bytes(plan) / GIB:.2f} | {headroom / GIB:.2f} | {mark} |")
    lines.append("")
    if fallbacks:
        lines += ["If a plan runs out of memory (every rank exits 3) or a rank is killed by a signal, `launch.sh` "
                  "runs the next of these, skipping one not predicted to save at least the model's memory error "
                  "of the memory that ran out; `attempts.json` records every attempt:", ""]
        lines += [f"{i}. `{folder}/`: {plan.describe()}, peak {peak_bytes(plan) / GIB:.2f} GiB per GPU, "
                  f"{plan.prediction.iteration_time_s:.3f} s/iter" for i, (folder, plan) in enumerate(fallbacks, 1)]
        lines.append("")
    return "\n".join(lines) + "\n"
