"""Tuning-time benchmark (issue 4): GPT-22B, 4 nodes x 8 GPUs, global batch 512, sequence 2048,
growing the search space step by step, plus one node of 8 GPUs and the end-to-end CLI.

    .venv/bin/python bench/tuning_time.py              # writes bench/results/tuning_time.{md,json}

Each configuration runs in a fresh process: 'cold' is the first search() there (it includes
compiling the cost model's sympy expressions), 'warm' a second identical search() (compiled
expressions cached). Times are the minimum over --repeats processes (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GOAL_FULL_S, GOAL_NODE_S = 10.0, 1.0

STOCK = ("deepspeed",)  # the stock-only space: every step but the last
NO_OFFLOAD = dict(offload_weights=False, offload_gradients=False, offload_optimizer=False,
                  offload_activations=False, executors=STOCK)
# (label, SearchSpace overrides, recompute mode). DeepSpeed offloads gradients together with the
# optimizer states they feed, so optimizer offload switches both on (and '+gradient offload' then
# adds nothing new: the row is kept to follow the sequence).
STEPS = [
    ("3D only (DP x TP x PP, ZeRO-0/1, recompute all-or-nothing)",
     dict(zero_stages=(0, 1), **NO_OFFLOAD), "all-or-nothing"),
    ("+ ZeRO-2/3", dict(NO_OFFLOAD), "all-or-nothing"),
    ("+ recompute tuning (count per stage)", dict(NO_OFFLOAD), "tune"),
    ("+ optimizer offload (with its gradients)",
     dict(offload_weights=False, offload_activations=False, executors=STOCK), "tune"),
    ("+ activation offload (ratio per stage)", dict(offload_weights=False, executors=STOCK), "tune"),
    ("+ gradient offload (coupled to optimizer offload: no new layouts)",
     dict(offload_weights=False, executors=STOCK), "tune"),
    ("+ weight offload (full space)", dict(executors=STOCK), "tune"),
    ("+ mistpipe executor (per-stage ZeRO/offload; the default search space)",
     dict(executors=("deepspeed", "mistpipe")), "tune"),
]
FULL = 6  # the full stock-DeepSpeed space (STEPS index, --executors deepspeed); the last step adds mistpipe
CASES = {"gpt-22b 4x8": ("gpt-22b", 4, 8, 512, 2048), "gpt-22b 1x8": ("gpt-22b", 1, 8, 512, 2048),
         "llama-7b 1x8": ("llama-7b", 1, 8, 64, 4096)}


def run_one(case: str, step: int) -> dict:
    """One configuration in this process: cold and warm search times and what was found."""
    from mist_ds.api import tune
    from mist_ds.config import ClusterSpec, SearchSpace, TuneRequest, resolve_model
    from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware

    model, nodes, gpus, batch, seq = CASES[case]
    _, overrides, mode = STEPS[step]
    request = TuneRequest(model=resolve_model(model), cluster=ClusterSpec(num_nodes=nodes, gpus_per_node=gpus),
                          global_batch_size=batch, seq_len=seq, space=SearchSpace(**overrides))
    hardware = load_hardware(DEFAULT_PROFILE)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        result = tune(request, hardware, top_k=5, recompute=mode)
        times.append(time.perf_counter() - start)
    best = result.plans[0] if result.plans else None
    return {"cold_s": times[0], "warm_s": times[1], "layouts": result.stats.num_layouts,
            "strategies": result.stats.num_strategies,
            "best_s": best.prediction.iteration_time_s if best else None,
            "best": (f"{best.describe()}; layers {'/'.join(str(s.num_layers) for s in best.stages)}; "
                     f"recompute {'/'.join(str(s.num_recompute_layers) for s in best.stages)}")
            if best else "none fits"}


def _subprocess_one(case: str, step: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", case, str(step)], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{case} step {step} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def _cli_seconds() -> float:
    """Wall time of the issue's checked-by command (the default search: both executors), process start
    to exit (writes a temp folder)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mist_ds.autotune", "--model", "gpt-22b", "--nodes", "4",
                        "--gpus-per-node", "8", "--global-batch", "512", "--seq-len", "2048",
                        "--out", tmp], cwd=ROOT, check=True,
                       capture_output=True)
        return time.perf_counter() - start


