"""A profile made to this machine: its measured both-ways copy slowdowns in place of the profile's.

Machines of one kind differ in how fast pinned copies run both ways at once. On the 1-GPU H100 node
(bench/results/runtime/h100_machines_S54/, 2026-12-06) bench/engine/pcie_share.py's 60 MiB copies ran
31.8-33.9 GB/s per direction both at once on one machine and 49.0-50.1 on four others (each direction
50.9-54.8 alone), and the ratio-1 swap plan h100n-auto-q3-17b-1g-c24-s4096-b16 ran 2.254 / 2.267 s/iter on the
first and 2.020-2.073 on the others. Re-priced with each machine's alone / both rates as the {h2d, d2h}
slowdowns, the cost model gives 2.248 and 2.039 (errors -0.3..-0.8% and -1.6..+0.9%); the shipped profile's
median pair (1.236 / 1.063) gives 2.070 for all. The same slow pair prices the host's Adam (cpu_adam) faster
than the swap on every swap winner of b52 (e.g. 521 vs 648 ms a step for that plan). The runtime measures
the pair at start (runtime/copy_probe.py, profile/interference.py copy_pair_slowdowns) and prices its
optimizer path with `with_copy_slowdowns`. Pure: no torch.
"""

from __future__ import annotations

from mist_ds.config.hardware import HardwareProfile, InterferenceFactor

PAIR = ("h2d", "d2h")


def with_copy_slowdowns(hw: HardwareProfile, h2d: float, d2h: float) -> HardwareProfile:
    """`hw` with h2d's and d2h's slowdown beside each other set to the measured (h2d, d2h) (each at
    least 1). Every other measured set holding both copies keeps its own factors times measured /
    profile pair (the compute + h2d + d2h triple follows the machine); a profile that never measured
    the pair gains it and keeps its other sets."""
    measured = {"h2d": max(1.0, h2d), "d2h": max(1.0, d2h)}
    old = _pair(hw)
    scale = {c: measured[c] / old[c] for c in PAIR} if old else {c: 1.0 for c in PAIR}
    factors = []
    for factor in hw.interference:
        if set(factor.channels) == set(PAIR):
            continue
        if set(PAIR) <= set(factor.channels):
            slowdowns = tuple(max(1.0, s * scale.get(c, 1.0)) for c, s in zip(factor.channels, factor.slowdowns))
            factor = factor.model_copy(update={"slowdowns": slowdowns})
        factors.append(factor)
    factors.append(InterferenceFactor(channels=PAIR, slowdowns=(measured["h2d"], measured["d2h"])))
    return hw.model_copy(update={"interference": tuple(factors)})


def _pair(hw: HardwareProfile) -> dict[str, float] | None:
    """The profile's {h2d, d2h} slowdowns by channel, None where it did not measure the pair."""
    for factor in hw.interference:
        if set(factor.channels) == set(PAIR):
            return dict(zip(factor.channels, factor.slowdowns))
    return None
