"""mistpipe on 2 GPUs: throughput of a 2-stage GPT pipeline with and without offload, and the share
of host-device copy time hidden under compute (torch.profiler trace, mistpipe/trace.py).

    python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 \
        bench/engine/mistpipe_offload.py --out $OUT/mistpipe_offload.json

Variants (all PP2 x DP1, bf16, same model, data and batch): `stock` is DeepSpeed's PipelineEngine
(ZeRO-1); `none` is mistpipe with nothing offloaded; the others offload one kind each, then all
(the optimizer tail by the engine's default path, GPU AdamW over swapped-in states; `*_cpu`: by
DeepSpeedCPUAdam instead, `*_swap`: the swap path named explicitly;
`*_deferred`: stage 0 defers each block's update into the next forward).
Each variant: build, --warmup steps, --steps timed steps, one profiled step, then its engine is
destroyed and collected and the peak counter restarts, so each peak is the variant's own (the JSON
keeps, per rank, the GiB still allocated before and after it: 'left GiB' in the table, ~0 when
nothing leaks). Rank 0 prints a table and writes JSON (per variant: step times, tokens/s, peak
memory, copy overlap and torch threads per rank, and the cost model's prediction of the same plan on
--hardware: predict_plan of a mistpipe plan whose stages carry the variant's memory setting; none
for *_deferred, which the model does not cost; each variant priced for the optimizer path it runs:
predict_plan's optimizer_path, gpu_swap unless the variant forces cpu_adam). One variant per process (--variants V) is
what bench/calls/engine_check.sh runs: nothing of another variant (allocator state, CPU Adam's
threads, the pinned-memory cache) can touch its numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

import deepspeed  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from mist_ds.config import ClusterSpec, Plan, StagePlan, get_preset  # noqa: E402
from mist_ds.config.plan import MemoryStrategy  # noqa: E402
from tests.helpers import tiny_model  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost import RunConditions, predict_plan  # noqa: E402
from mist_ds.emit.ds_config import build_ds_config  # noqa: E402
from mist_ds.runtime.data import TokenSource, micro_batches  # noqa: E402
from mist_ds.runtime.build import init_distributed, on_cpu, optimizer_config  # noqa: E402
from mist_ds.runtime.mistpipe import StageMemory, build_mistpipe_engine  # noqa: E402
from mist_ds.runtime.mistpipe.trace import trace_overlap  # noqa: E402
from bench.engine.trace_digest import write_digest  # noqa: E402
from mist_ds.runtime.model import BuildOptions  # noqa: E402
from mist_ds.runtime.pipeline_module import MistPipelineModule  # noqa: E402
from mist_ds.runtime.topology import MistMpu, make_topology  # noqa: E402


SWAP = {"optimizer_offload_path": "gpu_swap"}  # the engine's default since engine5
CPU = {"optimizer_offload_path": "cpu_adam"}
DEFER = {"defer_optimizer_step": "first"}


def variants(layers_per_stage: int) -> dict[str, tuple[StageMemory | None, dict]]:
    """name -> (the memory strategy of both stages (None: stock DeepSpeed), engine options)."""
    act = max(1, layers_per_stage // 12)  # activation copies are ~1.4/h bytes per flop
    every = StageMemory(offload_weights_ratio=0.25, offload_gradients_ratio=0.25,
                        offload_optimizer_ratio=0.5, num_offloaded_layers=act)
    return {
        "stock": (None, {}),
        "none": (StageMemory(), {}),
        "activations": (StageMemory(num_offloaded_layers=act), {}),
        "weights": (StageMemory(offload_weights_ratio=0.5), {}),
        "gradients": (StageMemory(offload_gradients_ratio=0.5), {}),
        "optimizer": (StageMemory(offload_optimizer_ratio=0.5), {}),
        "optimizer_swap": (StageMemory(offload_optimizer_ratio=0.5), SWAP),
        "optimizer_cpu": (StageMemory(offload_optimizer_ratio=0.5), CPU),
        "all": (every, {}),
        "all_swap": (every, SWAP),
        "all_cpu": (every, CPU),
        "deferred": (StageMemory(), DEFER),
        "all_deferred": (every, DEFER),
    }


# about 25 s each on 2 x H200 (build, 4 steps, one profiled step) + CPU Adam's first JIT build:
# the default set stays under 4 minutes; optimizer_swap, all_swap and deferred on request
DEFAULT_VARIANTS = "stock,none,activations,weights,gradients,optimizer,optimizer_cpu,all,all_deferred"


def make_plan(args) -> Plan:
    """The stock reference: PP2 x DP1, ZeRO-1, layers split in half."""
    spec = tiny_model(num_layers=4) if args.model == "tiny" else get_preset(args.model)
    half = spec.num_layers // 2
    grad_accum = args.global_batch // args.micro_batch
    stages = tuple(StagePlan(layer_start=start, layer_end=end) for start, end in ((0, half), (half, spec.num_layers)))
    return Plan(model=spec, cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                global_batch_size=args.global_batch, seq_len=args.seq, dp=1, tp=1,
                micro_batch_size=args.micro_batch, grad_accum_steps=grad_accum,
                memory=MemoryStrategy(zero_stage=1), stages=stages)


def variant_plan(plan: Plan, memory: StageMemory | None) -> Plan:
    """The plan a variant runs: the stock one, or a mistpipe plan with `memory` on both stages."""
    if memory is None:
        return plan
    setting = MemoryStrategy(zero_stage=memory.zero_stage, offload_weights_ratio=memory.offload_weights_ratio,
                             offload_gradients_ratio=memory.offload_gradients_ratio,
                             offload_optimizer_ratio=memory.offload_optimizer_ratio)
    stages = tuple(s.model_copy(update={"num_offloaded_layers": memory.num_offloaded_layers}) for s in plan.stages)
    return Plan.model_validate({**plan.model_dump(), "executor": "mistpipe", "memory": setting, "stages": stages})


def predicted_s(plan: Plan, memory: StageMemory | None, options: dict, hardware) -> float | None:
    """The cost model's iteration time of the variant (None for engine options it does not cost)."""
    if set(options) - {"optimizer_offload_path"}:
        return None
    # build() hands the engine a stock plan's ds_config (no per-stage path): it runs gpu_swap unless forced
    path = options.get("optimizer_offload_path", "gpu_swap")
    return predict_plan(variant_plan(plan, memory), hardware, RunConditions(optimizer_path=path)).iteration_time_s


