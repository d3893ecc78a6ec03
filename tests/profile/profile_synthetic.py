"""Synthetic raw profiler measurements with known ground truth (no GPU)."""

from __future__ import annotations

from mist_ds.config.hw_lookup import bus_factor

TRUE_TFLOPS = 600.0
ALPHA, BUS_GBPS = 12e-6, 300.0
PCIE_GBPS, PCIE_LAT = 40.0, 8e-6


def synthetic_raw(num_gpus: int = 2, interference: bool = True) -> dict:
    """Measurements that a perfect 2-GPU node with the constants above would give."""
    raw = {"meta": {"card": "NVIDIA H100 80GB HBM3", "driver": "driver 580, CUDA 13.0",
                    "software": "torch 2.11, NCCL 2.28", "date": "2026-11-26T16:00Z",
                    "command": "python -m mist_ds.profile --out x.json", "world_size": num_gpus,
                    "local_world_size": num_gpus, "quick": False, "gpu_memory_bytes": 85 * 10**9,
                    "host_memory_bytes": 256 * 2**30, "host_cpu_cores": 32, "wall_s": 200.0},
           "errors": {}}
    raw["matmul"] = [{"m": m, "n": n, "k": k, "time_s": 2 * m * n * k / (TRUE_TFLOPS * 1e12 * (0.5 if n < 1024 else 1))}
                     for m in (512, 4096) for n in (512, 4096) for k in (512, 4096)]
    raw["attention"] = [{"batch": 1, "num_heads": 32, "num_kv_heads": 8, "seq_len": 4096, "head_dim": 128,
                         "causal": True, "fwd_time_s": 4 * 32 * 4096**2 * 128 / 2 / 400e12,
                         "bwd_time_s": 2.5 * 4 * 32 * 4096**2 * 128 / 2 / 300e12, "backend": "sdpa-flash"}]
    raw["memory"] = [{"kernel": k, "num_bytes": 2**30, "time_s": 2**30 / bw} for k, bw in
                     (("add", 3.0e12), ("gelu_fwd", 2.8e12), ("layernorm_fwd", 2.6e12), ("adam_step", 1e12))]
    raw["gpu_adam"] = {"num_params": 10**8, "time_s": 0.01, "spread": 0.01}
    raw["collectives"] = [
        {"kind": kind, "scope": "intra_node", "group_size": num_gpus, "nbytes": 2**p,
         "time_s": ALPHA + 2**p * bus_factor(kind, num_gpus) / (BUS_GBPS * 1e9)}
        for kind in ("all_reduce", "all_gather", "reduce_scatter", "p2p") for p in range(12, 31, 2)
    ] if num_gpus > 1 else []
    raw["copies"] = [{"direction": d, "concurrent_gpus": c, "nbytes": 2**p,
                      "time_s": PCIE_LAT + 2**p / (PCIE_GBPS * 1e9 / c)}
                     for d in ("h2d", "d2h") for c in sorted({1, num_gpus}) for p in range(16, 31, 2)]
    raw["cpu_adam"] = [{"num_threads": t, "params_per_s": 3e8 * t ** 0.8, "impl": "deepspeed-cpu-adam"}
                       for t in (1, 2, 4, 8, 16, 32)]
    if interference:
        raw["interference"] = [
            {"channels": ["compute", "nccl"], "slowdowns": [1.1, 1.4]},
            {"channels": ["compute", "h2d"], "slowdowns": [1.0, 0.99]},
            {"channels": ["nccl", "h2d"], "slowdowns": [1.05, 1.2]},
            {"channels": ["compute", "nccl", "h2d"], "slowdowns": [1.12, 1.5, 1.25]},
        ]
    return raw
