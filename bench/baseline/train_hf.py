#!/usr/bin/env python3
"""What a DeepSpeed user runs: a Hugging Face causal LM (random init, SDPA attention) trained with
`deepspeed.initialize` and a ZeRO config, HF gradient checkpointing on or off, synthetic tokens.

    deepspeed --num_gpus 2 bench/baseline/train_hf.py --model llama-7b --seq-len 4096 \
        --global-batch 32 --micro-batch 4 --zero 3 [--offload-optimizer] [--checkpointing] \
        --cap-gib 78 --steps 6 --warmup 2 --report result.json

Parity mode (bench/runtime/parity.py): `--pipeline-stages N` trains the HF Llama as a plain DeepSpeed
PipelineModule (bench/baseline/hf_pipe.py; ZeRO 0/1, DeepSpeed's own recompute with --checkpointing);
`--zero-config FILE` takes the zero_optimization block of a ds_config.json (e.g. the one mist_ds emits)
instead of DeepSpeed's defaults; `--trace-dir DIR` profiles the last step (bench/runtime/trace_summary.py).

It shares no code with mist_ds/runtime (only mist_ds.config: presets, profiles, the RunReport
schema). Measured like the runtime: each step timed between device synchronisations, the slowest
rank's time, median after warm-up; the memory cap is torch.cuda.set_per_process_memory_fraction.
The result file is a RunReport's fields plus "baseline_config" (bench/baseline/results.py), and
"stopped_early_above_s" when `--stop-above-s` ended the run after its first timed step (it was
slower than that; its one timed step is its median).
Exit 0 ok, 1 error, 3 out of memory (that rank writes the report), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

EXIT_ERROR, EXIT_USAGE, EXIT_OOM = 1, 2, 3


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/baseline/train_hf.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="mist_ds preset name, or a ModelSpec JSON file")
    parser.add_argument("--max-seq-len", type=int, default=None, help="override the preset's max_seq_len")
    parser.add_argument("--seq-len", type=int, required=True)
    parser.add_argument("--global-batch", type=int, required=True)
    parser.add_argument("--micro-batch", type=int, required=True)
    parser.add_argument("--zero", type=int, choices=(0, 1, 2, 3), required=True)
    parser.add_argument("--offload-optimizer", action="store_true", help="ZeRO-Offload (CPU Adam)")
    parser.add_argument("--checkpointing", action="store_true", help="HF gradient checkpointing")
    parser.add_argument("--cap-gib", type=float, default=None, help="per-GPU memory cap")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--hardware", default="h200", help="profile whose bf16 peak the MFU divides by")
    parser.add_argument("--report", default=None)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--pipeline-stages", type=int, default=1,
                        help="parity mode: a DeepSpeed PipelineModule of this many stages (Llama, ZeRO 0/1)")
    parser.add_argument("--zero-config", default=None,
                        help="parity mode: a ds_config.json whose zero_optimization block replaces the defaults")
    parser.add_argument("--trace-dir", default=None, help="profile the last step into this folder")
    parser.add_argument("--trace-name", default="hf", help="file name stem of the trace summaries")
    parser.add_argument("--stop-above-s", type=float, default=None,
                        help="stop after the first timed step when it took longer (the grid's early stop)")
    parser.add_argument("--local_rank", type=int, default=None, help="set by the deepspeed launcher")
    args = parser.parse_args(argv)
    if args.pipeline_stages < 1 or (args.pipeline_stages > 1 and args.zero > 1):
        parser.error("--pipeline-stages must be >= 1, and DeepSpeed pipelines run ZeRO 0 or 1 only")
    return args


def config_of(args: argparse.Namespace) -> dict:
    """The baseline configuration a result records (and hashes as its plan_hash)."""
    config = {k: getattr(args, k) for k in ("model", "max_seq_len", "seq_len", "global_batch", "micro_batch",
                                            "zero", "offload_optimizer", "checkpointing", "cap_gib")}
    if args.pipeline_stages > 1:  # parity-mode keys only when used: grid results keep their hashes
        config["pipeline_stages"] = args.pipeline_stages
    if args.zero_config:
        config["zero_config"] = Path(args.zero_config).name
    return config


def zero_block(args: argparse.Namespace) -> dict:
    """The zero_optimization block: DeepSpeed's defaults plus what a plain user sets, or --zero-config's."""
    zero = {"stage": args.zero, "overlap_comm": args.zero > 0, "contiguous_gradients": True}
    if args.zero_config:
        given = json.loads(Path(args.zero_config).read_text())
        zero = {**dict(given.get("zero_optimization", given)), "stage": args.zero}
    if args.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    return zero


def ds_config(args: argparse.Namespace, world: int, on_cpu: bool) -> dict:
    """A plain user's ds_config: AdamW, bf16 (fp32 on CPU), ZeRO stage with DeepSpeed's defaults."""
    zero = zero_block(args)
    dp = world // args.pipeline_stages
    params = {"lr": 1e-4, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}
    if on_cpu and not args.offload_optimizer:
        params["torch_adam"] = True  # no nvcc for FusedAdam on CPU-only hosts
    config = {"train_batch_size": args.global_batch, "train_micro_batch_size_per_gpu": args.micro_batch,
              "gradient_accumulation_steps": args.global_batch // (args.micro_batch * dp),
              "optimizer": {"type": "AdamW", "params": params}, "gradient_clipping": 1.0,
              "zero_optimization": zero, "steps_per_print": 10**9, "wall_clock_breakdown": False}
    if not on_cpu:
        config["bf16"] = {"enabled": True}
    return config


def build_engine(args, spec, config: dict, device, dtype):
    import deepspeed
    import torch

    from bench.baseline.hf_model import build_model, preload

    preload()
    if args.pipeline_stages > 1:
        from bench.baseline.hf_pipe import build_pipeline

        model = build_pipeline(spec, args.pipeline_stages, device, dtype, args.checkpointing)
        params = [p for p in model.parameters() if p.requires_grad]
        return deepspeed.initialize(model=model, model_parameters=params, config=config)[0]
    if args.zero == 3:  # the model is born partitioned, as the HF integration does under ZeRO-3
        with deepspeed.zero.Init(config_dict_or_path=config):
            model = build_model(spec, dtype)
    else:
        with torch.device(device):
            model = build_model(spec, dtype)
    if args.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config=config)
    return engine


def step_fn(args, engine, batches: list):
    """One optimizer step over the micro-batches; returns the mean loss (a host sync, as before)."""
    if args.pipeline_stages > 1:
        return lambda: float(engine.train_batch(data_iter=iter([(t, t) for t in batches])))

    def step():
        total = 0.0
        for tokens in batches:
            loss = engine(input_ids=tokens, labels=tokens).loss
            engine.backward(loss)
            engine.step()
            total += float(loss.detach())
        return total / len(batches)
    return step


def train(args, engine, spec, device, world: int, rank: int, times: list, losses: list, tracer=None) -> None:
    import torch
    import torch.distributed as dist

    accum = args.global_batch // (args.micro_batch * (world // args.pipeline_stages))
    gen = torch.Generator().manual_seed(args.seed + rank)
    for index in range(args.steps):
        batches = [torch.randint(0, spec.vocab_size, (args.micro_batch, args.seq_len), generator=gen).to(device)
                   for _ in range(accum)]
        step = step_fn(args, engine, batches)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = tracer.run(step) if tracer is not None and index == args.steps - 1 else step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        slowest = torch.tensor([time.perf_counter() - start], dtype=torch.float64, device=device)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        times.append(float(slowest))
        losses.append(loss)
        if rank == 0:
            print(f"[baseline] step {len(times)}/{args.steps} loss {losses[-1]:.4f} time {times[-1]:.3f}s", flush=True)
        if stops_early(times, args.warmup, args.stop_above_s):
            break


def stops_early(times: list[float], warmup: int, above_s: float | None) -> bool:
    """True once the first timed step (the step after the warm-up) took longer than `above_s`: every
    rank sees the same all-reduced times, so all ranks stop together."""
    return above_s is not None and len(times) == warmup + 1 and times[-1] > above_s


def host_and_gpu(device) -> dict:
    import torch

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if device.type != "cuda":
        return {"alloc": 0, "reserved": 0, "rss": rss}
    return {"alloc": torch.cuda.max_memory_allocated(), "reserved": torch.cuda.max_memory_reserved(), "rss": rss}


def result(args, spec, status: str, message: str, times: list, losses: list, peaks: list[dict],
           world: int, device, failed_rank=None) -> dict:
    """RunReport fields (mist_ds.config.RunReport validates them) + the baseline config."""
    import deepspeed
    import torch

    from mist_ds.config import RunReport
    from mist_ds.config.profiles import load_hardware

    config = config_of(args)
    timed = times[args.warmup:]
    median = statistics.median(timed) if timed else None
    tokens = args.global_batch * args.seq_len
    on_gpu = device.type == "cuda"
    tokens_s = tokens / median if median else None
    tflops = spec.flops_per_token(args.seq_len) * tokens_s / world / 1e12 if tokens_s else None
    peak = load_hardware(args.hardware).peak_bf16_tflops if on_gpu else None
    report = RunReport.model_validate({
        "status": status, "error_message": message[:500],
        "plan_hash": "hf-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:13],
        "gpu_name": torch.cuda.get_device_name() if on_gpu else "cpu", "num_gpus": world,
        "torch_version": torch.__version__, "deepspeed_version": deepspeed.__version__,
        "num_steps": len(times), "num_warmup_steps": min(args.warmup, len(times)),
        "peak_allocated_bytes": [p["alloc"] for p in peaks] if on_gpu else [],
        "peak_reserved_bytes": [p["reserved"] for p in peaks] if on_gpu else [],
        "host_peak_rss_bytes": [p["rss"] for p in peaks], "iteration_times_s": timed,
        "median_iteration_time_s": median, "tokens_per_s": tokens_s, "achieved_tflops_per_gpu": tflops,
        "mfu": tflops / peak if (tflops and peak) else None, "losses": losses,
        "precision": "bf16" if on_gpu else "fp32", "hardware_name": args.hardware if on_gpu else "",
        "failed_rank": failed_rank,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}, strict=False)
    extra = {"stopped_early_above_s": args.stop_above_s} if stops_early(times[:args.warmup + 1], args.warmup,
                                                                          args.stop_above_s) else {}
    return {**json.loads(report.to_json()), "baseline_config": config, **extra}


def peer_oom(path) -> bool:
    """True when another rank already reported running out of memory."""
    try:
        return bool(path) and json.loads(Path(path).read_text()).get("status") == "oom"
    except (OSError, ValueError):
        return False


def write(path, data: dict) -> None:
    if path:
        from mist_ds.fileio import write_text_atomic

        write_text_atomic(Path(path), json.dumps(data, indent=2) + "\n")


def main(argv=None) -> None:
    args = parse_args(argv)
    import deepspeed
    import torch
    import torch.distributed as dist
    from deepspeed.accelerator import get_accelerator

    from mist_ds.config import ModelSpec, get_preset

    spec = ModelSpec.load(args.model) if args.model.endswith(".json") else get_preset(args.model)
    if args.max_seq_len:
        spec = spec.model_copy(update={"max_seq_len": args.max_seq_len})
    on_cpu = get_accelerator().device_name() == "cpu"
    deepspeed.init_distributed(dist_backend="gloo" if on_cpu else "nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    local = args.local_rank if args.local_rank is not None else int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cpu") if on_cpu else torch.device("cuda", local)
    if not on_cpu:
        torch.cuda.set_device(device)
        if args.cap_gib:
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_gib * 2**30 / total), device)
    times, losses, code = [], [], 0
    try:
        engine = build_engine(args, spec, ds_config(args, world, on_cpu), device,
                              torch.float32 if on_cpu else torch.bfloat16)
        tracer = None
        if args.trace_dir:
            from bench.runtime.trace_summary import Tracer

            tracer = Tracer(args.trace_dir, args.trace_name, rank, device.type == "cuda")
        train(args, engine, spec, device, world, rank, times, losses, tracer)
        if tracer is not None:
            tracer.write()
        peaks = [None] * world
        dist.all_gather_object(peaks, host_and_gpu(device))
        if rank == 0:
            write(args.report, result(args, spec, "ok", "", times, losses, peaks, world, device))
            print(f"[baseline] ok: median {statistics.median(times[args.warmup:]):.3f} s/iter", flush=True)
    except torch.OutOfMemoryError as err:
        write(args.report, result(args, spec, "oom", str(err).splitlines()[0], times, losses,
                                  [host_and_gpu(device)], world, device, failed_rank=rank))
        print(f"[baseline] rank {rank}: out of memory", file=sys.stderr, flush=True)
        code = EXIT_OOM
    except Exception as err:  # noqa: BLE001 - every failure becomes a result
        import traceback

        traceback.print_exc()
        time.sleep(3.0)  # often the echo of a peer's OOM: let the launcher stop us first
        if not peer_oom(args.report):
                write(args.report, result(args, spec, "error", f"{type(err).__name__}: {err}", times,
                                      losses, [host_and_gpu(device)], world, device, failed_rank=rank))
        code = EXIT_ERROR
    if code == 0:
        dist.barrier()
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
