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
                  local_rank: int) -> tuple[dict[str, Any] | None, tuple[float, float] | None, str]:
    """(ds_config with its paths priced on this machine, the measured (h2d, d2h) pair, why a re-priced path
    was not taken or ''); the inputs unchanged, None and '' where nothing has a path to choose or no GPU is
    present. A re-priced path is taken only where the plan still fits on it: the GPU (gpu_fits) and every
    node's available host memory (runtime/host_check.py; the host's Adam holds 18 B per offloaded element
    on the host against the swap's 12-16, cost/mistpipe_state.py host_allocated_bytes). `ds_config` None:
    the one the runtime would build from the plan (emit/ds_config.py build_ds_config)."""
    import torch

    if not needs_probe(plan) or not torch.cuda.is_available():
        return ds_config, None, ""
    from mist_ds.config.machine import with_copy_slowdowns
    from mist_ds.emit.ds_config import build_ds_config, with_machine_paths
    from mist_ds.runtime.host_check import check_host_memory

    pair = measured_pair(torch.device("cuda", local_rank))
    machine = with_copy_slowdowns(hardware, *pair)
    config = ds_config if ds_config is not None else build_ds_config(plan)
    repriced = with_machine_paths(plan, config, machine)
    if repriced == config:
        return config, pair, ""
    prediction = machine_prediction(plan, machine)
    # collective, the same on every rank (every rank priced the same pair): the node's memory now
    host_short = check_host_memory(plan.model_copy(update={"prediction": prediction}), local_rank)
    if host_short is not None:
        return config, pair, f"the re-priced path is not taken, {host_short.removeprefix('host memory: ')}"
    if not gpu_fits(plan, prediction, machine):
        return config, pair, "the re-priced path is not taken: its GPU peak would pass the plan's memory bound"
    return repriced, pair, ""


def machine_prediction(plan: Plan, machine: HardwareProfile):
    """The plan's prediction on the profile made to this machine, each stage on the path the rule picks there
    (where a ds_config path was set by hand, the rule's path stands in for it)."""
    from mist_ds.cost.plan_predict import predict_plan

    return predict_plan(plan.without_prediction(), machine)


def gpu_fits(plan: Plan, prediction, machine: HardwareProfile) -> bool:
    """Whether every stage's predicted GPU peak on the re-priced paths stays within what the plan was
    chosen under: its own predicted peak, or the cap less the search's memory margin (search/driver.py
    DEFAULT_MEMORY_MARGIN_RATIO). The host's Adam holds less on the device than the swap (no swap slots),
    so this guards the other direction and hand-written plans; the host side is check_host_memory's."""
    from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO

    cap = (plan.gpu_memory_cap_bytes or machine.gpu_memory_bytes) * (1 - DEFAULT_MEMORY_MARGIN_RATIO)
    was = ([s.peak_memory_bytes for s in plan.prediction.stages] if plan.prediction is not None
           else [0] * len(prediction.stages))
    return all(new.peak_memory_bytes <= max(cap, old) for new, old in zip(prediction.stages, was))


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
