#!/usr/bin/env python3
"""launch/train.py with mistpipe's GPU swap cutting each tail into chunks of swap_chunk_elements and a
remainder, as before session 13 (runtime/mistpipe/swapadam.py even_chunk cuts it into nearly equal
ones): the A side of an A/B of the swap's chunking, in one machine call with launch/train.py as the
B side.

    deepspeed ... bench/engine/fixed_chunks_train.py --plan plan.json --steps N --report run.json

Runs mist_ds.runtime.rank.main with swapadam.even_chunk returning its limit; nothing else differs (the
report cannot tell the two apart: keep it under a name that says so).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def cut_at_the_limit() -> None:
    import mist_ds.runtime.mistpipe.swapadam as swapadam

    swapadam.even_chunk = lambda numel, limit: limit


if __name__ == "__main__":
    cut_at_the_limit()
    from mist_ds.runtime.rank import main

    main()
