#!/usr/bin/env python3
"""Would the micro-batch / boundary split phased runs measure price whole ZeRO-3 offload iterations better?

    python bench/accuracy/offload_split.py [--boundary-hidden 0.33] [--coupling h100-1gpu-node=0]
        [--zero3-microbatch h100-1gpu-node=0.002969] [--families zero3-offload,weight-offload]

The H100 node's phased ZeRO-3 optimizer-offload runs (bench/accuracy/phase_vs_model.py; ZERO3_OFFLOAD.md sessions
68-71) run their steady micro-batches at about the GPU compute alone, where the model adds its copy chain, its
coupling (cost/stage_time.py coupling_s) and the per-micro-batch host term, and at micro-batch 4 and 8 hide the
boundary's copies in about a third of the backward's slack (boundary_window), where the model hides them in all of
it. This scores every committed run `make accuracy` scores (bench/accuracy/report.py collect) twice: with the model
as it is, and with the model patched in this process only (the boundary hiding --boundary-hidden of the slack; a
node's coupling coefficient, PROFILE=VALUE, in place of COUPLING_PER_BALANCE; a node's
zero3_microbatch_overhead_s). Nothing is fitted to iteration times. Prints a row per (node, family): runs, median
and max |time error| and median signed error, as it is and patched. Exit 2 on bad input, with one line.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.accuracy import report, scoring  # noqa: E402
from mist_ds.config import profiles  # noqa: E402
import mist_ds.cost.stage as stage  # noqa: E402
import mist_ds.cost.stage_time as stage_time  # noqa: E402

FAMILIES = ("zero3-offload", "weight-offload")


@contextmanager
def patched(hidden: float = 1.0, coupling: dict[str, float] | None = None,
            zero3_microbatch: dict[str, float] | None = None) -> Iterator[None]:
    """The cost model with the boundary hiding `hidden` of its slack, `coupling`'s coefficient per profile name and
    `zero3_microbatch`'s per-micro-batch term per profile name; restored on exit."""
    coupling, zero3_microbatch = coupling or {}, zero3_microbatch or {}
    base_components, base_coupling, base_load = (stage_time.time_components, stage_time.coupling_s,
                                                 profiles.load_hardware)
    scale = {"now": 1.0}

    def coupling_s(rates, t, backward_compute):
        return base_coupling(rates, t, backward_compute) * scale["now"]

    def time_components(m, t, times, b, dp, tp):
        scale["now"] = coupling.get(m.hw.name, stage_time.COUPLING_PER_BALANCE) / stage_time.COUPLING_PER_BALANCE
        p = base_components(m, t, times, b, dp, tp)
        p["boundary_mb"] = np.maximum(p["boundary_copies_mb"] - hidden * p["boundary_slack_mb"], 0.0)
        return p

    def load_hardware(name_or_path):
        hw = base_load(name_or_path)
        if hw.name in zero3_microbatch:
            return hw.model_copy(update={"zero3_microbatch_overhead_s": zero3_microbatch[hw.name]})
        return hw

    saved = (stage_time.coupling_s, stage_time.time_components, stage.time_components, scoring.load_hardware)
    stage_time.coupling_s, stage_time.time_components, stage.time_components = coupling_s, time_components, \
        time_components
    scoring.load_hardware = load_hardware
    try:
        yield
    finally:
        stage_time.coupling_s, stage_time.time_components, stage.time_components, scoring.load_hardware = saved


def errors_by_group(rows: list[scoring.Scored], families: tuple[str, ...]) -> dict[tuple[str, str], list[float]]:
    """Time errors of the targets' runs (finished, not rejected, with expandable segments) per (node, family)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if r.status == "ok" and r.time_error is not None and not r.rejected and not r.no_expandable_segments \
                and r.family in families:
            groups.setdefault((r.hardware, r.family), []).append(r.time_error)
    return groups


def cells(errors: list[float]) -> str:
    """median |error| / max |error| / median signed error."""
    absolute = [abs(e) for e in errors]
    return f"{statistics.median(absolute):.1%} / {max(absolute):.1%} / {statistics.median(errors):+.1%}"


def table(base: dict, variant: dict) -> list[str]:
    """The markdown table: a row per (node, family) of `base`, as it is and patched."""
    lines = ["| node | family | runs | as it is: median / max / bias | patched: median / max / bias |",
             "|---|---|---|---|---|"]
    for key in sorted(base):
        lines.append(f"| {key[0]} | {key[1]} | {len(base[key])} | {cells(base[key])} | {cells(variant[key])} |")
    return lines


def per_profile(values: list[str], flag: str) -> dict[str, float]:
    """PROFILE=VALUE arguments as a dict; ValueError (one line) on any other form."""
    out = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name] = float(number)
        except ValueError:
            raise ValueError(f"{flag} wants PROFILE=VALUE, got {value!r}") from None
    return out


def main(argv: list[str] | None = None) -> int:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/accuracy/offload_split.py", description=__doc__.splitlines()[0])
    parser.add_argument("--boundary-hidden", type=float, default=1.0,
                        help="share of the backward's slack the boundary's copies hide in (model: 1)")
    parser.add_argument("--coupling", action="append", default=[], metavar="PROFILE=VALUE")
    parser.add_argument("--zero3-microbatch", action="append", default=[], metavar="PROFILE=SECONDS")
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args(argv)
    if not 0.0 <= args.boundary_hidden <= 1.0:
        parser.error(f"--boundary-hidden {args.boundary_hidden}: not in [0, 1]")
    try:
        coupling = per_profile(args.coupling, "--coupling")
        zero3_microbatch = per_profile(args.zero3_microbatch, "--zero3-microbatch")
    except ValueError as e:
        parser.error(str(e))
    families = tuple(f for f in args.families.split(",") if f)
    folder, results = ROOT / "bench/results/accuracy", ROOT / "bench/results"
    base = errors_by_group(report.collect(folder, results)[0], families)
    with patched(args.boundary_hidden, coupling, zero3_microbatch):
        variant = errors_by_group(report.collect(folder, results)[0], families)
    print("\n".join(table(base, variant)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
