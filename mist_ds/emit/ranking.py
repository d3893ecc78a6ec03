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
class LostTie:
    """The fastest plan the ranking put below the winner although predicted faster: it lost their tie."""

    rank: int
    """Its 1-based rank in the whole ranking (mist_ds.api.tune ranks more plans than it lists)."""
    plan: Plan
    """That plan, with its prediction."""
    tolerance: float
    """The larger of its and the winner's time tolerance (mist_ds.api time_tolerance): why they tie."""


@dataclass(frozen=True)
class Ranking:
    """How the listed plans were ranked (mist_ds.api.tune): plain data for the report."""

    ties: tuple[tuple[int, ...], ...]
    """Per listed plan (same order), the 1-based ranks of the listed plans it ties with, itself included."""
    tie_rtol: float
    """Relative predicted-time difference below which plans tie, at least."""
    memory_margin_ratio: float
    """Fraction of the per-GPU cap the search kept free."""
    tolerances: tuple[float, ...] = ()
    """Per listed plan, its own tie tolerance (mist_ds.api time_tolerance: tie_rtol, or the median time error
    of its kind's held-out GPU runs when larger); () when every plan's is tie_rtol."""
    per_kind: bool = True
    """True when a plan kind's track record could raise its tolerance above tie_rtol (autotune --ties kind)."""
    lost_tie: LostTie | None = None
    """The fastest plan of the whole ranking that lost its tie to the winner (find_lost_tie), listed or not."""


TIE_BREAKS = ("the plan of the kind the model has predicted better first (a smaller tolerance, in whole steps of the "
              "model's median time error), then the fastest stock DeepSpeed plan (mist_ds's pipeline engine, "
              "mistpipe, leads it only when predicted faster by more than the larger tolerance of the two), then "
              "fewer moving parts (pipeline, tensor parallelism, weight / optimizer / activation offload), then a "
              "reserved peak below the cap (no allocator retries), then more headroom (in whole steps of the memory "
              "error), then the faster prediction")
"""How mist_ds.api.honest_order ranks plans that tie, in the words autotune's legend and report.md use (both
print it before lost_tie_line, which refers to it)."""


def tie_text(ranks: Sequence[int]) -> str:
    """'' for a plan no other listed plan ties with, else the tied ranks ('1-3' or '1,4')."""
    if len(ranks) < 2:
        return ""
    if tuple(ranks) == tuple(range(ranks[0], ranks[-1] + 1)):
        return f"{ranks[0]}-{ranks[-1]}"
    return ",".join(str(r) for r in ranks)


def find_lost_tie(plans: Sequence[Plan], ties: Sequence[Sequence[int]],
                  tolerances: Sequence[float]) -> LostTie | None:
    """Among ranked `plans` (best first; `ties`, `tolerances` per plan as mist_ds.api.honest_order gives them),
    the fastest one predicted faster than the winner that ties with it; None when the winner is the fastest."""
    if not plans or not ties:
        return None
    winner_s = plans[0].prediction.iteration_time_s
    faster = [i for i in range(1, len(plans)) if plans[i].prediction.iteration_time_s < winner_s and 1 in ties[i]]
    if not faster:
        return None
    best = min(faster, key=lambda i: plans[i].prediction.iteration_time_s)
    return LostTie(best + 1, plans[best], max(tolerances[0], tolerances[best]) if tolerances else 0.0)


def lost_tie_line(winner: Plan, lost: LostTie | None, listed: int) -> str | None:
    """One sentence naming the plan that lost its tie to `winner` (None: none did); `listed` plans are shown,
    so a plan ranked below them says how to list it."""
    if lost is None:
        return None
    lead = 1.0 - lost.plan.prediction.iteration_time_s / winner.prediction.iteration_time_s
    where = "" if lost.rank <= listed else f", not listed: --top {lost.rank} lists it"
    return (f"#{lost.rank} ({lost.plan.describe(short=True)}{where}) is predicted {lead:.1%} faster than #1 but "
            f"ties with it: the model's error for the two is {lost.tolerance:.1%} (the larger of their tolerances, "
            "from the track record), so the tie rules above rank them. Run both to settle it.")


def tie_rule_text(tie_rtol: float, per_kind: bool) -> str:
    """What makes two plans a tie, as a sentence's subject and verb ('plans predicted within ... tie')."""
    if tie_rtol <= 0:
        return "no two plans tie (`--ties off`: ranked by predicted time alone)"
    error = f"plans predicted within {tie_rtol:.0%} of each other (the model's median measured time error"
    if not per_kind:
        return error + ", for every plan: `--ties model`) tie"
    return (error + "), or within the larger tolerance of the two where the held-out GPU runs of a plan's kind were "
            "further off in the median (the track record), tie")


def ranking_markdown(plans: Sequence[Plan], hardware: HardwareProfile, ranking: Ranking,
                     fallbacks: Sequence[tuple[str, Plan]] = ()) -> str:
    """The section's markdown (ends with a blank line). `fallbacks`: (folder, plan) in run order."""
    cap = memory_cap(plans[0], hardware)
    lines = ["## Ranking, headroom and fallbacks", "",
             f"Every plan keeps at least {ranking.memory_margin_ratio:.0%} of the {cap / GIB:.2f} GiB per-GPU cap "
             "free (`--memory-margin`; the default covers 9 in 10 of the cost model's measured under-predictions of "
             f"allocated memory, which decides OOM). Ties: {tie_rule_text(ranking.tie_rtol, ranking.per_kind)} (the "
             "'tolerance' column is each plan's, the 'tie' column lists the ranks each plan ties with): the model "
             f"cannot tell which is faster. Each rank goes to one of the plans that no plan not yet ranked is clearly "
             f"faster than: {TIE_BREAKS}.", "",
             "| rank | setting | s/iter | peak GiB/GPU | headroom GiB | tolerance | tie |",
             "|---|---|---|---|---|---|---|"]
    marks = [tie_text(ranks) for ranks in ranking.ties] if ranking.ties else [""] * len(plans)
    tolerances = ranking.tolerances or (ranking.tie_rtol,) * len(plans)
    for rank, (plan, mark, tolerance) in enumerate(zip(plans, marks, tolerances), start=1):
        headroom = memory_cap(plan, hardware) - peak_bytes(plan)
        lines.append(f"| {rank} | {plan.describe()} | {plan.prediction.iteration_time_s:.3f} | "
                     f"{peak_bytes(plan) / GIB:.2f} | {headroom / GIB:.2f} | {tolerance:.1%} | {mark} |")
    lines.append("")
    lost_tie = lost_tie_line(plans[0], ranking.lost_tie, len(plans)) if plans else None
    if lost_tie is not None:
        lines += [lost_tie, ""]
    if fallbacks:
        lines += ["If a plan runs out of memory (every rank exits 3) or a rank is killed by a signal, `launch.sh` "
                  "runs the next of these, skipping one not predicted to save at least the model's memory error "
                  "of the memory that ran out; `attempts.json` records every attempt:", ""]
        lines += [f"{i}. `{folder}/`: {plan.describe()}, peak {peak_bytes(plan) / GIB:.2f} GiB per GPU, "
                  f"{plan.prediction.iteration_time_s:.3f} s/iter" for i, (folder, plan) in enumerate(fallbacks, 1)]
        lines.append("")
    return "\n".join(lines) + "\n"
