#!/usr/bin/env python3
"""launch/train.py with the loss 'liger' through Liger-Kernel's own autograd Function
(LigerCrossEntropyFunction: four host synchronisations per micro-batch, the runtime's path before
session 16): the A side of an A/B against launch/train.py (runtime/liger_loss.py, the same kernels
without them), in one machine call.

    deepspeed ... bench/runtime/liger_sync_train.py --plan plan.json --steps N --report run.json

Runs mist_ds.runtime.rank.main with mist_ds.runtime.loss.liger_cross_entropy replaced; nothing else
differs. RunReport.kernels names the loss 'liger' either way, so keep these runs out of the accuracy
suite (bench/calls/s16_next_liger_sync.sh writes them under bench/results/runtime/).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def liger_with_syncs(logits, labels, ignore_index):
    """Mean cross-entropy through LigerCrossEntropyFunction (its arguments as
    liger_kernel.transformers.functional.liger_cross_entropy passes them for a plain mean loss)."""
    from liger_kernel.ops import LigerCrossEntropyFunction

    loss, *_ = LigerCrossEntropyFunction.apply(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), None, ignore_index, 0.0, 0.0,
        "mean", None, False, False, False)
    return loss


if __name__ == "__main__":
    import mist_ds.runtime.loss as loss

    loss.liger_cross_entropy = liger_with_syncs
    from mist_ds.runtime.rank import main

    main()
