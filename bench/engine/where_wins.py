"""Where the search says the mistpipe engine beats stock DeepSpeed: for each workload below, the best predicted plan
restricted to each executor (bench/engine/executor_compare.py best_plans, the same search and ranking) and the
predicted speedup. CPU only; picks the workloads worth a GPU call for issue 13's "1.2x on two workloads".

    python bench/engine/where_wins.py --out bench/results/engine/where_mistpipe_wins.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "engine"))

from executor_compare import best_plans  # noqa: E402

WORKLOADS = (  # model, GPUs, global batch, seq len, cap GiB
    ("llama-13b", 2, 32, 4096, 78), ("llama-13b", 2, 32, 4096, 40), ("llama-7b", 2, 32, 4096, 40),
    ("llama-7b", 2, 32, 4096, 24), ("gpt-13b", 2, 32, 2048, 78), ("gpt-13b", 2, 32, 2048, 40),
    ("llama-7b", 1, 16, 4096, 40), ("llama-7b", 1, 16, 4096, 24), ("gpt-6.7b", 2, 32, 2048, 24),
)
NODE_WORKLOADS = (  # model, GPUs, global batch, seq len, cap GiB, profile: the 1-GPU node's own (measured in S10)
    ("llama-2.7b", 1, 16, 4096, 16, "h200-1gpu-node"), ("llama-2.7b", 1, 16, 4096, 24, "h200-1gpu-node"),
    ("llama-7b", 1, 16, 4096, 40, "h200-1gpu-node"), ("llama-7b", 1, 16, 4096, 24, "h200-1gpu-node"),
)


def summary(plan) -> str:
    """One line of the plan's strategy: plan-wide memory, then any stage's own."""
    if plan is None:
        return "nothing fits"
    m = plan.memory
    return (f"pp{len(plan.stages)} dp{plan.dp} tp{plan.tp} mb{plan.micro_batch_size} ga{plan.grad_accum_steps} "
            f"Z{m.zero_stage} w{m.offload_weights_ratio:g} g{m.offload_gradients_ratio:g} "
            f"o{m.offload_optimizer_ratio:g}"
            f" rc{[s.num_recompute_layers for s in plan.stages]} act{[s.num_offloaded_layers for s in plan.stages]}"
            + "".join(f"; stage {i}: Z{s.memory.zero_stage} w{s.memory.offload_weights_ratio:g} "
                      f"g{s.memory.offload_gradients_ratio:g} o{s.memory.offload_optimizer_ratio:g}"
                      for i, s in enumerate(plan.stages) if s.memory is not None))


def row(model: str, gpus: int, batch: int, seq: int, cap: float, hardware: str) -> str:
    args = argparse.Namespace(model=model, gpus=gpus, global_batch=batch, seq_len=seq, memory_gb=cap,
                              hardware=hardware, candidates=10)
    plans, _ = best_plans(args)
    t = {k: (p.prediction.iteration_time_s if p else None) for k, p in plans.items()}
    ratio = f"{t['deepspeed'] / t['mistpipe']:.2f}x" if t["deepspeed"] and t["mistpipe"] else "-"
    fmt = lambda s: f"{s:.2f}" if s else "-"  # noqa: E731
    return (f"| {model} | {gpus} | {batch} | {seq} | {cap:g} | {fmt(t['deepspeed'])} | {summary(plans['deepspeed'])} | "
            f"{fmt(t['mistpipe'])} | {summary(plans['mistpipe'])} | {ratio} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--hardware", default="h200")
    args = parser.parse_args()
    header = ["| model | GPUs | batch | seq | cap GiB | stock s | stock plan | mistpipe s | mistpipe plan "
              "| predicted |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines = ["# Where the search predicts mistpipe beats stock DeepSpeed", "",
             f"`python bench/engine/where_wins.py --out {args.out}` (profile {args.hardware}); predicted s/iter of each"
             " executor's best plan. Predictions only: the measured pairs are in README.md.", "", *header]
    for w in WORKLOADS:
        lines.append(row(*w, args.hardware))
        print(lines[-1], flush=True)
    lines += ["", "On the 1-GPU H200 node's own profile (`h200-1gpu-node`: its host side, measured there):", "",
              *header]
    for *w, profile in NODE_WORKLOADS:
        lines.append(row(*w, profile))
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
