"""The profiler's writeback section (profile/writeback.py) and how a profile takes its rate (profile/assemble.py):
records from two real CPU ranks (gloo), then the assembly rule on records with known answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mist_ds.config.profiles import load_hardware
from mist_ds.profile.assemble import assemble_profile, staged_rate_gbps
from profile_synthetic import synthetic_raw
from tests.helpers import child_pythonpath, free_port, spawn_ranks

ROOT = Path(__file__).resolve().parents[2]
FALLBACK = load_hardware("h100-1gpu-node")


def _record(concurrent: int, rank: int, gbps: float) -> dict:
    return {"concurrent_gpus": concurrent, "rank": rank, "elements": 100_000_000, "time_s": 0.2 / gbps,
            "gbps": gbps}


@pytest.mark.distributed
def test_two_ranks_record_rank_0_alone_then_both_at_once(tmp_path):
    out = tmp_path / "records.json"
    env = {**os.environ, "PYTHONPATH": child_pythonpath(ROOT), "OMP_NUM_THREADS": "1"}
    proc = spawn_ranks("tests/profile/writeback_worker.py", 2, free_port(), ["--out", str(out)], cwd=ROOT, env=env,
                       timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    records = json.loads(out.read_text())
    assert sorted((r["concurrent_gpus"], r["rank"]) for r in records) == [(1, 0), (2, 0), (2, 1)]
    for r in records:
        assert r["elements"] == 2**20 and r["time_s"] > 0
        assert r["gbps"] == pytest.approx(2 * 2**20 / r["time_s"] / 1e9)  # 16-bit bytes written


def test_the_profile_takes_the_slowest_rank_with_the_most_at_once():
    records = [_record(1, 0, 30.0), _record(2, 0, 18.0), _record(2, 1, 16.5)]
    raw = {**synthetic_raw(), "writeback": records}
    assert staged_rate_gbps(raw) == 16.5
    hw = assemble_profile(raw, "node", FALLBACK)
    assert hw.staged_h2d_bandwidth_gbps == 16.5
    assert "30.0 GB/s with one rank, 16.5 GB/s per rank with 2 at once" in hw.provenance.notes
    alone = assemble_profile({**synthetic_raw(), "writeback": records[:1]}, "node", FALLBACK)
    assert alone.staged_h2d_bandwidth_gbps == 30.0


def test_without_the_section_the_fallbacks_rate_is_kept_and_named():
    assert FALLBACK.staged_h2d_bandwidth_gbps is not None
    hw = assemble_profile(synthetic_raw(), "node", FALLBACK)
    assert hw.staged_h2d_bandwidth_gbps == FALLBACK.staged_h2d_bandwidth_gbps
    assert "staged_h2d_bandwidth_gbps" in hw.provenance.notes
    assert "Staged write-back" not in hw.provenance.notes
