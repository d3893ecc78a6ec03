#!/usr/bin/env python3
"""Is the host link shared between a node's GPUs? Pinned and pageable copy rates, one GPU vs all at once.

    python3 bench/engine/pcie_share.py --out pcie_share.json [--gib 2] [--reps 4]

The profile's h2d/d2h bandwidths (mist_ds.profile) are measured on one GPU with the others idle; the cost model
charges each GPU's offload copies at that rate. A pipeline or data-parallel plan copies on every GPU at once.
This measures, in one process:
- pinned h2d, d2h and both directions at once on GPU 0 alone, then on every GPU at once (each copy on its
  own stream of its own device, all queued before any is waited for);
- pageable d2h (into touched pageable memory: what a write-back to an unpinned CPU buffer costs) on GPU 0
  alone and on every GPU at once (one host thread per GPU; the copy releases the GIL).
Rates are GB/s per GPU (1e9 bytes), from wall time over the whole set of copies.
"""

import argparse
import json
import threading
import time

import torch


def pinned_rates(devices: list[int], directions: tuple[str, ...], nbytes: int, reps: int) -> dict:
    """Per-GPU GB/s of each direction when `directions` run on every device in `devices` at once."""
    jobs = []
    for d in devices:
        dev = torch.device("cuda", d)
        for direction in directions:
            host = torch.empty(nbytes, dtype=torch.uint8).pin_memory()
            gpu = torch.empty(nbytes, dtype=torch.uint8, device=dev)
            jobs.append((dev, direction, host, gpu, torch.cuda.Stream(dev)))
    for d in devices:
        torch.cuda.synchronize(d)
    start = time.perf_counter()
    for _ in range(reps):
        for dev, direction, host, gpu, stream in jobs:
            with torch.cuda.stream(stream):
                (gpu.copy_(host, non_blocking=True) if direction == "h2d" else host.copy_(gpu, non_blocking=True))
    for d in devices:
        torch.cuda.synchronize(d)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "gbps_per_gpu_per_direction": nbytes * reps / wall / 1e9}


def pageable_d2h_rates(devices: list[int], nbytes: int, reps: int) -> dict:
    """Per-GPU GB/s of d2h copies into touched pageable memory, one host thread per device, all at once."""
    pairs = [(torch.zeros(nbytes, dtype=torch.uint8), torch.empty(nbytes, dtype=torch.uint8, device=f"cuda:{d}"))
             for d in devices]
    for host, gpu in pairs:
        host.copy_(gpu)

    def copy(host, gpu):
        for _ in range(reps):
            host.copy_(gpu)

    threads = [threading.Thread(target=copy, args=pair) for pair in pairs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "gbps_per_gpu": nbytes * reps / wall / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--gib", type=float, default=2.0, help="bytes per copy, GiB")
    parser.add_argument("--reps", type=int, default=4)
    args = parser.parse_args()
    nbytes, reps = int(args.gib * 2**30), args.reps
    every = list(range(torch.cuda.device_count()))
    out = {"gpu": torch.cuda.get_device_name(0), "num_gpus": len(every), "bytes_per_copy": nbytes, "reps": reps,
           "torch": torch.__version__, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for label, devices in (("one_gpu", [0]), ("all_gpus", every)):
        for name, directions in (("h2d", ("h2d",)), ("d2h", ("d2h",)), ("both", ("h2d", "d2h"))):
            pinned_rates(devices, directions, nbytes, 1)  # warm-up
            out[f"pinned_{name}_{label}"] = pinned_rates(devices, directions, nbytes, reps)
        out[f"pageable_d2h_{label}"] = pageable_d2h_rates(devices, nbytes // 4, reps)
    print(json.dumps(out, indent=1))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
