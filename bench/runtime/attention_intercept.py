#!/usr/bin/env python3
"""How much of a profile's attention samples is fixed per call: time against FLOPs, per head dim (CPU only).

    python bench/runtime/attention_intercept.py PROFILE [PROFILE ...]

Per profile and head dim, a least-squares line time = intercept + FLOPs / rate through the attention samples
(config/hw_lookup.py's counting: attention_flops, ATTENTION_BWD_FLOPS_PER_FWD; the backward factor only scales the
rate). A kernel has a few microseconds fixed per call; a larger intercept is work outside the kernels inside the
timed region: until session 63 the profiler timed each call from an idle GPU, so its samples also held the host's
launch path (mist_ds/profile/compute.py ATTENTION_GATE_S). Exit 2 on an unknown profile or one with fewer than
two samples of a head dim.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config.hw_lookup import ATTENTION_BWD_FLOPS_PER_FWD, sample_flops  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402


def fit_line(flops: list[float], times: list[float]) -> tuple[float, float]:
    """(intercept s, rate FLOP/s) of the least-squares line times = intercept + flops / rate."""
    design = np.vstack([np.ones(len(flops)), np.asarray(flops)]).T
    (intercept, per_flop), *_ = np.linalg.lstsq(design, np.asarray(times), rcond=None)
    return float(intercept), 1.0 / float(per_flop)


def rows(profile: str) -> list[str]:
    samples = load_hardware(profile).attention_samples
    out = []
    for dim in sorted({s.head_dim for s in samples}):
        group = [s for s in samples if s.head_dim == dim]
        if len(group) < 2:
            raise ValueError(f"{profile}: one sample of head dim {dim}")
        flops = [sample_flops(s) for s in group]
        f0, f_rate = fit_line(flops, [s.fwd_time_s for s in group])
        b0, b_rate = fit_line([ATTENTION_BWD_FLOPS_PER_FWD * f for f in flops], [s.bwd_time_s for s in group])
        out.append(f"| {profile} | {dim} | {len(group)} | {f0 * 1e6:.1f} | {f_rate / 1e12:.0f} | {b0 * 1e6:.1f} "
                   f"| {b_rate / 1e12:.0f} |")
    return out


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("profiles", nargs="+")
    args = ap.parse_args()
    table = ["| profile | head dim | samples | forward intercept (us) | forward TFLOP/s | backward intercept (us) "
             "| backward TFLOP/s |", "|---|---|---|---|---|---|---|"]
    try:
        for profile in args.profiles:
            table += rows(profile)
    except (OSError, ValueError) as e:
        ap.error(str(e))
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
