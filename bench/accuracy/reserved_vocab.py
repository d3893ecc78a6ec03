#!/usr/bin/env python3
"""Does a hole term in the stage's vocabulary matrices predict mistpipe's reserved memory better than the profile's
cache fraction? Held out (bench/accuracy/RESERVED.md, session 56). CPU only; prints markdown.

    PYTHONPATH=$PWD python bench/accuracy/reserved_vocab.py [--accuracy bench/results/accuracy.json]

Why asked: mistpipe's 1-GPU winners for Llama-3-8B, Qwen2-7B and Qwen3-8B at 78 GiB (untied 128-152k-token heads)
reserve 5.6-6.5 GiB above their allocated peak on the H200 node and, to the byte, on the H100 node (b56h, session 56),
7-8% above the cache-fraction prediction, while their allocated peaks are within 0.6%; over the distinct mistpipe
stages the gap correlates with the fp32 bytes of the stage's vocabulary matrices (0.91) far better than with the
allocated peak (0.37). Candidates for a stage's free-but-reserved bytes, each fitted on one half of the runs
(reserved_fit.half_of) and scored on the other, cut at the cap as cost/reserved.py cuts it:
- 'fraction': f x P, P the predicted allocated peak (the model until session 56, the profiles'
  allocator_cache_fraction; f the median (R - P) / P of the half, as calibration/fit.py fitted it);
- 'vocab': k x V, V the fp32 bytes of the vocabulary matrices the stage holds (cost/reserved.py vocab_matrix_bytes:
  the embedding on the first stage, the untied or pipelined head on the last), k the median (R - P) / V (the model
  since session 56, k = reserved.py VOCAB_HOLE);
- 'max' / 'sum' of the two, f and k the medians of the half's stages where that term is the larger ('max'), or f
  the fraction fit of what k x V leaves ('sum').
Samples: one per distinct mistpipe plan and stage among the runs the report's targets cover; stages that reserved
their cap (reserved_fit.AT_CAP) are scored but give no fitting sample. On the report of 2026-12-06 (91 stages), held
out, the 79 stages of the engines after sessions 6-8's: fraction 1.2% / 8.0% median / max, 4 off by more than 5%;
vocab 0.8% / 5.7%, 3
(all 91: 1.5% / 47.4%, 12 and 1.0% / 47.4%, 11: session 6's uncapped engine run sets the maximum).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.reserved_fit import (ACCURACY, AT_CAP, distinct_plans, half_of, load_plans,  # noqa: E402
                                         report_script, targeted)
from mist_ds.cost.reserved import vocab_matrix_bytes  # noqa: E402


def samples(report: dict) -> list[dict]:
    """Per distinct mistpipe plan and stage (reserved_fit.distinct_plans): its half, predicted allocated peak P,
    vocabulary bytes V, measured reserved R, the cap, whether the stage reserved its cap, and whether it is an
    engine-comparison run of sessions 6-8 ('engine:', an older engine; two of them uncapped, reserving without
    limit)."""
    runs = targeted(report)
    return [{"name": run["name"], "half": half_of(run), "P": stage["predicted_bytes"],
             "V": vocab_matrix_bytes(plan, stage["stage"]), "R": stage["reserved_bytes"], "cap": cap,
             "at_cap": stage["reserved_bytes"] >= AT_CAP * cap, "old_engine": run["name"].startswith("engine:")}
            for run, plan, cap in distinct_plans(runs, load_plans(runs), vocab=True) for stage in run["memory"]]


Model = Callable[[dict], float]
"""A stage sample's predicted free-but-reserved bytes."""


def _median(values: list[float]) -> float:
    return max(0.0, statistics.median(values)) if values else 0.0


def _gap(s: dict) -> float:
    return s["R"] - s["P"]


def fit_model(kind: str, train: list[dict]) -> Model:
    """The hole model `kind` with its coefficients fitted on `train` (stages at their cap left out)."""
    free = [s for s in train if not s["at_cap"]]
    with_vocab = [s for s in free if s["V"]]
    f = _median([_gap(s) / s["P"] for s in free])
    k = _median([_gap(s) / s["V"] for s in with_vocab])
    if kind == "fraction":
        return lambda s: f * s["P"]
    if kind == "vocab":
        return lambda s: k * s["V"]
    if kind == "sum":
        rest = _median([(_gap(s) - k * s["V"]) / s["P"] for s in free])
        return lambda s: rest * s["P"] + k * s["V"]
    if kind == "max":
        k_max = _median([_gap(s) / s["V"] for s in with_vocab if k * s["V"] >= f * s["P"]]) or k
        f_max = _median([_gap(s) / s["P"] for s in free if k * s["V"] < f * s["P"]]) or f
        return lambda s: max(f_max * s["P"], k_max * s["V"])
    raise ValueError(f"unknown hole model {kind!r}")


KINDS = ("fraction", "vocab", "max", "sum")


def error(s: dict, model: Model) -> float:
    """(predicted - measured) / measured reserved of `s`, the prediction cut at the cap."""
    return min(s["cap"], s["P"] + model(s)) / s["R"] - 1


def held_out(stages: list[dict], kind: str) -> list[float]:
    """|error| of every stage, its model fitted on the other half."""
    return [abs(error(s, fit_model(kind, [t for t in stages if t["half"] != h])))
            for h in (0, 1) for s in stages if s["half"] == h]


def _stats(errors: list[float]) -> str:
    return f"{len(errors)} | {100 * statistics.median(errors):.1f}% | {100 * max(errors):.1f}% | {sum(e > 0.05 for e in errors)}"


def _row(label: str, stages: list[dict], errors: list[float]) -> str:
    today = [e for s, e in zip(stages, errors) if not s["old_engine"]]
    return f"| {label} | {_stats(errors)} | {_stats(today)} |"


def render(stages: list[dict]) -> list[str]:
    ordered = [s for h in (0, 1) for s in stages if s["half"] == h]   # held_out's order
    head = ["| hole model | stages | median | max | off by > 5% | stages after sessions 6-8's engine | median | max | off by > 5% |",
            "|---|---|---|---|---|---|---|---|---|"]
    lines = [f"{len(stages)} mistpipe stages ({sum(s['at_cap'] for s in stages)} at their cap, "
             f"{sum(s['old_engine'] for s in stages)} of sessions 6-8's engine runs); each model fitted on one half, scored on "
             "the other:", "", *head]
    lines += [_row(kind, ordered, held_out(stages, kind)) for kind in KINDS]
    lines += ["", "Fitted on all (in-sample):", "", *head]
    lines += [_row(kind, stages, [abs(error(s, fit_model(kind, stages))) for s in stages]) for kind in KINDS]
    return lines


def main(argv: list[str] | None = None) -> int:
    return report_script(argv, "bench/accuracy/reserved_vocab.py", __doc__, lambda report: render(samples(report)))


if __name__ == "__main__":
    sys.exit(main())
