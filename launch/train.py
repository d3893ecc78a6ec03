#!/usr/bin/env python3
"""Entry point the deepspeed launcher runs:

    deepspeed --hostfile H launch/train.py --plan plan.json --steps 20 --report run.json

CPU (no GPU): DS_ACCELERATOR=cpu deepspeed --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 \
    launch/train.py --plan plan.json        (gloo, fp32). See mist_ds/runtime/run.py for exit codes.
"""

import os
import sys
from pathlib import Path

# Before torch touches CUDA: expandable segments keep the caching allocator from stranding memory in
# fragments. Measured (bench/results/runs_h200x2_llama-7b-pp2-calibrated*.json, 2xH200, 78 GiB cap): the
# same llama-7b PP2 plan ran out of memory at its first optimizer step with 18.8 GiB reserved but
# unallocated without it, and ran (69.7 GiB allocated, 75.8 GiB reserved) with it. A user's own
# PYTORCH_CUDA_ALLOC_CONF wins.
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from mist_ds.runtime.run import main  # noqa: E402

if __name__ == "__main__":
    main()
