#!/usr/bin/env python3
"""launch/train.py with mistpipe's fused weight-gradient accumulation on (build_mistpipe_engine
fused_wgrad=True, runtime/wgrad.py: each block linear's weight gradient added into the accumulation
buffer by its GEMM): the B side of an A/B against launch/train.py (off, the engine's default), in one
machine call. The option stays off by default until such an A/B shows what it buys
(bench/results/runtime/MFU_GAP.md estimates ~2-4% on plans with grad accumulation).

    deepspeed ... bench/engine/fused_wgrad_train.py --plan plan.json --steps N --report run.json

Runs mist_ds.runtime.rank.main with every mistpipe engine built with fused_wgrad=True; nothing else
differs (the report cannot tell the two apart: keep it under a name that says so).
"""

import functools
import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def fuse_weight_gradients() -> None:
    import mist_ds.runtime.mistpipe.engine as engine

    engine.build_mistpipe_engine = functools.partial(engine.build_mistpipe_engine, fused_wgrad=True)


if __name__ == "__main__":
    fuse_weight_gradients()
    from mist_ds.runtime.rank import main

    main()
