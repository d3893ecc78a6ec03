#!/usr/bin/env python3
"""DeepSpeed CPU Adam at a training step's scale against the profiler's 32M-parameter probe (issue 10, session 67).

ZeRO-3's optimizer step with offloaded sub-groups ran 0.46 s (Llama 3.2 3B, 1x H100 node) and 1.24 s (Mistral 7B,
1x H200 node) longer than the model prices it, which takes the profiler's CPU Adam rate (profile/cpu_adam.py: one
32M-element parameter stepped over and over, pageable) times 1 + HOST_CLIP_PER_ADAM (cost/rates.py), while small
models' steps are priced within ~10% (bench/results/runtime/step_phases_S67/). This steps what DeepSpeed's step does
per sub-group (stage3.py step: unscale_and_clip_grads' `mul_` on the fp32 gradient, then DeepSpeedCPUAdam on the
sub-group), over `--total` parameters in sub-groups of `--sub-group` (the emitted sub_group_size), each with its own
fp32 master, gradient and Adam states, the masters pinned as the emitted offload config asks (`pin_memory`: true;
DeepSpeed pins the fp32 partitions, Adam's states are its own `zeros_like`), and prints the seconds of a whole step
and its parameters per second beside the same loop on one pageable 32M-element sub-group, the profiler's size, in the
same process (`scale_slowdown`: how much slower a parameter steps at the step's scale; both include the `mul_`).

    python bench/runtime/cpu_adam_scale_probe.py [--total 3.2e9] [--sub-group 1e8] [--repeats 3] [--out F.json]

Needs DeepSpeed's CPU Adam op (built on first use) and ~16 bytes of host memory per parameter plus the pinned masters.
Exit 2 with one line on bad input.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

PROBE_ELEMENTS = 32 * 2**20
"""The profiler's CPU Adam size (profile/grids.py cpu_adam_params, full grid)."""


def sub_groups(total: int, size: int, pin: bool) -> list[torch.nn.Parameter]:
    """fp32 masters of `size` elements (the last one shorter) summing to `total`, each with a gradient."""
    out = []
    for start in range(0, total, size):
        master = torch.randn(min(size, total - start))
        param = torch.nn.Parameter(master.pin_memory() if pin else master)
        param.grad = torch.randn(param.numel())
        out.append(param)
    return out


def step_seconds(optimizer, params: list[torch.nn.Parameter], repeats: int) -> list[float]:
    """Seconds of whole steps (after one untimed, which creates Adam's states): per sub-group the gradient's
    scaling pass and then Adam on that sub-group alone, as stage3.py's step loop runs them."""
    group = optimizer.param_groups[0]

    def one_step() -> None:
        for param in params:
            param.grad.mul_(0.5)
            group["params"] = [param]
            optimizer.step()

    one_step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one_step()
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=float, default=3.2e9, help="parameters stepped on the host")
    parser.add_argument("--sub-group", type=float, default=1e8, help="elements per sub-group (sub_group_size)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pin", action="store_true", help="leave the masters pageable")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    total, size = int(args.total), int(args.sub_group)
    if total < 1 or size < 1 or args.repeats < 1:
        print("cpu_adam_scale_probe: --total, --sub-group and --repeats must be positive", file=sys.stderr)
        return 2
    pin = not args.no_pin and torch.cuda.is_available()
    from deepspeed.ops.adam import DeepSpeedCPUAdam

    probe = sub_groups(PROBE_ELEMENTS, PROBE_ELEMENTS, False)
    probe_s = statistics.median(step_seconds(DeepSpeedCPUAdam(probe, lr=1e-4), probe, max(args.repeats, 5)))
    params = sub_groups(total, size, pin)
    times = step_seconds(DeepSpeedCPUAdam(params, lr=1e-4), params, args.repeats)
    step = statistics.median(times)
    result = {"total": total, "sub_group": size, "pinned": pin, "threads": torch.get_num_threads(),
              "step_s": times, "step_median_s": step, "params_per_s": total / step,
              "probe_elements": PROBE_ELEMENTS, "probe_params_per_s": PROBE_ELEMENTS / probe_s,
              "scale_slowdown": (PROBE_ELEMENTS / probe_s) / (total / step)}
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
