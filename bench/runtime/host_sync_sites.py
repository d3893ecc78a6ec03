#!/usr/bin/env python3
"""launch/train.py that lists, for one step, every call that would make the host wait for the GPU.

    MIST_DS_SYNC_STEP=K MIST_DS_SYNC_OUT=sites.json \\
        deepspeed ... bench/runtime/host_sync_sites.py --plan plan.json --steps N ...

On step K (0-based) of mist_ds.runtime.trainer.run_steps, the tensor methods that copy a value to
the host (item, tolist, __bool__, __float__, __int__, cpu, numpy) are wrapped; each call is counted
under its innermost caller in mist_ds/ or deepspeed/ (file:line function). On CUDA every such call on
a device tensor drains the launch queue, so a site counted once per micro-batch costs every
micro-batch; the profiled steps show them as DtoH copies (bench/results/runtime/zero1_trace_S15/).
Runs on CPU ranks too (DS_ACCELERATOR=cpu, gloo), where it finds the same Python call sites as far
as DeepSpeed's CPU accelerator takes the same paths; it counts calls on every tensor (on CPU a host
tensor cannot be told from a device one), so read the sites, not the totals.
Writes {"step": K, "grad_accum": GA, "sites": {site: count}} per rank (rank suffix on the file).
"""

from __future__ import annotations

import collections
import json
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SYNCING = ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy")
OWNERS = (os.sep + "mist_ds" + os.sep, os.sep + "deepspeed" + os.sep)


def call_site() -> str:
    """The innermost frame of mist_ds or deepspeed below the wrapper (else the innermost frame)."""
    frames = traceback.extract_stack()[:-2]
    for frame in reversed(frames):
        if any(owner in frame.filename for owner in OWNERS):
            path = frame.filename.split(os.sep + "site-packages" + os.sep)[-1].replace(str(ROOT) + os.sep, "")
            return f"{path}:{frame.lineno} {frame.name}"
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno} {frame.name}"


class SyncCounter:
    """Counts host-syncing tensor calls by call site while active."""

    def __init__(self):
        self.sites: collections.Counter[str] = collections.Counter()
        self._originals = {}

    def __enter__(self):
        import torch

        for name in SYNCING:
            original = getattr(torch.Tensor, name)
            self._originals[name] = original
            setattr(torch.Tensor, name, self._wrap(original))
        return self

    def __exit__(self, *exc):
        import torch

        for name, original in self._originals.items():
            setattr(torch.Tensor, name, original)

    def _wrap(self, original):
        def counted(tensor, *args, **kwargs):
            self.sites[call_site()] += 1
            return original(tensor, *args, **kwargs)
        return counted


def install(step: int, out: str) -> None:
    """Wrap trainer.train_step so step `step` runs under a SyncCounter; write its sites."""
    import torch.distributed as dist

    from mist_ds.runtime import trainer

    inner = trainer.train_step

    def train_step(plan, rt, source, index):
        if index != step:
            return inner(plan, rt, source, index)
        with SyncCounter() as counter:
            loss = inner(plan, rt, source, index)
        path = Path(out)
        path = path.with_name(f"{path.stem}.rank{dist.get_rank()}{path.suffix}")
        path.write_text(json.dumps({"step": step, "grad_accum": plan.grad_accum_steps,
                                    "sites": dict(counter.sites.most_common())}, indent=1))
        return loss

    trainer.train_step = train_step


if __name__ == "__main__":
    install(int(os.environ.get("MIST_DS_SYNC_STEP", "1")), os.environ.get("MIST_DS_SYNC_OUT", "sync_sites.json"))
    from mist_ds.runtime.rank import main

    main()
