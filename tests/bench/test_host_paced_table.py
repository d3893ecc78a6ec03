"""bench/accuracy/host_paced.py: predicted host wait against measured spread, on the committed runs."""

from __future__ import annotations

from bench.accuracy.host_paced import MIN_RUNS, table
from bench.accuracy.report import RESULTS
from mist_ds.emit.report import HOST_PACED_SHARE


def test_the_table_ranks_the_repeated_plans_by_predicted_host_wait():
    lines = table(RESULTS / "accuracy.json")
    rows = [line.strip("|").split(" | ") for line in lines[2:]]
    assert lines[0].startswith("| plan (first run) | predicted host wait")
    assert rows and all(int(runs) >= MIN_RUNS for _, _, runs, _, _ in rows)
    shares = [float(share.rstrip("%")) / 100 for _, share, *_ in rows]
    assert shares == sorted(shares)
    # the suite's most host-bound plan (1-GPU ZeRO-3, gpt-1.3b, micro-batch 2) is warned about
    name, share, *_ = rows[-1]
    assert name.strip() == "g13-1g-c40-s2048-z3-mb2" and float(share.rstrip("%")) / 100 >= HOST_PACED_SHARE