def build(plan: Plan, memory: StageMemory | None, options: dict, precision: str, device):
    topology = make_topology(2, 1, 1)
    mpu = MistMpu(topology)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    opts = BuildOptions(tp_group=mpu.tp_group, dtype=dtype, device=device, seed=1234)
    module = MistPipelineModule(plan, opts, topology)
    config, _ = optimizer_config(build_ds_config(plan, precision=precision), plan, None, "torch")
    if memory is None:
        engine, _, _, _ = deepspeed.initialize(model=module, config=config,
                                               model_parameters=[p for p in module.parameters()])
    else:
        engine = build_mistpipe_engine(module, memory, config, **options)
    return engine


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(engine, plan: Plan, source, step: int, device) -> float:
    batches = micro_batches(source, step, global_batch=plan.global_batch_size,
                            micro_batch=plan.micro_batch_size, dp=1, dp_rank=0,
                            grad_accum=plan.grad_accum_steps, device=device)
    return float(engine.train_batch(data_iter=iter(batches)))


def profiled_overlap(engine, plan, source, step, device, digest_to: Path | None = None) -> dict | None:
    """Copy overlap of one profiled step on this rank (None off CUDA); the trace's GPU timeline and
    long host ops go to `digest_to` (bench/engine/trace_digest.py) when given."""
    if device.type != "cuda":
        return None
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        train_step(engine, plan, source, step, device)
        sync(device)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.json"
        prof.export_chrome_trace(str(path))
        if digest_to is not None:
            write_digest(path, digest_to)
        return trace_overlap(path, min_bytes=1 << 16)


def fresh_memory(device) -> float | None:
    """Free what the last variant left (collected engine, cached blocks) and restart the peak
    counter; returns the GiB still allocated, which should be ~0 (the data, nothing else)."""
    gc.collect()
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.memory_allocated(device) / 2**30


def drop_engine(engine) -> None:
    """DeepSpeed's destroy (mistpipe's also takes its hooks off the module), then let go."""
    engine.destroy()
    if hasattr(engine, "stage_runtime"):
        engine.stage_runtime = None
    engine.optimizer = None


def timed_steps(engine, plan, args, device) -> tuple[list[float], list[float]]:
    source = TokenSource(plan.model.vocab_size, plan.seq_len, seed=7)
    losses, times = [], []
    for step in range(args.warmup + args.steps):
        sync(device)
        begin = time.perf_counter()
        losses.append(train_step(engine, plan, source, step, device))
        sync(device)
        times.append(time.perf_counter() - begin)
    return losses, times


