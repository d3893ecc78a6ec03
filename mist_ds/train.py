"""The rank entry DeepSpeed's launcher starts: train a plan for a few steps and write a RunReport.

    deepspeed --hostfile H --module mist_ds.train --plan plan.json --steps 20 --report run.json

(`launch/train.py` is the same entry as a script, for a checkout.) Flags and exit codes:
mist_ds/runtime/rank.py. `python -m mist_ds.run FOLDER` (what launch.sh calls) runs this for a tuned
folder and falls back to the next plan when one runs out of memory.
"""

import os

# Before torch touches CUDA: expandable segments keep the caching allocator from stranding memory in
# fragments. Measured (bench/results/runs_h200x2_llama-7b-pp2-calibrated*.json, 2xH200, 78 GiB cap): the
# same llama-7b PP2 plan ran out of memory at its first optimizer step with 18.8 GiB reserved but
# unallocated without it, and ran (69.7 GiB allocated, 75.8 GiB reserved) with it. A user's own
# PYTORCH_CUDA_ALLOC_CONF wins.
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")


def main() -> None:
    """Run one rank (exits the process: mist_ds.runtime.rank.finish)."""
    from mist_ds.runtime.rank import main as run_rank

    run_rank()


if __name__ == "__main__":
    main()
