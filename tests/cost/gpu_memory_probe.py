"""Measured vs predicted peak GPU memory of single-GPU plans on the real runtime (needs CUDA).

    python tests/cost/gpu_memory_probe.py OUT.json [--quick]

For each plan: build the runtime's engine (mist_ds.runtime.build.build_runtime, a 1-rank NCCL
group), run two optimizer steps, reset the allocator's peak counters, run a third, and record
torch.cuda.max_memory_allocated / max_memory_reserved next to the cost model's prediction.
Also records the saved-activation bytes of one block on CUDA (saved_tensors_hooks, like
test_activations.py does on the CPU) next to the formula's CUDA variant.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

import torch

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset
from mist_ds.config.plan import MemoryStrategy
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import predict_plan
from mist_ds.cost.activations import layer_saved_bytes
from mist_ds.cost.symbols import b as B_SYM
from mist_ds.cost.symbols import tp as TP_SYM

CASES = [  # (preset, seq, micro-batch, grad accum, zero stage, recompute, optimizer offload)
    ("gpt-350m", 1024, 4, 2, 0, 0, 0.0),
    ("gpt-350m", 1024, 4, 2, 1, 0, 0.0),
    ("gpt-350m", 1024, 4, 2, 2, 0, 0.0),
    ("gpt-350m", 1024, 4, 2, 3, 0, 0.0),
    ("gpt-350m", 1024, 4, 2, 1, 12, 0.0),
    ("llama-1.3b", 2048, 2, 2, 1, 0, 0.0),
    ("llama-1.3b", 2048, 2, 2, 2, 24, 0.0),
    ("llama-1.3b", 2048, 2, 2, 2, 0, 1.0),
    ("llama-1.3b", 2048, 1, 2, 3, 12, 0.0),
    ("gpt-1.3b", 2048, 4, 2, 1, 0, 0.0),
]


def plan_for(preset, seq, micro, accum, zero, recompute, offload) -> Plan:
    model = get_preset(preset)
    return Plan(model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=1), global_batch_size=micro * accum,
                seq_len=seq, dp=1, tp=1, micro_batch_size=micro, grad_accum_steps=accum,
                memory=MemoryStrategy(zero_stage=zero, offload_optimizer_ratio=offload,
                                      offload_gradients_ratio=offload),
                stages=(StagePlan(layer_start=0, layer_end=model.num_layers, num_recompute_layers=recompute),))


def measure_plan(plan: Plan) -> dict:
    from mist_ds.runtime.data import TokenSource
    from mist_ds.runtime.build import build_runtime
    from mist_ds.runtime.trainer import train_step

    # DeepSpeed keeps engines alive after their last reference goes (global hooks/registries), so
    # memory left by earlier cases in this process is measured first and subtracted
    gc.collect()
    torch.cuda.synchronize()
    baseline = torch.cuda.memory_allocated()
    rt = build_runtime(plan, 0, precision="bf16")
    source = TokenSource(plan.model.vocab_size, plan.seq_len)
    for step in range(2):
        train_step(plan, rt, source, step)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    start = time.perf_counter()
    train_step(plan, rt, source, 2)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    result = {"step_time_s": seconds, "baseline": baseline, "allocated_before_step": before - baseline,
              "max_allocated": torch.cuda.max_memory_allocated() - baseline,
              "max_reserved_over_allocated": (torch.cuda.max_memory_reserved()
                                              / torch.cuda.max_memory_allocated())}
    rt.engine.destroy() if hasattr(rt.engine, "destroy") else None
    del rt
    gc.collect()
    torch.cuda.empty_cache()
    return result


def diagnose(plan: Plan) -> None:
    """Print the largest live CUDA storages after two steps, with the engine path holding them."""
    from ds_state_probe import _reachable_tensors
    from mist_ds.runtime.data import TokenSource
    from mist_ds.runtime.build import build_runtime
    from mist_ds.runtime.trainer import train_step

    rt = build_runtime(plan, 0, precision="bf16")
    source = TokenSource(plan.model.vocab_size, plan.seq_len)
    for step in range(2):
        train_step(plan, rt, source, step)
    torch.cuda.synchronize()
    gc.collect()
    paths: dict = {}
    reachable = _reachable_tensors(rt.engine, paths)
    known = {t.untyped_storage().data_ptr(): paths[id(t)] for t in reachable if t.is_cuda}
    live = {}
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and obj.is_cuda:
            live[obj.untyped_storage().data_ptr()] = (obj.untyped_storage().nbytes(), obj.dtype,
                                                      tuple(obj.shape))
    print("DIAG allocated", torch.cuda.memory_allocated(), "gc-visible", sum(v[0] for v in live.values()),
          "engine-reachable", sum(live[k][0] for k in known if k in live), flush=True)
    for ptr, (size, dtype, shape) in sorted(live.items(), key=lambda kv: -kv[1][0])[:25]:
        print("DIAG", size, dtype, shape, known.get(ptr, "NOT-FROM-ENGINE")[:150], flush=True)
    del rt
    gc.collect()
    torch.cuda.empty_cache()


def saved_block_bytes(preset: str, batch: int, seq: int) -> tuple[int, float]:
    from mist_ds.runtime.blocks import TransformerBlock
    from dataclasses import replace

    from mist_ds.runtime.kernels import EAGER_KERNELS

    model = get_preset(preset)
    # the eager element-wise kernels layer_saved_bytes prices by default ('auto' runs Liger's SwiGLU and
    # compiled RoPE on CUDA: config/kernel_picks.py AUTO_USES_FASTEST)
    eager = replace(EAGER_KERNELS, attention="sdpa")
    block = TransformerBlock(model, None, torch.bfloat16, device="cuda", kernels=eager)
    params = {p.untyped_storage().data_ptr() for p in block.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor):
        if tensor.untyped_storage().data_ptr() not in params:
            storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    x = torch.randn(batch, seq, model.hidden_size, dtype=torch.bfloat16, device="cuda",
                    requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = block(x)
    out.float().sum().backward()
    predicted = float(layer_saved_bytes(model, seq, "sdpa", platform="cuda").subs({B_SYM: batch,
                                                                                   TP_SYM: 1}))
    return sum(storages.values()), predicted


def main() -> None:
    out_path = sys.argv[1]
    quick = "--quick" in sys.argv
    os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=os.environ.get("MASTER_PORT", "29533"))
    from mist_ds.runtime.build import init_distributed

    init_distributed()
    if "--recompute" in sys.argv:
        CASES[:] = [("gpt-350m", 1024, 4, 2, 2, 24, 0.0), ("gpt-350m", 1024, 4, 2, 1, 24, 0.0),
                    ("llama-1.3b", 2048, 2, 2, 1, 24, 0.0), ("llama-1.3b", 2048, 2, 2, 2, 12, 0.0)]
    if "--diagnose" in sys.argv:
        for case in (CASES[4], CASES[5]):
            diagnose(plan_for(*case))
        return
    hw = load_hardware("h100-sxm-80gb")
    results = {"activations": [], "plans": []}
    for preset, batch, seq in () if "--recompute" in sys.argv else (("gpt-350m", 2, 1024),
                                                                     ("llama-1.3b", 1, 2048)):
        measured, predicted = saved_block_bytes(preset, batch, seq)
        results["activations"].append({"preset": preset, "batch": batch, "seq": seq,
                                       "measured": measured, "predicted": predicted})
        print("ACT", preset, measured, predicted, measured / predicted, flush=True)
    for case in CASES[:2] if quick else CASES:
        plan = plan_for(*case)
        pred = predict_plan(plan, hw).stages[0]
        row = {"case": case, "predicted_peak": pred.peak_memory_bytes,
               "predicted_time_s": predict_plan(plan, hw).iteration_time_s,
               "breakdown": pred.memory_breakdown.model_dump(), **measure_plan(plan)}
        results["plans"].append(row)
        print("PLAN", case, row["max_allocated"], row["predicted_peak"],
              round(row["max_allocated"] / row["predicted_peak"], 4), row["allocated_before_step"],
              round(row["max_reserved_over_allocated"], 3), "time", round(row["step_time_s"], 4),
              round(row["predicted_time_s"], 4), flush=True)
        with open(out_path, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
