"""Measure the model-state bytes a real DeepSpeed engine holds per rank (CPU, gloo, 2 ranks).

`python tests/cost/ds_state_probe.py PLAN.json... OUT.json PORT` spawns 2 ranks. For every plan
each rank builds the runtime's own model (mist_ds.runtime.model.MistModel) in bf16, wraps it with
deepspeed.initialize and the ds_config of mist_ds.emit.ds_config, and runs two optimizer steps.
In the second step it measures after the last micro-batch's backward ('backward', before
engine.step()) and inside the torch optimizer's step() ('step', the step-time peak): every tensor
reachable from the engine (attributes, containers, .grad) plus the torch optimizer's params and
state, each storage counted once, split into 'host' (what DeepSpeed keeps in CPU memory under
optimizer offload, by the attribute that holds it: HOST_SIDE) and 'device' (the rest).
Writes a JSON list (one entry per plan) from rank 0.
"""

from __future__ import annotations

import gc
import json
import os
import sys


def _reachable_tensors(root, paths: dict | None = None) -> list:
    """Every tensor reachable from `root` through attributes, containers and .grad (the state one
    engine holds; gc would also see tensors leaked by engines built earlier in the process).
    `paths`, if given, receives id(tensor) -> the first attribute path that reached it."""
    import types

    import torch

    skip = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, str, bytes,
            int, float, bool, type(None))
    seen, stack, tensors = set(), [(root, "engine")], []
    while stack:
        obj, path = stack.pop()
        if isinstance(obj, skip) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            tensors.append(obj)
            if paths is not None:
                paths[id(obj)] = path
            stack.append((obj.grad, path + ".grad"))
            stack.extend((v, f"{path}.{k}") for k, v in vars(obj).items())
        elif isinstance(obj, dict):
            stack.extend((key, path + "{key}") for key in obj)
            stack.extend((v, f"{path}[{str(key)[:20]}]") for key, v in obj.items())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(obj))
        elif hasattr(obj, "__dict__"):
            stack.extend((v, f"{path}.{k}") for k, v in vars(obj).items())
    return tensors


# Attributes DeepSpeed allocates on the host under optimizer offload (stage_1_and_2.py:
# single_partition_of_fp32_groups, temp_grad_buffer_for_cpu_offload, accumulated_grads_in_cpu,
# param_buffer_of_bit16_for_cpu_offload_groups, offload_gradient_dict; stage3.py:
# fp32_partitioned_groups_flat, grad_partitions_flat_buffer on self.device = cpu; the CPU Adam
# state). On a CPU-accelerator run every tensor is on the host, so placement is read from these.
HOST_SIDE = ("single_partition_of_fp32_groups", "_hp_mapping.hp_fragment",
             "_hp_mapping.optim_fragment", "optimizer.state",
             "offload_gradient_dict", "temp_grad_buffer_for_cpu_offload", "accumulated_grads_in_cpu",
             "param_buffer_of_bit16_for_cpu_offload", "fp32_partitioned_groups_flat",
             "grad_partitions_flat_buffer", "__param_id_to_grad_partition")


def _measure(engine, basic, offload: bool) -> dict[str, int]:
    """Bytes of distinct storages the engine holds, split into device and (offload) host side."""
    import torch

    paths: dict = {}
    tensors = _reachable_tensors(engine, paths)
    for group in basic.param_groups:        # the torch optimizer's own view (ZeRO-3 swaps these in)
        for param in group["params"]:
            extra = [param, param.grad] + [v for v in basic.state.get(param, {}).values()
                                           if isinstance(v, torch.Tensor)]
            for tensor in extra:
                if tensor is not None:
                    tensors.append(tensor)
                    paths.setdefault(id(tensor), "optimizer.state")
    sizes, host = {}, set()
    for tensor in tensors:
        storage = tensor.untyped_storage()
        if tensor.device.type == "meta" or not storage.nbytes():
            continue
        sizes[storage.data_ptr()] = storage.nbytes()
        if offload and any(name in paths.get(id(tensor), "") for name in HOST_SIDE):
            host.add(storage.data_ptr())
    if os.environ.get("PROBE_DUMP") and int(os.environ["RANK"]) == 0:
        for tensor in tensors:
            if tensor.untyped_storage().nbytes() >= 4096:
                print("DUMP", tensor.untyped_storage().nbytes(), tensor.dtype, tuple(tensor.shape),
                      paths.get(id(tensor), "?")[:140], flush=True)
    return {"device": sum(v for k, v in sizes.items() if k not in host),
            "host": sum(v for k, v in sizes.items() if k in host)}


def _probe_plan(plan_path: str) -> dict:
    import deepspeed
    import torch

    from mist_ds.config import Plan
    from mist_ds.emit.ds_config import build_ds_config
    from mist_ds.runtime.model import BuildOptions, MistModel
    from mist_ds.runtime.pipeline_module import plan_roles

    plan = Plan.load(plan_path)
    torch.manual_seed(0)
    model = MistModel(plan.model, BuildOptions(dtype=torch.bfloat16), plan_roles(plan))
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=list(model.parameters()),
                                           config=build_ds_config(plan))
    basic = engine.optimizer.optimizer if hasattr(engine.optimizer, "optimizer") else engine.optimizer
    offload = plan.memory.offload_optimizer_ratio > 0
    result = {"optimizer_class": type(engine.optimizer).__name__}
    original_step = basic.step

    def measuring_step(*args, **kwargs):
        out = original_step(*args, **kwargs)
        result["step"] = _measure(engine, basic, offload)
        return out

    seq, batch = plan.seq_len, plan.micro_batch_size
    for step in range(2):
        for micro in range(plan.grad_accum_steps):
            tokens = torch.randint(0, plan.model.vocab_size, (batch, seq))
            loss = engine(tokens, tokens)
            engine.backward(loss)
            del loss
            if step == 1 and micro == 0 and plan.grad_accum_steps > 1:
                result["accumulating"] = _measure(engine, basic, offload)
            if step == 1 and micro == plan.grad_accum_steps - 1:
                result["backward"] = _measure(engine, basic, offload)
                basic.step = measuring_step
            engine.step()
    engine.destroy() if hasattr(engine, "destroy") else None
    del engine, model, basic
    gc.collect()
    return result


def _worker(rank: int, plan_paths: list[str], out_path: str, port: int) -> None:
    os.environ.update(DS_ACCELERATOR="cpu", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    import deepspeed
    import torch.distributed as dist

    deepspeed.init_distributed(dist_backend="gloo")
    gc.freeze()  # torch's and deepspeed's objects stay out of each plan's gc.collect() (0.3 s a call)
    results = [_probe_plan(path) for path in plan_paths]
    if rank == 0:
        with open(out_path, "w") as handle:
            json.dump(results, handle)
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    import torch.multiprocessing as mp

    *plan_paths, out_path, port = sys.argv[1:]
    mp.start_processes(_worker, args=(plan_paths, out_path, int(port)), nprocs=2,
                       start_method="spawn")


if __name__ == "__main__":
    main()
