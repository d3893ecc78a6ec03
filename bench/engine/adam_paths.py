"""Which path should update the offloaded fraction of a stage's optimizer shard? (1 GPU)

    python3 bench/engine/adam_paths.py --out $OUT/adam_paths.json [--numel 268435456]

- cpu_adam (what mistpipe runs, and DeepSpeed's ZeRO-Offload / Twin-Flow): fp32 gradient d2h
  (4 B/element), DeepSpeedCPUAdam on the host, fp32 -> bf16 on the host, bf16 h2d (2 B/element).
- gpu_swap (Mist's runtime: "swap in offloaded states, GPU Adam, swap out"): fp32 master, m, v h2d
  (12 B/element) and back d2h (12 B/element) in chunks, double-buffered on two copy streams, with
  torch's fused AdamW on the device (the gradient never leaves the device).
- hybrid (--swap-shares): both at once on one step's offloaded share, split: the gpu_swap part is queued on the
  device's streams first (its copies and kernels need no host after they are queued), then the host runs CPU Adam
  on the rest while the device works, so the two paths' times overlap instead of adding. DeepSpeedCPUAdam's
  adam_update holds the GIL (csrc/adam/cpu_adam.cpp binds it without gil_scoped_release), which is why the
  gpu_swap part is queued before it, not run from a thread beside it.
Prints seconds per step and ns per element of each, and which is faster on this machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

HYPER = {"lr": 1e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}


def timed(fn, repeats: int) -> float:
    fn()  # warm-up (pinned pages touched, kernels loaded)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


class CpuAdamPath:
    """The cpu_adam path in two halves: send() queues the fp32 gradient d2h on a stream of its own,
    finish() waits for that copy only, runs DeepSpeedCPUAdam, converts to bf16 and queues the h2d."""

    def __init__(self, numel: int):
        from deepspeed.ops.adam import DeepSpeedCPUAdam

        self.master = torch.randn(numel).pin_memory()
        self.master.grad = torch.empty(numel).pin_memory()
        self.host16 = torch.empty(numel, dtype=torch.bfloat16).pin_memory()
        self.grad_dev = torch.randn(numel, device="cuda") * 1e-3
        self.param_dev = torch.empty(numel, dtype=torch.bfloat16, device="cuda")
        self.adam = DeepSpeedCPUAdam([self.master], adamw_mode=True, **HYPER)
        self.stream, self.sent = torch.cuda.Stream(), torch.cuda.Event()

    def send(self) -> None:
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            self.master.grad.copy_(self.grad_dev, non_blocking=True)
            self.sent.record(self.stream)

    def finish(self) -> None:
        self.sent.synchronize()
        self.adam.step()
        self.host16.copy_(self.master)
        self.param_dev.copy_(self.host16, non_blocking=True)

    def step(self) -> None:
        self.send()
        self.finish()


def cpu_adam_path(numel: int):
    return CpuAdamPath(numel).step


def hybrid_path(numel: int, chunk: int, swap_share: float):
    """gpu_swap on `swap_share` of the elements (whole chunks), cpu_adam on the rest, overlapped."""
    swapped = round(numel * swap_share / chunk) * chunk
    swap, cpu = gpu_swap_path(swapped, chunk), CpuAdamPath(numel - swapped)

    def step():
        cpu.send()  # the gradient d2h first: CPU Adam waits for it, the swap does not
        swap()      # queued; runs on the device's streams while the host does CPU Adam
        cpu.finish()
    return step


def gpu_swap_path(numel: int, chunk: int):
    states = [torch.randn(numel).pin_memory() for _ in range(3)]  # master, m, v on the host
    states[2].abs_()
    grad_dev = torch.randn(numel, device="cuda") * 1e-3
    param_dev = torch.empty(numel, dtype=torch.bfloat16, device="cuda")
    h2d, d2h = torch.cuda.Stream(), torch.cuda.Stream()
    slots = []
    for _ in range(2):
        param = torch.zeros(chunk, device="cuda")
        adam = torch.optim.AdamW([param], fused=True, **HYPER)
        param.grad = torch.zeros_like(param)
        adam.step()  # creates exp_avg / exp_avg_sq / step on the device
        slots.append((param, adam, adam.state[param], [None]))

    def step():
        for index, start in enumerate(range(0, numel, chunk)):
            param, adam, state, free = slots[index % 2]
            n = min(chunk, numel - start)
            dests = (param[:n], state["exp_avg"][:n], state["exp_avg_sq"][:n])
            with torch.cuda.stream(h2d):
                if free[0] is not None:
                    h2d.wait_event(free[0])
                for dest, host in zip(dests, states):
                    dest.copy_(host[start:start + n], non_blocking=True)
                loaded = torch.cuda.Event()
                loaded.record(h2d)
            torch.cuda.current_stream().wait_event(loaded)
            param.grad[:n].copy_(grad_dev[start:start + n])
            adam.step()
            param_dev[start:start + n].copy_(param[:n])
            d2h.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(d2h):
                for dest, host in zip(dests, states):
                    host[start:start + n].copy_(dest, non_blocking=True)
                free[0] = torch.cuda.Event()
                free[0].record(d2h)
        torch.cuda.current_stream().wait_stream(d2h)
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--numel", type=int, default=1 << 28, help="offloaded fp32 elements")
    parser.add_argument("--chunk", type=int, default=1 << 25, help="gpu_swap chunk (elements)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--swap-shares", default="",
                        help="comma-separated gpu_swap shares of the hybrid path to time too, e.g. 0.5,0.6")
    args = parser.parse_args()
    results = {}
    paths = [("cpu_adam", lambda: cpu_adam_path(args.numel)),
             ("gpu_swap", lambda: gpu_swap_path(args.numel, args.chunk))]
    for share in filter(None, args.swap_shares.split(",")):
        paths.append((f"hybrid_{float(share):.2f}", lambda s=float(share): hybrid_path(args.numel, args.chunk, s)))
    for name, make in paths:
        seconds = timed(make(), args.repeats)
        results[name] = {"s_per_step": seconds, "ns_per_element": seconds / args.numel * 1e9}
        torch.cuda.empty_cache()
    faster = min(results, key=lambda k: results[k]["s_per_step"])
    report = {"device": torch.cuda.get_device_name(), "numel": args.numel, "chunk": args.chunk,
              "torch_threads": torch.get_num_threads(), "paths": results, "faster": faster}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    for name, row in results.items():
        print(f"{name:<9} {row['s_per_step']:8.3f} s/step  {row['ns_per_element']:6.2f} ns/element")
    print(f"faster: {faster}")


if __name__ == "__main__":
    main()
