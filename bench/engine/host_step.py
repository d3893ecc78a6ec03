"""The host side of mistpipe's optimizer step (optimizer.py: ShardedAdam.prepare / finish_unit), timed
the way a node runs it: --procs processes at once (one per rank), each with --threads torch threads.

    python3 bench/engine/host_step.py --out $OUT/host_step.json --numel 355758080 --procs 2

Per process and step, over `numel` offloaded fp32 elements (gpt-1.3b PP2 with optimizer offload 0.5:
355,758,080 on stage 0): the gradient norm's host part, as the engine computed it before
(`pow(2).sum()`: a temporary the size of the gradients) and now (`linalg.vector_norm`), the clipping
pass (`mul_`), DeepSpeedCPUAdam's step and the fp32 -> bf16 copy for the h2d publication. Each
configuration in --configs is "procs x threads" (threads 0: torch's default, i.e. what every rank
got before engine.share_host_cores); every part runs in all processes at once (a barrier before
each), best of --repeats. Rank 0's seconds per part go to the JSON and a table. No GPU needed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

HYPER = {"lr": 1e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}
PARTS = ("norm_pow2_sum", "norm_vector_norm", "clip_mul", "cpu_adam", "to_bf16")


def parts(numel: int) -> dict:
    """name -> a callable doing that part once over fresh buffers of `numel` elements."""
    import torch
    from deepspeed.ops.adam import DeepSpeedCPUAdam

    pin = torch.cuda.is_available()
    grad = torch.randn(numel, pin_memory=pin).mul_(1e-3)
    master = torch.randn(numel, pin_memory=pin)
    master.grad = grad
    host16 = torch.empty(numel, dtype=torch.bfloat16, pin_memory=pin)
    adam = DeepSpeedCPUAdam([master], adamw_mode=True, **HYPER)
    adam.step()  # creates exp_avg / exp_avg_sq (first touch outside the timing)
    return {"norm_pow2_sum": lambda: float(grad.pow(2).sum()),
            "norm_vector_norm": lambda: float(torch.linalg.vector_norm(grad).square()),
            "clip_mul": lambda: grad.mul_(1.0),
            "cpu_adam": adam.step,
            "to_bf16": lambda: host16.copy_(master)}


def worker(rank: int, threads: int, numel: int, repeats: int, barrier, queue) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)
    todo = parts(numel)
    best = {}
    for name in PARTS:
        best[name] = float("inf")
        for _ in range(repeats):
            barrier.wait()
            start = time.perf_counter()
            todo[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    queue.put((rank, torch.get_num_threads(), best))


def run_config(procs: int, threads: int, numel: int, repeats: int) -> dict:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=worker, args=(r, threads, numel, repeats, barrier, queue))
               for r in range(procs)]
    for w in workers:
        w.start()
    results = sorted(queue.get() for _ in workers)
    for w in workers:
        w.join()
    slowest = {name: max(r[2][name] for r in results) for name in PARTS}
    return {"procs": procs, "threads": results[0][1], "seconds": slowest,
            "ns_per_element": {k: v / numel * 1e9 for k, v in slowest.items()},
            "host_step_before_s": sum(slowest[k] for k in PARTS if k != "norm_vector_norm"),
            "host_step_now_s": sum(slowest[k] for k in PARTS if k != "norm_pow2_sum")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--numel", type=int, default=355_758_080)
    parser.add_argument("--configs", default="2x0,2x16,1x0",
                        help="comma-separated procs x threads (threads 0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for config in args.configs.split(","):
        procs, threads = (int(v) for v in config.split("x"))
        rows.append(run_config(procs, threads, args.numel, args.repeats))
        row = rows[-1]
        print(f"{procs} procs x {row['threads']:>2} threads: " + "  ".join(
            f"{k} {v:.3f}s" for k, v in row["seconds"].items())
            + f"  | before {row['host_step_before_s']:.3f}s now {row['host_step_now_s']:.3f}s", flush=True)
    report = {"numel": args.numel, "cpus": len(os.sched_getaffinity(0)), "configs": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
