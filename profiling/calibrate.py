"""Calibrate a hardware profile's run-derived terms from GPU runs: a thin wrapper of
`python -m mist_ds.calibrate` (same arguments, same exit codes; see mist_ds/calibrate.py).

    python profiling/calibrate.py bench/results/accuracy/*.run.json --hardware h200 --out my-h200.json
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from mist_ds.calibrate import main  # noqa: E402
from mist_ds.cli import run_cli  # noqa: E402

if __name__ == "__main__":
    run_cli(main)
