#!/usr/bin/env python3
"""launch/train.py with every micro-batch's forward, backward and engine.step timed apart.

    MIST_DS_PHASE_OUT=DIR deepspeed ... bench/runtime/phase_train.py --plan plan.json --steps N ...
    python bench/runtime/phase_train.py --summary DIR/rank0.phases.json     # CPU: medians per phase

The cost model splits a step into micro-batches and an optimizer step (cost/stage_time.py), and a
profiled step (traced_train.py) stretches host-paced phases by tens of percent (bench/results/runtime/
off1_trace_S24: a 1.44 s step ran 2.37 s profiled). This runs mist_ds.runtime.rank.main unchanged
except that trainer.train_step gets a `mark` (PhaseClock) that synchronises the device after each
engine call and records the seconds since the previous mark, so the phases of unprofiled steps sum
to the step. DeepSpeed steps the optimizer only at the accumulation boundary: the last micro-batch's
'step' is the optimizer step; the others' are its bookkeeping. The added syncs stop a forward from
queueing behind the previous backward's copies; ZeRO-3's backward already ends in one
(stage3.py independent_gradient_partition_epilogue). Pipelined plans run one engine call a step and
record nothing. Writes DIR/rank<r>.phases.json after every step: {"rank", "steps": [[{"forward",
"backward", "step"} per micro-batch] per step]}, the warm-up steps included (launch/train.py times
the steps after --warmup).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PHASES = ("forward", "backward", "step")


class PhaseClock:
    """A train_step `mark`: seconds from the previous mark (or `begin`) to each phase's end, after `sync`."""

    def __init__(self, sync, clock=time.perf_counter):
        self.sync, self.clock = sync, clock
        self.steps: list[list[dict[str, float]]] = []
        self._last = 0.0

    def begin(self) -> None:
        """Start a step (its phases go to a new list)."""
        self.steps.append([])
        self._last = self.clock()

    def __call__(self, phase: str) -> None:
        self.sync()
        now = self.clock()
        if phase == PHASES[0]:
            self.steps[-1].append({})
        self.steps[-1][-1][phase] = now - self._last
        self._last = now


def summary(steps: list[list[dict[str, float]]], warmup: int) -> dict[str, float]:
    """Median seconds over the steps after `warmup`: a forward (every micro-batch), a backward and an
    engine.step of the micro-batches before the last, the last backward (the accumulation boundary's
    copies run in it), the optimizer step (the last engine.step) and the whole step."""
    timed = steps[warmup:]
    if not timed or not all(timed):
        raise ValueError(f"no timed micro-batch after the {warmup} warm-up steps")
    inner = [mb for s in timed for mb in s[:-1]]

    def median(values) -> float:
        values = list(values)
        return statistics.median(values) if values else 0.0

    return {"forward": median(mb["forward"] for s in timed for mb in s),
            "backward (not last)": median(mb["backward"] for mb in inner),
            "engine.step (not last)": median(mb["step"] for mb in inner),
            "last backward": median(s[-1]["backward"] for s in timed),
            "optimizer step": median(s[-1]["step"] for s in timed),
            "step": median(sum(sum(mb.values()) for mb in s) for s in timed)}


def install(out_dir: str) -> None:
    """Give trainer.train_step a PhaseClock and rewrite its file after every step (atomically), so a run killed
    at its time limit keeps the steps it finished (session 67 lost two runs' phases that way)."""
    import torch
    import torch.distributed as dist

    from mist_ds.fileio import write_text_atomic
    from mist_ds.runtime import trainer

    inner_step = trainer.train_step
    phases = PhaseClock(lambda: torch.cuda.synchronize() if torch.cuda.is_available() else None)

    def train_step(plan, rt, source, index):
        phases.begin()
        result = inner_step(plan, rt, source, index, mark=phases)
        rank = dist.get_rank()
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(out_dir) / f"rank{rank}.phases.json", json.dumps({"rank": rank, "steps": phases.steps}))
        return result

    trainer.train_step = train_step


def main_summary(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="medians per phase of a phases.json")
    parser.add_argument("--summary", required=True, help="a rank<r>.phases.json")
    parser.add_argument("--warmup", type=int, default=2, help="leading steps left out (launch/train.py's --warmup)")
    args = parser.parse_args(argv)
    try:
        steps = json.loads(Path(args.summary).read_text())["steps"]
        rows = summary(steps, args.warmup)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.exit(print(f"error: {args.summary}: {exc}", file=sys.stderr) or 2)
    for name, seconds in rows.items():
        print(f"{name:32s} {seconds * 1e3:9.1f} ms")


if __name__ == "__main__":
    if "--summary" in sys.argv:
        main_summary(sys.argv[1:])
    else:
        os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
        if os.environ.get("MIST_DS_PHASE_OUT"):
            install(os.environ["MIST_DS_PHASE_OUT"])
        from mist_ds.runtime.rank import main

        main()
