#!/usr/bin/env python3
"""Would a hole term in a stage's activations, or in its logits, predict stock DeepSpeed's reserved memory better?
Held out, no (bench/accuracy/RESERVED.md, sessions 55 and 60). CPU only; prints markdown.

    PYTHONPATH=$PWD python bench/accuracy/reserved_activation.py [--accuracy bench/results/accuracy.json]

Why asked: Qwen2-0.5B's stock ZeRO-0 winners leave 24-26% of their activations as holes (8.65 GiB at 78 GiB over a
0.92 GiB 16-bit partition: 9.4 partitions where the class coefficient is 0.87), and the hole of other ZeRO-0 stages
is about a fifth of their activations too. Candidate: the hole of a stage is `combine`(class x its unit, b x
activations at the peak), `combine` the larger of the two ('max') or their sum ('sum'), capped as reserved.py caps it.
Samples: reserved_fit.py's (one per distinct stock plan and stage, stages at their cap left out). For each b the
class coefficients are re-fitted on one half (crc32 of the run's name, reserved_fit.half_of) as the median of the
class term's share of the gap ('max': only stages where the class term is the larger), and score the other
half: median and max |error| of each stage's predicted reserved, and how many miss by more than 5%. The last rows
choose b on the fitting half too (the b of B_GRID with the smallest median |error| there): the held-out test of the
term. On the report of 2026-12-06 (143 stages): 2.3% / 22.5-22.8% / 37 against b = 0's 2.4% / 22.5% / 38.
The same for a term in the stage's 16-bit logits (the last stage's micro-batch x sequence x vocabulary shard x 2
bytes; session 59's S59-3 traced the two worst stock stages' excess to one logits-sized block,
bench/results/runtime/frag_stock_S59/): on the report of session 60 (144 stages) 2.4% / 22.5% / 37 ('max') and
2.4% / 23.1% / 38 ('sum') with b chosen per half, against b = 0's 2.4% / 22.5% / 37.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.reserved_fit import (ACCURACY, ROOT, half_of, load_plans, report_script,  # noqa: E402
                                         stock_stages, targeted)
from bench.accuracy.reserved_fit import fit as fit_classes  # noqa: E402
from mist_ds.config import RunReport  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.plan_predict import predict_plan  # noqa: E402
from mist_ds.cost.reserved import ELEM, HOLES, hole_unit_bytes, stage_class  # noqa: E402
from mist_ds.cost.shapes import vocab_shard  # noqa: E402

ACTIVATION_SHARES = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3)
"""The b values tried for the activation term (0: today's model, the class term alone)."""
LOGITS_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The b values tried for the logits term."""
B_GRID = tuple(i / 100 for i in range(31))
"""The b values a half chooses from for the activation term (nested)."""
LOGITS_GRID = tuple(i / 20 for i in range(41))
"""The b values a half chooses from for the logits term (0 to 2 logits blocks)."""
TERMS = {"act": ("activations", ACTIVATION_SHARES, B_GRID), "logits": ("logits", LOGITS_SHARES, LOGITS_GRID)}
"""Per candidate term (a sample's key): its name, the b values of its fixed rows and the grid a half chooses from."""


def samples(report: dict) -> list[dict]:
    """Per stock stage sample of reserved_fit.stock_stages: its run's half, class, the class's unit (hole_unit_bytes),
    predicted activations at the peak (the run's conditions, as the report predicts it), 16-bit logits (the last
    stage's), predicted allocated peak P, measured reserved R and the cap."""
    runs = targeted(report)
    plans = load_plans(runs)
    hardware: dict = {}
    out = []
    for run, plan, stage, _ in stock_stages(runs, plans):
        hw = hardware.setdefault(run["hardware"], load_hardware(run["hardware"]))
        bare = plan.without_prediction()
        conditions = RunConditions.of_run(bare, RunReport.load_checked(ROOT / run["run_path"], "run report"))
        predicted = predict_plan(bare, hw, conditions).stages[stage["stage"]]
        out.append({"half": half_of(run), "unit": hole_unit_bytes(plan, stage["stage"]),
                    "class": stage_class(plan, stage["stage"]),
                    "act": predicted.memory_breakdown.activations_bytes, "logits": logits_bytes(plan, stage["stage"]),
                    "P": stage["predicted_bytes"],
                    "R": stage["reserved_bytes"], "cap": plan.gpu_memory_cap_bytes or hw.gpu_memory_bytes})
    return out


def logits_bytes(plan, index: int) -> int:
    """16-bit logits of one micro-batch on stage `index` (the last stage's; 0 elsewhere)."""
    last = index == plan.num_stages - 1
    return last * ELEM * plan.micro_batch_size * plan.seq_len * int(vocab_shard(plan.model, plan.tp))


def hole(s: dict, coefficients: dict[str, float], share: float, combine: str, term: str = "act") -> float:
    """Predicted free-but-reserved bytes of stage sample `s`: `combine` of its class term and b x its `term`
    (activations, or logits)."""
    own, extra = coefficients[s["class"]] * s["unit"], share * s[term]
    return max(own, extra) if combine == "max" else own + extra


def error(s: dict, coefficients: dict[str, float], share: float, combine: str, term: str = "act") -> float:
    """(predicted - measured) / measured reserved of `s`, the prediction cut at the cap as reserved.py cuts it."""
    return min(s["cap"], s["P"] + hole(s, coefficients, share, combine, term)) / s["R"] - 1


def fit(stages: list[dict], share: float, combine: str, term: str = "act") -> dict[str, float]:
    """Class coefficients on `stages` given b = `share`: reserved_fit.fit (the median, rounded to 0.01, clamped at 0;
    a class without samples keeps the shipped value) of each gap's class-term share."""
    by_class: dict[str, list[float]] = {}
    for s in stages:
        if combine == "max" and share * s[term] > HOLES[s["class"]] * s["unit"]:
            continue   # the other term sets this stage's hole: no sample of the class term
        rest = s["R"] - s["P"] - (share * s[term] if combine == "sum" else 0.0)
        by_class.setdefault(s["class"], []).append(rest / s["unit"])
    return fit_classes(by_class)


def held_out(stages: list[dict], share: float, combine: str, term: str = "act") -> list[float]:
    """|error| of every stage, predicted with coefficients fitted on the other half."""
    return [abs(error(s, fit([t for t in stages if t["half"] != h], share, combine, term), share, combine, term))
            for h in (0, 1) for s in stages if s["half"] == h]


def chosen_share(stages: list[dict], combine: str, term: str = "act") -> float:
    """The b of the term's grid whose coefficients, fitted on `stages`, give the smallest median |error| on them."""
    def in_sample(share: float) -> float:
        coefficients = fit(stages, share, combine, term)
        return statistics.median(abs(error(s, coefficients, share, combine, term)) for s in stages)
    return min(TERMS[term][2], key=in_sample)


def nested(stages: list[dict], combine: str, term: str = "act") -> tuple[list[float], list[float]]:
    """(|error| of every stage, the b each half chose): b and the coefficients both fitted on the other half."""
    errors, chosen = [], []
    for h in (0, 1):
        train = [s for s in stages if s["half"] != h]
        share = chosen_share(train, combine, term)
        coefficients = fit(train, share, combine, term)
        errors += [abs(error(s, coefficients, share, combine, term)) for s in stages if s["half"] == h]
        chosen.append(share)
    return errors, chosen


def _row(label: str, share: str, errors: list[float]) -> str:
    return (f"| {label} | {share} | {100 * statistics.median(errors):.1f}% | {100 * max(errors):.1f}% | "
            f"{sum(e > 0.05 for e in errors)} |")


def render(stages: list[dict]) -> list[str]:
    lines = [f"{len(stages)} stock stages; coefficients fitted on one half, scored on the other (b = 0 is today's "
             "model; a fixed b other than 0 was picked with both halves in view, so only the rows whose b each "
             "half chose on its own are a held-out test of the term)."]
    for term, (name, shares, _) in TERMS.items():
        lines += ["", f"| hole | b (share of {name}) | median | max | stages off by > 5% |", "|---|---|---|---|---|"]
        for combine in ("max", "sum"):
            for share in shares:
                lines.append(_row(f"{combine}(class term, b x {name})", f"{share:.2f}",
                                  held_out(stages, share, combine, term)))
        for combine in ("max", "sum"):
            errors, chosen = nested(stages, combine, term)
            lines.append(_row(f"{combine}(...), b fitted on the other half", " / ".join(f"{b:.2f}" for b in chosen),
                              errors))
    return lines


def main(argv: list[str] | None = None) -> int:
    return report_script(argv, "bench/accuracy/reserved_activation.py", __doc__, lambda report: render(samples(report)))


if __name__ == "__main__":
    sys.exit(main())
