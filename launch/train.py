#!/usr/bin/env python3
"""Entry point the deepspeed launcher runs, as a script (a thin wrapper of `mist_ds.train`, which an
installed package runs with `deepspeed --module mist_ds.train ...`):

    deepspeed --hostfile H launch/train.py --plan plan.json --steps 20 --report run.json

CPU (no GPU): DS_ACCELERATOR=cpu deepspeed --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 \
    launch/train.py --plan plan.json        (gloo, fp32). See mist_ds/runtime/rank.py for exit codes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from mist_ds.train import main  # noqa: E402  (sets PYTORCH_CUDA_ALLOC_CONF before torch is imported)

if __name__ == "__main__":
    main()
