#!/usr/bin/env python3
"""How fast an fp32 CPU tensor becomes a bf16 GPU tensor: ZeRO-3's write-back of CPU sub-groups without
offload_param (DeepSpeed 0.19.8 stage3.py _reassign_or_swap_out_partitioned_parameters: `gpu_bf16.copy_(cpu_fp32)`,
blocking, which torch converts on the CPU into a pageable temporary and copies pageable; cost/work.py
pageable_h2d_bytes) against the runtime's chunked cast on the host into pinned staging buffers copied by DMA
(runtime/writeback_cast.py upload_into).
Also the other direction (offload_param, a GPU master: runtime/writeback_cast.py cast_into against the stock copy).

    python bench/runtime/upload_cast_probe.py [--elements 1e9] [--chunk 33554432] [--repeats 3] [--out F.json]

Prints and writes seconds per pass and, from their median, GB/s of 16-bit bytes for each way. Exit 2 with one line
on bad input or without a CUDA GPU.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.config.writeback import STAGING_BUFFERS  # noqa: E402
from mist_ds.runtime.writeback_cast import cast_into, upload_into  # noqa: E402


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    from mist_ds.cli import OneLineParser

    parser = OneLineParser(prog="bench/runtime/upload_cast_probe.py", description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=float, default=1e9)
    parser.add_argument("--chunk", type=int, default=32 * 2**20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    if args.elements < 1 or args.chunk < 1 or args.repeats < 1:
        parser.error("--elements, --chunk and --repeats must be >= 1")
    n = int(args.elements)
    master_cpu = torch.randn(n)                      # pageable, as DeepSpeed's CPU fp32 masters
    low_gpu = torch.empty(n, dtype=torch.bfloat16, device="cuda")
    stages = [torch.empty(args.chunk, dtype=torch.bfloat16, pin_memory=True) for _ in range(STAGING_BUFFERS)]
    results = {"elements": n, "chunk": args.chunk, "threads": torch.get_num_threads(),
               "gpu": torch.cuda.get_device_name(), "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["h2d_stock_s"] = timed(lambda: low_gpu.copy_(master_cpu), args.repeats)
    results["h2d_staged_s"] = timed(lambda: upload_into(low_gpu, master_cpu, stages), args.repeats)
    reference = torch.empty_like(low_gpu).copy_(master_cpu)
    upload_into(low_gpu, master_cpu, stages)
    results["h2d_equal"] = bool(torch.equal(reference, low_gpu))
    # the stock way's first half alone: the host conversion into a fresh pageable bf16 tensor
    results["host_convert_s"] = timed(lambda: torch.empty(n, dtype=torch.bfloat16).copy_(master_cpu), args.repeats)
    del reference

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
