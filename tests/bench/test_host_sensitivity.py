"""bench/accuracy/host_sensitivity.py: a plan's predicted sensitivity to a slower host thread, on committed runs."""

from __future__ import annotations

import json

from bench.accuracy.host_paced import host_share
from bench.accuracy.host_sensitivity import FLAG, sensitivity
from bench.accuracy.report import RESULTS

QWEN2_15B = "auto-qw15b-1g-c40-s4096-b32"
"""Session 53's held-out winner whose forward host work equals its GPU window: no predicted wait, yet sensitive."""


def _row(name: str) -> dict:
    return next(r for r in json.loads((RESULTS / "accuracy.json").read_text())["runs"] if r["name"] == name)


def test_a_plan_at_the_edge_of_host_pace_is_sensitive_without_a_predicted_wait():
    row, cache = _row(QWEN2_15B), {}
    assert host_share(row, cache) < 0.05
    assert sensitivity(row, 1.33, cache) > FLAG
    assert sensitivity(row, 1.0, cache) == 0.0