def measure(repeats: int) -> dict:
    rows = []
    for case, steps in (("gpt-22b 4x8", range(len(STEPS))), ("gpt-22b 1x8", [FULL, len(STEPS) - 1]),
                        ("llama-7b 1x8", [FULL, len(STEPS) - 1])):
        for step in steps:
            runs = [_subprocess_one(case, step) for _ in range(repeats)]
            row = dict(runs[0], case=case, step=STEPS[step][0])
            row["cold_s"] = min(r["cold_s"] for r in runs)
            row["warm_s"] = min(r["warm_s"] for r in runs)
            rows.append(row)
            print(f"{case:14s} {row['step'][:45]:45s} cold {row['cold_s']:.2f} s warm {row['warm_s']:.2f} s",
                  file=sys.stderr)
    cli = min(_cli_seconds() for _ in range(repeats))
    return {"rows": rows, "cli_s": cli, "repeats": repeats,
            "machine": {"cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg(),
                        "python": platform.python_version(), "processor": platform.processor()}}


def markdown(data: dict) -> str:
    lines = ["# Tuning time", "",
             "`.venv/bin/python bench/tuning_time.py` (bench/tuning_time.py). Fresh process per row; "
             "cold = first search() (includes compiling the cost model), warm = second search(); "
             f"minimum of {data['repeats']} processes. Machine: {data['machine']['cpus']} CPU cores "
             f"(shared with other jobs; load average at the end {data['machine']['loadavg_at_end'][0]:.1f}), "
             f"Python {data['machine']['python']}, no GPU.", "",
             "| case | search space | layouts | stage strategies | cold s | warm s | best s/iter | best plan |",
             "|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        best = f"{r['best_s']:.3f}" if r["best_s"] else "-"
        lines.append(f"| {r['case']} | {r['step']} | {r['layouts']} | {r['strategies']} | {r['cold_s']:.2f} | "
                     f"{r['warm_s']:.2f} | {best} | {r['best']} |")
    full = [r for r in data["rows"] if r["case"] == "gpt-22b 4x8"][FULL]
    node = [r for r in data["rows"] if r["case"] == "gpt-22b 1x8"][0]
    both = {r["case"]: r for r in data["rows"] if r["step"] == STEPS[-1][0]}
    lines += ["",
              f"- Goal full space, gpt-22b on 4x8, <= {GOAL_FULL_S:g} s: cold {full['cold_s']:.2f} s, "
              f"warm {full['warm_s']:.2f} s; the whole CLI (`python -m mist_ds.autotune --model gpt-22b "
              f"--nodes 4 --gpus-per-node 8 --global-batch 512 --seq-len 2048 --out DIR`, both executors, "
              f"process start to exit, imports and the PNG included) {data['cli_s']:.2f} s.",
              f"- Goal one node of 8 GPUs <= {GOAL_NODE_S:g} s: gpt-22b on 1x8 cold {node['cold_s']:.2f} s, "
              f"warm {node['warm_s']:.2f} s.",
              "- Both executors (the default), same goals: gpt-22b 4x8 cold "
              f"{both['gpt-22b 4x8']['cold_s']:.2f} s, gpt-22b 1x8 cold {both['gpt-22b 1x8']['cold_s']:.2f} s, "
              f"llama-7b 1x8 cold {both['llama-7b 1x8']['cold_s']:.2f} s.", ""]
    for prev in data.get("previous", []):  # an earlier measurement of the same rows, kept for comparison
        now = next((r for r in data["rows"] if (r["case"], r["step"]) == (prev["case"], prev["step"])), None)
        if now is not None:
            lines.append(f"- {prev['case']}, {prev['step'][:30]}: cold {prev['cold_s']:.2f} -> {now['cold_s']:.2f} s, "
                         f"warm {prev['warm_s']:.2f} -> {now['warm_s']:.2f} s ({prev['source']}).")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("CASE", "STEP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return
    data = measure(args.repeats)
    old = RESULTS / "tuning_time.json"
    if old.exists():  # keep the rows' earlier measurement (bench/results is committed)
        data["previous"] = json.loads(old.read_text()).get("previous", [])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tuning_time.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "tuning_time.md").write_text(markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
