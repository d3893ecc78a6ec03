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

import functools
import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def fuse_head_and_loss() -> None:
    import mist_ds.runtime.mistpipe.engine as engine
    import mist_ds.runtime.reporting as reporting

    engine.build_mistpipe_engine = functools.partial(engine.build_mistpipe_engine, fused_head_loss=True)
    recorded = reporting.recorded_fused_head_loss
    reporting.recorded_fused_head_loss = lambda plan: True if recorded(plan) is not None else None


if __name__ == "__main__":
    fuse_head_and_loss()
    from mist_ds.runtime.rank import main

    main()
