"""What a prediction takes from outside its hardware profile's measurements: collectives over groups the
profiler did not time on the profiled node (extrapolated by config/hw_lookup.py, borrowed from another
profile, or assumed), NCCL overlapping compute and copies on a profile that measured no such set, a node with more
GPUs than the profiled one sharing its host, and mistpipe's host Adam
step beside the gradient copies on a profile that did not measure it. One sentence in
autotune's table, report.md and predict, a list in their --json, so a user knows which parts of a
prediction no measurement stands behind."""

from __future__ import annotations

from mist_ds.config import HardwareProfile, Plan
from mist_ds.config.hardware import CollectiveFit
from mist_ds.cost.groups import Group, plan_groups


def measured_groups(hw: HardwareProfile) -> frozenset[Group]:
    """(scope, ranks) groups the profiler timed on the profiled node: a fitted (not datasheet) collective
    at a group size the profile's provenance lists as covered."""
    covered = set(hw.provenance.group_sizes_covered)
    return frozenset((f.scope, f.group_size) for f in hw.collectives
                     if f.fit_rel_error is not None and f.group_size in covered)


def _fits_at(hw: HardwareProfile, group: Group) -> list[CollectiveFit]:
    return [f for f in hw.collectives if (f.scope, f.group_size) == group]


def _scope_text(group: Group) -> str:
    where = "between nodes" if group[0] == "inter_node" else "inside a node"
    return f"collectives over {group[1]} ranks {where}"


def group_gap(hw: HardwareProfile, group: Group) -> str:
    """Why `group`'s collective times are not a measurement on the profiled node."""
    fits = _fits_at(hw, group)
    if not fits:
        sizes = ", ".join(str(n) for n in sorted({f.group_size for f in hw.collectives if f.scope == group[0]}))
        return (f"{_scope_text(group)} are extrapolated from the profile's fits at {sizes} ranks "
                "(config/hw_lookup.py: bus bandwidth kept, latency scaled by ring steps)")
    if all(f.fit_rel_error is None for f in fits):
        return f"{_scope_text(group)} use assumed (datasheet) rates"
    return f"{_scope_text(group)} use fits the profiler did not measure on this node (its provenance notes say whence)"


def nccl_overlap_gap(plan: Plan, hw: HardwareProfile) -> str | None:
    """NCCL's interference, when the plan runs collectives and the profile measured no overlapping set with
    NCCL in it (a 1-GPU node's): config/hw_lookup.py interference_slowdowns counts unknown pairs as 1."""
    if not plan_groups(plan) or any("nccl" in f.channels for f in hw.interference):
        return None
    return "collectives overlapping compute and copies are priced without slowdown (no overlap with NCCL measured)"


def host_step_gap(plan: Plan, hw: HardwareProfile) -> str | None:
    """The host step's defaults, when a mistpipe stage updates its offloaded optimizer states on the host
    (cost/mistpipe_step.py stage_optimizer_paths: cpu_adam) and the profile did not measure that step
    beside the copies (config/hardware.py cpu_step_per_adam, cpu_step_d2h_slowdown)."""
    if plan.executor != "mistpipe" or (hw.cpu_step_per_adam is not None and hw.cpu_step_d2h_slowdown is not None):
        return None
    from mist_ds.cost.mistpipe_step import stage_optimizer_paths

    if all(path != "cpu_adam" for path, _ in stage_optimizer_paths(plan, hw)):
        return None
    return ("mistpipe's host Adam step with its cast back, and its slowdown beside the gradient copies, take the cost "
            "model's defaults")


def unmeasured_parts(plan: Plan, hw: HardwareProfile) -> list[str]:
    """The parts of `plan`'s prediction on `hw` that rest on no measurement of the profiled node."""
    measured = measured_groups(hw)
    parts = [group_gap(hw, g) for g in sorted(plan_groups(plan), key=lambda g: (g[0], g[1])) if g not in measured]
    per_node = plan.cluster.gpus_per_node
    if per_node > hw.num_gpus_per_node and plan.uses_host_memory:
        parts.append(f"the host side of a node of {per_node} GPUs (CPU cores, host memory, pinned-copy rates with "
                     f"{per_node} GPUs copying at once) is the profiled {hw.num_gpus_per_node}-GPU node's "
                     "(autotune's --cpu-cores and --host-memory-gb set the first two)")
    return parts + [gap for gap in (nccl_overlap_gap(plan, hw), host_step_gap(plan, hw)) if gap is not None]


def unmeasured_line(plan: Plan, hw: HardwareProfile) -> str | None:
    """One sentence listing unmeasured_parts (None when every part is measured), with how to measure them."""
    parts = unmeasured_parts(plan, hw)
    if not parts:
        return None
    gpus = f"{hw.num_gpus_per_node} GPU{'s' if hw.num_gpus_per_node > 1 else ''}"
    return (f"Not measured on {hw.name}'s node ({gpus} profiled): " + "; ".join(parts)
            + ". python -m mist_ds.profile on a node like the plan's measures them (under deepspeed --hostfile, "
            "the collectives between nodes too).")
