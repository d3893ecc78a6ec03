"""Readable units for what people read (report.md, the autotune table, plan.png): a tiny model's
7 ms iteration reads '7.32 ms', not '0.007 s'; its 300 MiB buffers '300.0 MiB', not '0.3 GiB'. A table
picks one unit per column (pick_unit of its largest value) so its rows compare at a glance."""

from __future__ import annotations

from typing import NamedTuple

from mist_ds.config.units import GIB


class Unit(NamedTuple):
    """A display unit: its name and its size in base units (seconds or bytes)."""

    name: str
    scale: float


TIME_UNITS = (Unit("s", 1.0), Unit("ms", 1e-3), Unit("us", 1e-6))
MEMORY_UNITS = (Unit("GiB", GIB), Unit("MiB", 2**20), Unit("KiB", 2**10), Unit("B", 1))


def pick_unit(largest: float, units: tuple[Unit, ...]) -> Unit:
    """The largest unit in which `largest` is at least 1 (the smallest unit for 0), so a column of
    tiny values reads '29.1 ms', not '0.000 s'."""
    for unit in units:
        if abs(largest) >= unit.scale:
            return unit
    return units[-1]


def in_unit(value: float, unit: Unit) -> str:
    """`value` in `unit` with two decimals under 10, one under 1000, none above (no unit name)."""
    scaled = value / unit.scale
    if scaled == 0:
        return "0"
    digits = 0 if abs(scaled) >= 1000 else 1 if abs(scaled) >= 10 else 2
    return f"{scaled:.{digits}f}"


def seconds_text(seconds: float) -> str:
    """A duration with its own readable unit: '7.10 s', '29.1 ms'."""
    unit = pick_unit(seconds, TIME_UNITS)
    return f"{in_unit(seconds, unit)} {unit.name}"


def bytes_text(nbytes: float) -> str:
    """A size with its own readable unit: '59.2 GiB', '310.0 MiB'."""
    unit = pick_unit(nbytes, MEMORY_UNITS)
    return f"{in_unit(nbytes, unit)} {unit.name}"
