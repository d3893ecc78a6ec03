#!/usr/bin/env python3
"""launch/train.py with mistpipe's host buffers allocated as before session 13: torch's pinned allocator
(every buffer rounded up to a power of two) and a host fp32 gradient for every swapped element
(cost/mistpipe_state.py HOST_BUFFERS 'torch_pinned'): the A side of an A/B of the engine's host
memory, in one machine call with launch/train.py (runtime/mistpipe/hostmem.py, lean gradient tails)
as the B side.

    deepspeed ... bench/engine/torch_pinned_train.py --plan plan.json --steps N --report run.json

Runs mist_ds.runtime.rank.main with every mistpipe module's host_buffer pinning through torch, the
optimizer's UnitShard keeping a full gradient tail, and RunReport.host_buffers saying 'torch_pinned';
nothing else differs.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def torch_pinned_buffer(numel, dtype, pinned):
    import torch

    return torch.empty(numel, dtype=dtype, pin_memory=pinned and torch.cuda.is_available())


def pin_through_torch() -> None:
    import mist_ds.runtime.mistpipe.optimizer as optimizer
    import mist_ds.runtime.mistpipe.streams as streams
    import mist_ds.runtime.mistpipe.swapadam as swapadam
    import mist_ds.runtime.mistpipe.unit as unit
    import mist_ds.runtime.reporting as reporting

    for module in (optimizer, streams, swapadam, unit):
        module.host_buffer = torch_pinned_buffer
    full_tails = optimizer.UnitShard.__init__

    def init(self, *args, lean_grads=False, **kwargs):
        full_tails(self, *args, lean_grads=False, **kwargs)

    optimizer.UnitShard.__init__ = init
    recorded = reporting.recorded_host_buffers
    reporting.recorded_host_buffers = lambda plan: "torch_pinned" if recorded(plan) else None


if __name__ == "__main__":
    pin_through_torch()
    from mist_ds.runtime.rank import main

    main()
