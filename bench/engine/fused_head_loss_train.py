#!/usr/bin/env python3
"""launch/train.py with mistpipe's fused LM head + cross-entropy on (build_mistpipe_engine fused_head_loss=True:
the last stage computes head and loss in one chunked pass that never holds the logits,
runtime/fused_head_loss.py): the B side of an A/B against launch/train.py (the engine's default, off), in one
machine call.

    deepspeed ... bench/engine/fused_head_loss_train.py --plan plan.json --steps N --report run.json

Runs mist_ds.runtime.rank.main with every mistpipe engine built with fused_head_loss=True and the report's
RunReport.fused_head_loss saying so; nothing else differs. The cost model does not price the option yet
(cost/activations.py logits_bytes still charges the logits): keep such runs out of bench/results/accuracy/.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def fuse_head_and_loss() -> None:
    from bench.engine.engine_option import build_engines_with

    build_engines_with("fused_head_loss", True, "fused_head_loss", True)


if __name__ == "__main__":
    fuse_head_and_loss()
    from mist_ds.runtime.rank import main

    main()