def run_variant(name, memory, options, plan, args, device) -> dict:
    start_gib = fresh_memory(device)
    start = time.perf_counter()
    engine = build(plan, memory, options, args.precision, device)
    build_s = time.perf_counter() - start
    losses, times = timed_steps(engine, plan, args, device)
    timed = times[args.warmup:]
    source = TokenSource(plan.model.vocab_size, plan.seq_len, seed=7)
    digest = (None if args.digest_dir is None
              else Path(args.digest_dir) / f"{name}_rank{dist.get_rank()}.digest.json.gz")
    overlap = None if memory is None or (name == "none" and digest is None) else profiled_overlap(
        engine, plan, source, args.warmup + args.steps, device, digest)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    stats = engine.stage_runtime.stats() if memory is not None else None
    drop_engine(engine)
    del engine
    end_gib = fresh_memory(device)
    slowest = torch.tensor(timed, dtype=torch.float64, device=device)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    per_rank = [None] * dist.get_world_size()
    dist.all_gather_object(per_rank, {"peak_gib": peak, "overlap": overlap, "stats": stats,
                                      "start_allocated_gib": start_gib, "end_allocated_gib": end_gib,
                                      "torch_threads": torch.get_num_threads()})
    median = statistics.median(slowest.tolist())
    return {"memory": None if memory is None else memory.__dict__, "options": options,
            "build_s": build_s, "predicted_s": predicted_s(plan, memory, options, args.hardware_profile),
            "losses": losses, "step_times_s": slowest.tolist(), "median_s": median,
            "tokens_per_s": plan.global_batch_size * plan.seq_len / median, "ranks": per_rank}


def table(results: dict) -> str:
    base = results.get("none", {}).get("median_s")
    lines = [f"{'variant':<14} {'s/iter':>8} {'pred':>8} {'tok/s':>9} {'vs none':>8} {'peak GiB r0/r1':>15} "
             f"{'copy ms r0/r1':>14} {'hidden r0/r1':>13} {'left GiB':>9}"]
    for name, row in results.items():
        ranks = row["ranks"]
        peak = "/".join("-" if r["peak_gib"] is None else f"{r['peak_gib']:.1f}" for r in ranks)
        copy = "/".join("-" if not r["overlap"] else f"{r['overlap']['copy_time_us'] / 1e3:.0f}"
                        for r in ranks)
        hidden = "/".join("-" if not r["overlap"] or r["overlap"]["hidden_fraction"] is None
                          else f"{r['overlap']['hidden_fraction']:.2f}" for r in ranks)
        left = "/".join("-" if r.get("end_allocated_gib") is None else f"{r['end_allocated_gib']:.1f}"
                        for r in ranks)
        rel = f"{row['median_s'] / base:.3f}" if base else "-"
        pred = "-" if row["predicted_s"] is None else f"{row['predicted_s']:.3f}"
        lines.append(f"{name:<14} {row['median_s']:>8.3f} {pred:>8} {row['tokens_per_s']:>9.0f} {rel:>8} "
                     f"{peak:>15} {copy:>14} {hidden:>13} {left:>9}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON result path (rank 0 writes it)")
    parser.add_argument("--model", default="gpt-1.3b", help="preset name, or 'tiny' (CPU smoke run)")
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--global-batch", type=int, default=16)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help=f"comma-separated subset of: {', '.join(variants(12))}")
    parser.add_argument("--precision", default=None, choices=("bf16", "fp32"))
    parser.add_argument("--hardware", default="h200", help="profile the predictions use")
    parser.add_argument("--digest-dir", default=None,
                        help="write each profiled step's trace digest here (trace_digest.py)")
    parser.add_argument("--local_rank", type=int, default=None)
    args = parser.parse_args()
    init_distributed()
    args.precision = args.precision or ("fp32" if on_cpu() else "bf16")
    args.hardware_profile = load_hardware(args.hardware)
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cpu") if on_cpu() else torch.device("cuda", local)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    plan = make_plan(args)
    chosen = variants(plan.stages[0].layer_end - plan.stages[0].layer_start)
    unknown = set(args.variants.split(",")) - set(chosen)
    if unknown:
        raise SystemExit(f"error: unknown variants {sorted(unknown)}; known: {', '.join(chosen)}")
    chosen = {k: v for k, v in chosen.items() if k in args.variants.split(",")}
    results, started = {}, time.perf_counter()
    for name, (memory, options) in chosen.items():
        results[name] = run_variant(name, memory, options, plan, args, device)
        if dist.get_rank() == 0:
            print(f"[bench] {name}: {results[name]['median_s']:.3f} s/iter "
                  f"({time.perf_counter() - started:.0f} s elapsed)", flush=True)
    if dist.get_rank() == 0:
        report = {"model": plan.model.name, "seq": args.seq, "global_batch": args.global_batch,
                  "hardware_profile": args.hardware,
                  "micro_batch": args.micro_batch, "precision": args.precision,
                  "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                  "wall_s": time.perf_counter() - started, "variants": results}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
        print(table(results), flush=True)
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
