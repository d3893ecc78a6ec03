#!/usr/bin/env python3
"""launch/train.py with ZeRO-3's stage3_max_live_parameters set to $MIST_DS_MAX_LIVE elements instead
of mist_ds's constant (config/executors.py DeepSpeedConstants, DeepSpeed's default 1e9): an A/B of
what the prefetcher keeps gathered (cost/memory.py gathered_elements) against its throughput.

    MIST_DS_MAX_LIVE=200000000 deepspeed ... bench/runtime/max_live_train.py --plan plan.json --steps N

The constant is replaced before the ds_config is built, so the emitted config and the runtime's check of
it agree. The cost model keeps the shipped constant: keep these runs out of the accuracy suite
(bench/calls/s17_next_max_live.sh writes them under bench/results/runtime/).
"""

import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

if __name__ == "__main__":
    from mist_ds.config.executors import STOCK_DEEPSPEED

    live = int(os.environ["MIST_DS_MAX_LIVE"])
    object.__setattr__(STOCK_DEEPSPEED, "constants",
                       dataclasses.replace(STOCK_DEEPSPEED.constants, stage3_max_live_parameters=live))
    from mist_ds.runtime.rank import main

    main()
