#!/usr/bin/env python3
"""launch/train.py with a torch.profiler trace of one step (bench/runtime/parity.py's mist_ds side).

    MIST_DS_TRACE_DIR=DIR MIST_DS_TRACE_STEP=K MIST_DS_TRACE_NAME=NAME \\
        deepspeed ... bench/runtime/traced_train.py --plan plan.json --steps N ...

Runs mist_ds.runtime.rank.main unchanged except that step K (0-based) of
mist_ds.runtime.trainer.run_steps is profiled, and the trace is summarised (bench/runtime/
trace_summary.py) after the timed loop has returned, so the export never counts in a step's time.
Without MIST_DS_TRACE_DIR it is launch/train.py.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def install_tracer(trace_dir: str, step: int, name: str) -> None:
    """Wrap trainer.train_step (profile step `step`) and trainer.run_steps (write it afterwards)."""
    import torch
    import torch.distributed as dist

    from bench.runtime.trace_summary import Tracer
    from mist_ds.runtime import trainer

    inner_step, inner_steps = trainer.train_step, trainer.run_steps
    tracers: list[Tracer] = []

    def train_step(plan, rt, source, index):
        if index != step:
            return inner_step(plan, rt, source, index)
        tracer = Tracer(trace_dir, name, dist.get_rank(), rt.device.type == "cuda" and torch.cuda.is_available())
        tracers.append(tracer)
        return tracer.run(lambda: inner_step(plan, rt, source, index))

    def run_steps(*args, **kwargs):
        result = inner_steps(*args, **kwargs)
        for tracer in tracers:
            tracer.write()
        return result

    trainer.train_step, trainer.run_steps = train_step, run_steps


if __name__ == "__main__":
    if os.environ.get("MIST_DS_TRACE_DIR"):
        install_tracer(os.environ["MIST_DS_TRACE_DIR"], int(os.environ.get("MIST_DS_TRACE_STEP", "0")),
                       os.environ.get("MIST_DS_TRACE_NAME", "mist_ds"))
    from mist_ds.runtime.rank import main

    main()
