"""Cost-model evaluation speed (issue 3): stage strategies evaluated per second.

    .venv/bin/python bench/cost_speed.py        # writes bench/results/cost_speed.{md,json}

A search-shaped grid for each model: every (layers, recomputed layers, micro-batch, dp, tp,
ZeRO stage, optimizer / activation offload ratio, in-flight count, embedding/head flags), fed to
StageCostModel.evaluate() as flat numpy arrays in chunks. 'compile' is constructing the model in
a fresh process (sympy expressions built and lambdified); evaluation times are the best of
--repeats passes in one process (the machine may be shared). One Python process, numpy
single-threaded: the rate is per core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CASES = [("llama-7b", 4096, 8), ("gpt-22b", 2048, 8), ("llama-70b", 4096, 8)]


def grid(num_layers: int, limit: int) -> dict[str, np.ndarray]:
    """A search-like Cartesian grid of stage strategies (truncated to `limit` rows)."""
    layers = np.arange(1, num_layers + 1)
    axes = dict(micro_batch=[1, 2, 4, 8], dp=[1, 2, 4, 8], tp=[1, 2, 4, 8], zero_stage=[0, 1, 2, 3],
                offload_optimizer=[0.0, 0.5, 1.0], num_offloaded=[0, 2],
                stage_index=[0, 1])
    mesh = np.meshgrid(layers, np.arange(0, num_layers + 1, 4), *axes.values(), indexing="ij")
    flat = [m.ravel()[:limit] for m in mesh]
    out = dict(zip(["num_layers", "num_recompute", *axes], flat))
    out["num_recompute"] = np.minimum(out["num_recompute"], out["num_layers"])
    out["num_offloaded"] = np.minimum(out["num_offloaded"], out["num_layers"] - out["num_recompute"])
    return out


def measure(preset: str, seq: int, gpus: int, total: int, chunk: int, repeats: int) -> dict:
    from mist_ds.config import get_preset
    from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware
    from mist_ds.cost import StageCostModel, stage_args

    model, hw = get_preset(preset), load_hardware(DEFAULT_PROFILE)
    start = time.perf_counter()
    cost_model = StageCostModel(model, hw, seq, num_nodes=1, gpus_per_node=gpus)
    compile_s = time.perf_counter() - start
    args = grid(model.num_layers, total)
    rows = len(args["num_layers"])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for lo in range(0, rows, chunk):
            part = {k: v[lo:lo + chunk] for k, v in args.items()}
            opt = part.pop("offload_optimizer")
            cost_model.evaluate(stage_args(**part, grad_accum=8, num_stages=2, offload_weights=0.0,
                                           offload_gradients=opt, offload_optimizer=opt))
        best = min(best, time.perf_counter() - start)
    return {"model": preset, "seq_len": seq, "strategies": rows, "chunk": chunk,
            "compile_s": round(compile_s, 3), "evaluate_s": round(best, 3),
            "strategies_per_s": round(rows / best)}


def markdown(results: list[dict], meta: dict) -> str:
    lines = ["# Cost-model evaluation speed", "",
             f"`{meta['command']}`. {meta['machine']}. Best of {meta['repeats']} passes; one "
             "process, numpy single-threaded (rate per core).", "",
             "| model | seq | strategies | chunk | compile s | evaluate s | strategies/s |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['model']} | {r['seq_len']} | {r['strategies']:,} | {r['chunk']:,} | "
                     f"{r['compile_s']} | {r['evaluate_s']} | {r['strategies_per_s']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = [measure(p, s, g, args.strategies, args.chunk, args.repeats) for p, s, g in CASES]
    small = measure("llama-7b", 4096, 8, 100_000, 100_000, args.repeats)
    results.append(small)
    meta = {"command": "python bench/cost_speed.py", "repeats": args.repeats,
            "machine": f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}, "
                       f"shared with other jobs; load average {os.getloadavg()[0]:.1f}), "
                       f"Python {platform.python_version()}, numpy {np.__version__}, no GPU"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cost_speed.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    (RESULTS / "cost_speed.md").write_text(markdown(results, meta))
    print(markdown(results, meta))


if __name__ == "__main__":
    main()
