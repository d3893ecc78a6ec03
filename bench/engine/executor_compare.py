"""Best mistpipe plan vs best stock-DeepSpeed plan for one workload, measured in the same machine call
(issue 13: "the best plan in the new space runs at least 1.2x faster than the best plan restricted to
stock DeepSpeed ... report MFU of both").

    python3 bench/engine/executor_compare.py --out $OUT/llama13b_2gpu --model llama-13b --gpus 2 \\
        --global-batch 32 --seq-len 4096 --memory-gb 78 --hardware h200 --steps 5

For each executor it tunes the request restricted to that executor (mist_ds.search.search with
`executors=`, the default memory margin and the request's host limits, then predict_plan and
api.honest_order, as mist_ds.api.tune ranks), writes the winner's folder
(plan.json, ds_config.json, report.md; as autotune does) under --out/{deepspeed,mistpipe}/, then runs
`deepspeed launch/train.py --plan` on this host's GPUs, one plan after the other, and writes
--out/executor_compare.json and .md: predicted vs measured seconds per iteration, MFU, peak memory and
the speedup. `--plan-only` stops after writing the folders (runs anywhere, no GPU needed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

EXECUTORS = ("deepspeed", "mistpipe")


def best_plans(args):
    """executor -> its fastest predicted plan for the request (None when nothing fits)."""
    from mist_ds.api import honest_order
    from mist_ds.config import ClusterSpec, TuneRequest, resolve_model
    from mist_ds.config.profiles import load_hardware
    from mist_ds.config.units import GIB
    from mist_ds.search import search
    from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO
    from mist_ds.search.plans import predicted_plan

    request = TuneRequest(model=resolve_model(args.model), cluster=ClusterSpec(num_nodes=1, gpus_per_node=args.gpus),
                          global_batch_size=args.global_batch, seq_len=args.seq_len,
                          gpu_memory_cap_bytes=int(args.memory_gb * GIB) if args.memory_gb else None)
    hardware = request.host_profile(load_hardware(args.hardware))
    out = {}
    for name in EXECUTORS:
        found = search(request, hardware, top_k=args.candidates, executors=(name,),
                       memory_margin_ratio=DEFAULT_MEMORY_MARGIN_RATIO).ranked
        plans, _ = honest_order([predicted_plan(request, c, hardware) for c in found], hardware)
        out[name] = plans[0] if plans else None
    return out, hardware


def write_folder(folder: Path, plan, hardware) -> None:
    from mist_ds.emit.outputs import render_outputs, write_outputs

    write_outputs(folder, render_outputs(folder, [plan], hardware, with_png=False))


def run_plan(folder: Path, args, port: int) -> dict:
    """deepspeed launch/train.py on this host's first --gpus GPUs; the RunReport (or the failure)."""
    report = folder / "run.json"
    report.unlink(missing_ok=True)
    argv = [sys.executable, "-u", "-m", "deepspeed.launcher.runner", "--num_gpus", str(args.gpus),
            "--no_ssh_check", "--master_addr", "127.0.0.1", "--master_port", str(port),
            str(ROOT / "launch" / "train.py"), "--plan", str(folder / "plan.json"), "--steps", str(args.steps),
            "--warmup", str(args.warmup), "--report", str(report), "--hardware", args.hardware]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NCCL_NVLS_ENABLE": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if env.get("TORCH_CUDA_ARCH_LIST") == "9.0a":
        env["TORCH_CUDA_ARCH_LIST"] = "9.0"  # DeepSpeed's op builder cannot parse '9.0a' (DESIGN.md)
    start = time.monotonic()
    with open(folder / "train.log", "w") as log:
        try:
            proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=args.timeout_s)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
    result = {"exit_code": code, "wall_s": round(time.monotonic() - start, 1)}
    if report.exists():
        result["report"] = json.loads(report.read_text())
    return result


def summary(plans, runs) -> dict:
    rows = {}
    for name, plan in plans.items():
        if plan is None:
            rows[name] = {"plan": None}
            continue
        rep = (runs.get(name) or {}).get("report") or {}
        rows[name] = {"plan": plan.describe(), "layers": [s.num_layers for s in plan.stages],
                      "recompute": [s.num_recompute_layers for s in plan.stages],
                      "offloaded_layers": [s.num_offloaded_layers for s in plan.stages],
                      "predicted_s": plan.prediction.iteration_time_s, "predicted_mfu": plan.prediction.mfu,
                      "predicted_peak_gib": [s.peak_memory_bytes / 2**30 for s in plan.prediction.stages],
                      "status": rep.get("status"), "measured_s": rep.get("median_iteration_time_s"),
                      "mfu": rep.get("mfu"), "exit_code": (runs.get(name) or {}).get("exit_code")}
    stock, mist = (rows.get(n, {}).get("measured_s") for n in EXECUTORS)
    return {"executors": rows, "speedup_measured": stock / mist if stock and mist else None}


def markdown(data: dict) -> str:
    lines = [f"# mistpipe vs stock DeepSpeed: {data['request']}", "",
             "| executor | plan | predicted s/iter | measured s/iter | MFU | status |", "|---|---|---|---|---|---|"]
    for name, row in data["executors"].items():
        if row["plan"] is None:
            lines.append(f"| {name} | nothing fits | - | - | - | - |")
            continue
        fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
        lines.append(f"| {name} | {row['plan']}; layers {row['layers']}, recompute {row['recompute']}, "
                     f"act-offload {row['offloaded_layers']} | {row['predicted_s']:.3f} | "
                     f"{fmt(row['measured_s'], '.3f')} | {fmt(row['mfu'], '.3f')} | {row['status']} |")
    speed = data["speedup_measured"]
    lines += ["", f"Measured speedup of mistpipe over stock: {'-' if speed is None else f'{speed:.3f}x'}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="llama-13b")
    parser.add_argument("--gpus", type=int, default=2)
    parser.add_argument("--global-batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--memory-gb", type=float, default=78.0, help="per-GPU cap, GiB (0: the whole card)")
    parser.add_argument("--hardware", default="h200")
    parser.add_argument("--candidates", type=int, default=10, help="search top-k per executor before predict ranks")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=280.0, help="per run")
    parser.add_argument("--plan-only", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    plans, hardware = best_plans(args)
    for name, plan in plans.items():
        if plan is not None:
            write_folder(out / name, plan, hardware)
            print(f"[compare] {name}: {plan.describe()} predicted {plan.prediction.iteration_time_s:.3f} s/iter",
                  flush=True)
    runs = {}
    if not args.plan_only:
        for port, (name, plan) in enumerate(plans.items(), start=29771):
            if plan is not None:
                runs[name] = run_plan(out / name, args, port)
                print(f"[compare] {name}: exit {runs[name]['exit_code']} in {runs[name]['wall_s']} s", flush=True)
    request = (f"{args.model}, {args.gpus} GPUs, batch {args.global_batch}, seq {args.seq_len}, cap "
               f"{args.memory_gb:g} GiB, {args.hardware}")
    data = {"request": request, **summary(plans, runs), "runs": runs}
    (out / "executor_compare.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "executor_compare.md").write_text(markdown(data))
    print(markdown(data), flush=True)


if __name__ == "__main__":
    main()
