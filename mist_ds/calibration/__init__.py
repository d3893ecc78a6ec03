"""Calibration: fit a hardware profile's run-derived terms (host overheads, allocator allowance,
process base memory) from measured runs (`python -m mist_ds.calibrate`). Reads plan and RunReport
JSON files and the cost model; no torch."""

from __future__ import annotations

from mist_ds.calibration.fit import Calibration, calibrate
from mist_ds.calibration.runs import RunPair, load_pairs

__all__ = ["Calibration", "RunPair", "calibrate", "load_pairs"]
