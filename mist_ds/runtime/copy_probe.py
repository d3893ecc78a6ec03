"""Start-up probe of this machine's both-ways copies, and the optimizer paths they price.

A mistpipe stage that offloads optimizer state updates it on the path the cost model priced faster on the
profile (cost/mistpipe_step.py optimizer_path: the GPU swap streams the states both ways at once, the host's
Adam mostly one way at a time). Machines of one kind differ in the both-ways rate (config/machine.py:
31.8-33.9 vs 49.0-50.1 GB/s per direction on 1-GPU H100 nodes, the swap plan 10% slower on the first), so
before the engine is built every rank measures h2d's and d2h's slowdown beside each other on its GPU
(profile/interference.py copy_pair_slowdowns, about 1.5 s), the ranks take the largest, and each stage whose
ds_config path is the cost model's own choice is re-priced on the profile made to that pair
(emit/ds_config.py with_machine_paths). The pair goes into RunReport.copy_slowdowns, with which the accuracy
report, compare and calibrate price the run (cost/conditions.py RunConditions.of_run, applied by predict_plan).
"""

from __future__ import annotations

from typing import Any

from mist_ds.config import HardwareProfile, Plan


def needs_probe(plan: Plan) -> bool:
    """Whether a stage of `plan` has an optimizer path to choose (mistpipe, optimizer state offloaded)."""
    return plan.executor == "mistpipe" and any(
        plan.stage_memory(i).offload_optimizer_ratio > 0 for i in range(plan.num_stages))


def probed_config(plan: Plan, ds_config: dict[str, Any] | None, hardware: HardwareProfile,
                  local_rank: int) -> tuple[dict[str, Any] | None, tuple[float, float] | None]:
    """(ds_config with its paths priced on this machine, the measured (h2d, d2h) pair); the inputs
    unchanged and None where nothing has a path to choose or no GPU is present. `ds_config` None: the
    one the runtime would build from the plan (emit/ds_config.py build_ds_config)."""
    import torch

    if not needs_probe(plan) or not torch.cuda.is_available():
        return ds_config, None
    from mist_ds.config.machine import with_copy_slowdowns
    from mist_ds.emit.ds_config import build_ds_config, with_machine_paths

    pair = measured_pair(torch.device("cuda", local_rank))
    config = ds_config if ds_config is not None else build_ds_config(plan)
    return with_machine_paths(plan, config, with_copy_slowdowns(hardware, *pair)), pair


def measured_pair(device) -> tuple[float, float]:
    """(h2d, d2h) slowdowns beside each other on `device`, the largest over the ranks (every rank
    measures at once); the probe's buffers are returned to the device before the model is built."""
    import torch
    import torch.distributed as dist

    from mist_ds.profile.interference import copy_pair_slowdowns

    with torch.cuda.device(device):  # the gate's sleep, streams and cache on this rank's GPU (set_device comes later)
        pair = torch.tensor(copy_pair_slowdowns(device), dtype=torch.float64, device=device)
        if dist.is_initialized():
            dist.all_reduce(pair, op=dist.ReduceOp.MAX)
        h2d, d2h = (float(x) for x in pair.cpu())
        release_probe_memory(device)
    return h2d, d2h


def release_probe_memory(device) -> None:
    """Hand the probe's cached device blocks and pinned host blocks back, and restart the peak counters
    they moved, so RunReport's memory peaks are the training's alone (torch's private host-cache call:
    torch._C._host_emptyCache on 2.11, _accelerator_emptyHostCache on 2.13; absent: kept cached)."""
    import torch

    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    for name in ("_host_emptyCache", "_accelerator_emptyHostCache"):
        if hasattr(torch._C, name):
            getattr(torch._C, name)()
            break
    reset_host = getattr(torch.cuda, "reset_peak_host_memory_stats", None)
    if reset_host is not None:
        reset_host()


def path_changes(plan: Plan, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One line: each offloading stage's optimizer path before and after the probe."""
    from mist_ds.emit.ds_config import PATH_KEYS, build_ds_config

    def paths(config):
        stages = ((config if config is not None else build_ds_config(plan)).get("mistpipe") or {}).get("stages")
        return [s.get(PATH_KEYS[0]) if isinstance(s, dict) else None for s in stages or []]

    pairs = [(i, a, b) for i, (a, b) in enumerate(zip(paths(before), paths(after))) if a or b]
    return "optimizer path " + ", ".join(f"stage {i} {a}" + (f" -> {b}" if b != a else " kept")
                                         for i, a, b in pairs)
