"""Launched by `deepspeed` on CPU (gloo, fp32): train mistpipe cases and their stock-DeepSpeed
references in one set of processes; rank 0 writes {case: {losses, grad_norms, stats}}."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import weakref
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import deepspeed  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from mist_ds.emit.ds_config import build_ds_config  # noqa: E402
from mist_ds.runtime.data import TokenSource, micro_batches  # noqa: E402
from mist_ds.runtime.build import init_distributed, optimizer_config  # noqa: E402
from mist_ds.config.plan import MemoryStrategy  # noqa: E402
from mist_ds.runtime.mistpipe import StageMemory, build_mistpipe_engine  # noqa: E402
from mist_ds.runtime.model import BuildOptions  # noqa: E402
from mist_ds.runtime.pipeline_module import MistPipelineModule  # noqa: E402
from mist_ds.runtime.topology import MistMpu, make_topology  # noqa: E402
from tests.runtime.mistpipe_cases import CASES_2, CASES_4  # noqa: E402
from tests.runtime.plans import GPT, LLAMA, make_plan  # noqa: E402

CLIP = 0.4
MODELS = {"gpt": GPT, "llama": LLAMA}


def case_plan(case):
    """The plan of a case: stock DeepSpeed (ZeRO-1), or for memory "plan" a mistpipe plan whose
    stages carry their own settings."""
    stages = [dict(s) for s in case.stages]
    if case.memory != "plan":
        return make_plan(MODELS[case.model], stages, dp=case.dp, tp=case.tp)
    for stage, fields in zip(stages, case.plan_memory):
        stage["memory"] = MemoryStrategy(**fields)
    return make_plan(MODELS[case.model], stages, dp=case.dp, tp=case.tp, executor="mistpipe")


def build(case, lr: float):
    """(engine, plan, dp, dp_rank) for one case on this rank."""
    plan = case_plan(case)
    topology = make_topology(plan.num_stages, plan.dp, plan.tp)
    mpu = MistMpu(topology)
    opts = BuildOptions(tp_group=mpu.tp_group, dtype=torch.float32, device=torch.device("cpu"),
                        seed=1234)
    module = MistPipelineModule(plan, opts, topology)
    config, _ = optimizer_config(build_ds_config(plan, precision="fp32"), plan, lr, "torch")
    config["gradient_clipping"] = CLIP  # below the first steps' norms: clipping is exercised
    if case.memory is None:
        engine, _, _, _ = deepspeed.initialize(model=module, config=config,
                                               model_parameters=list(module.parameters()))
    else:
        stage = mpu.coord.pipe
        memory = StageMemory.from_plan(plan, stage) if case.memory == "plan" else case.memory[stage]
        engine = build_mistpipe_engine(module, memory, config, **dict(case.options))
    return engine, plan, plan.dp, mpu.get_data_parallel_rank()


def gather_stats(engine) -> list:
    runtime = getattr(engine, "stage_runtime", None)
    stats = [None] * dist.get_world_size()
    dist.all_gather_object(stats, runtime.stats() if runtime else None)
    return stats


def record_logits(engine) -> tuple[list, list]:
    """Weak references to every micro-batch's logits the last stage's loss is handed, and their widths (the
    vocabulary slice, or the hidden size with a fused head loss); empty elsewhere."""
    refs: list = []
    widths: list = []
    loss_fn = getattr(engine.module, "loss_fn", None)
    if engine.is_last_stage() and loss_fn is not None:
        def recording(outputs, labels):
            refs.append(weakref.ref(outputs))
            widths.append(outputs.shape[-1])
            return loss_fn(outputs, labels)
        engine.module.loss_fn = recording
    return refs, widths


def held_outputs(engine, logits: list) -> list:
    """Per rank: (last stage, how many of PipelineEngine's output buffers still hold a micro-batch's outputs,
    how many of the recorded logits (record_logits) anything still keeps alive)."""
    outputs = getattr(engine, "pipe_buffers", {}).get("outputs", [])
    gc.collect()
    held = [None] * dist.get_world_size()
    dist.all_gather_object(held, (engine.is_last_stage(), sum(o is not None for o in outputs),
                                  sum(ref() is not None for ref in logits)))
    return held


def run_case(case, steps: int, lr: float) -> dict:
    engine, plan, dp, dp_rank = build(case, lr if case.lr is None else case.lr)
    logits, widths = record_logits(engine)
    source = TokenSource(plan.model.vocab_size, plan.seq_len, seed=99)
    losses, norms = [], []
    for step in range(steps):
        batches = micro_batches(source, step, global_batch=plan.global_batch_size,
                                micro_batch=plan.micro_batch_size, dp=dp, dp_rank=dp_rank,
                                grad_accum=plan.grad_accum_steps, device=torch.device("cpu"))
        losses.append(float(engine.train_batch(data_iter=iter(batches))))
        norm = engine.get_global_grad_norm()
        norms.append(None if norm is None else float(norm))
        if step == 0:
            first_stats = gather_stats(engine)
    stats = gather_stats(engine)
    held = held_outputs(engine, logits)
    loss_widths = [None] * dist.get_world_size()
    dist.all_gather_object(loss_widths, sorted(set(widths)))
    engine.destroy()
    del engine
    gc.collect()
    return {"losses": losses, "grad_norms": norms, "stats": stats, "stats_after_step_1": first_stats,
            "held_outputs": held, "loss_input_widths": loss_widths}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--local_rank", type=int, default=0)
    args = parser.parse_args()
    init_distributed()
    gc.freeze()  # torch's and deepspeed's objects stay out of each case's gc.collect() (0.3 s a call)
    cases = {**CASES_2, **CASES_4}
    results = {name: run_case(cases[name], args.steps, args.lr) for name in args.cases.split(",")}
    if dist.get_rank() == 0:
        Path(args.out).write_text(json.dumps(results, indent=1))
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
