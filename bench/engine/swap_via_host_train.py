#!/usr/bin/env python3
"""launch/train.py with mistpipe's GPU swap taking every swapped gradient through the host, as the engine
did before 2026-12-01 (runtime/mistpipe/optimizer.py SWAP_GRADIENTS 'host'): the A side of an A/B of
the gradient round trip, in one machine call with launch/train.py as the B side.

    deepspeed ... bench/engine/swap_via_host_train.py --plan plan.json --steps N --report run.json

Runs mist_ds.runtime.rank.main with build_mistpipe_engine's swap_gradients set to 'host' and the
report's RunReport.swap_gradients saying so; nothing else differs.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def route_swap_gradients_via_host() -> None:
    from bench.engine.engine_option import build_engines_with

    build_engines_with("swap_gradients", "host", "swap_gradients", "host")


if __name__ == "__main__":
    route_swap_gradients_via_host()
    from mist_ds.runtime.rank import main

    main()
