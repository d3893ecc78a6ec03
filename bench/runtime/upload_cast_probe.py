#!/usr/bin/env python3
"""How fast an fp32 CPU tensor becomes a bf16 GPU tensor: ZeRO-3's write-back of CPU sub-groups without
offload_param (DeepSpeed 0.19.8 stage3.py _reassign_or_swap_out_partitioned_parameters: `gpu_bf16.copy_(cpu_fp32)`,
blocking, which torch converts on the CPU into a pageable temporary and copies pageable; cost/work.py
pageable_h2d_bytes) against a chunked cast on the host into pinned staging buffers copied by DMA, double-buffered.
Also the other direction (offload_param, a GPU master: runtime/writeback_cast.py cast_into against the stock copy).

    python bench/runtime/upload_cast_probe.py [--elements 1e9] [--chunk 33554432] [--repeats 3] [--out F.json]

Prints and writes seconds per pass and, from their median, GB/s of 16-bit bytes for each way (GPU only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append(time.perf_counter() - start)
    return out


def staged_upload(low: torch.Tensor, master: torch.Tensor, stages: list[torch.Tensor]) -> None:
    """low (GPU, bf16) <- master (CPU fp32, pageable): each chunk converted on the host into a pinned staging
    buffer, then copied non-blocking; a buffer is reused only after its previous copy finished (its event)."""
    chunk = stages[0].numel()
    events = [None] * len(stages)
    low_flat, master_flat = low.view(-1), master.view(-1)
    for index, start in enumerate(range(0, master_flat.numel(), chunk)):
        slot = index % len(stages)
        if events[slot] is not None:
            events[slot].synchronize()
        n = min(chunk, master_flat.numel() - start)
        stages[slot][:n].copy_(master_flat[start:start + n])
        low_flat[start:start + n].copy_(stages[slot][:n], non_blocking=True)
        events[slot] = torch.cuda.Event()
        events[slot].record()
    torch.cuda.current_stream().synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=float, default=1e9)
    parser.add_argument("--chunk", type=int, default=32 * 2**20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    n = int(args.elements)
    master_cpu = torch.randn(n)                      # pageable, as DeepSpeed's CPU fp32 masters
    low_gpu = torch.empty(n, dtype=torch.bfloat16, device="cuda")
    stages = [torch.empty(args.chunk, dtype=torch.bfloat16, pin_memory=True) for _ in range(2)]
    results = {"elements": n, "chunk": args.chunk, "threads": torch.get_num_threads(),
               "gpu": torch.cuda.get_device_name(), "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["h2d_stock_s"] = timed(lambda: low_gpu.copy_(master_cpu), args.repeats)
    results["h2d_staged_s"] = timed(lambda: staged_upload(low_gpu, master_cpu, stages), args.repeats)
    reference = torch.empty_like(low_gpu).copy_(master_cpu)
    staged_upload(low_gpu, master_cpu, stages)
    results["h2d_equal"] = bool(torch.equal(reference, low_gpu))
    # the stock way's first half alone: the host conversion into a fresh pageable bf16 tensor
    results["host_convert_s"] = timed(lambda: torch.empty(n, dtype=torch.bfloat16).copy_(master_cpu), args.repeats)
    del reference
    from mist_ds.runtime.writeback_cast import cast_into

    master_gpu = master_cpu.cuda()
    low_cpu = torch.empty(n, dtype=torch.bfloat16, pin_memory=True)
    results["d2h_stock_s"] = timed(lambda: low_cpu.copy_(master_gpu), args.repeats)
    results["d2h_device_cast_s"] = timed(lambda: cast_into(low_cpu, master_gpu, args.chunk), args.repeats)
    for key in [k for k in results if k.endswith("_s")]:
        results[key.removesuffix("_s") + "_gbps_16bit"] = round(2 * n / statistics.median(results[key]) / 1e9, 2)
    print(json.dumps(results, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
