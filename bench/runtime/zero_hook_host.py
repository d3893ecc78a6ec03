#!/usr/bin/env python3
"""Host time DeepSpeed's ZeRO-1/2 gradient hooks add per parameter tensor and micro-batch (issue 10).

    PYTHONPATH=$PWD .venv/bin/python bench/runtime/zero_hook_host.py --out DIR

One process, one rank (gloo, DS_ACCELERATOR=cpu unless set), one intra-op thread. A chain of N tiny bias-free
linears (8 x 8, bf16) trains under ZeRO 0, 1 and 2 with mist_ds's emitted zero_optimization section
(emit/ds_config.py: overlap_comm, contiguous_gradients, 2e8-element buckets) at gradient accumulation 4.
The tensors are so small that the backward's time is the host's: the median backward of a micro-batch
(steps 3 and later) at N = 100 and 300 gives, by the slope, seconds per parameter tensor; ZeRO-1's and
ZeRO-2's slopes minus ZeRO-0's are what their hooks add (stage_1_and_2.py: the accumulation into the
partition's gradient buffer, ZeRO-2's copy into the ipg bucket and its bookkeeping). CPU tensors run their
ops synchronously and launch nothing, so on a GPU host each op adds a launch on top of this: a lower bound
for the Python part, on this machine's cores. Writes DIR/zero_hook_host.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

for key, value in (("DS_ACCELERATOR", "cpu"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29771"),
                   ("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0")):
    os.environ.setdefault(key, value)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GRAD_ACCUM, STEPS, WARMUP_STEPS, WIDTH = 4, 6, 2, 8
SIZES = (100, 300)
ZERO = {"overlap_comm": True, "contiguous_gradients": True, "reduce_bucket_size": 200_000_000,
        "allgather_bucket_size": 200_000_000}  # emit/ds_config.py for a 1-GPU ZeRO-1/2 plan


def medians(stage: int, tensors: int) -> dict[str, float]:
    """Median forward and backward seconds of one micro-batch of a chain of `tensors` linears."""
    import deepspeed
    import torch

    model = torch.nn.Sequential(*[torch.nn.Linear(WIDTH, WIDTH, bias=False) for _ in range(tensors)])
    config = {"train_batch_size": GRAD_ACCUM, "train_micro_batch_size_per_gpu": 1,
              "gradient_accumulation_steps": GRAD_ACCUM, "bf16": {"enabled": True},
              "optimizer": {"type": "AdamW", "params": {"lr": 1e-4}}, "steps_per_print": 10**9}
    if stage:
        config["zero_optimization"] = {"stage": stage, **ZERO}
    engine, *_ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config=config)
    x = torch.randn(1, WIDTH, dtype=torch.bfloat16)
    forward, backward = [], []
    for step in range(STEPS):
        for _ in range(GRAD_ACCUM):
            start = time.perf_counter()
            loss = engine(x).float().sum()
            middle = time.perf_counter()
            engine.backward(loss)
            end = time.perf_counter()
            engine.step()
            if step >= WARMUP_STEPS:
                forward.append(middle - start)
                backward.append(end - middle)
    return {"forward_s": sorted(forward)[len(forward) // 2], "backward_s": sorted(backward)[len(backward) // 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import deepspeed
    import torch

    deepspeed.init_distributed(dist_backend="gloo")
    torch.set_num_threads(1)
    runs = {stage: {n: medians(stage, n) for n in SIZES} for stage in (0, 1, 2)}
    per_tensor = {stage: (r[SIZES[1]]["backward_s"] - r[SIZES[0]]["backward_s"]) / (SIZES[1] - SIZES[0])
                  for stage, r in runs.items()}
    result = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                          "deepspeed": deepspeed.__version__, "cpu": platform.processor() or platform.machine(),
                          "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
              "runs": {f"zero{s}": {str(n): v for n, v in r.items()} for s, r in runs.items()},
              "backward_s_per_tensor": {f"zero{s}": v for s, v in per_tensor.items()},
              "hook_s_per_tensor": {f"zero{s}": per_tensor[s] - per_tensor[0] for s in (1, 2)}}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "zero_hook_host.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["hook_s_per_tensor"]))


if __name__ == "__main__":
    main()
