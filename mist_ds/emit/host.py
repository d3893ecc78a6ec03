"""Host memory in report.md: the node limits a search used, where each came from, and the plan's
host headroom per node (issue 18: an offload plan predicted at 95% of its node's memory was killed)."""

from __future__ import annotations

from mist_ds.config import Plan
from mist_ds.config.request import HostLimits, host_need_bytes
from mist_ds.emit.readable import bytes_text


# Nodes listed one per row in report.md; beyond this, only the fullest.
MAX_NODE_ROWS = 8


def node_offload_bytes(plan: Plan) -> list[list[int]]:
    """Per node, the predicted host bytes of each of its GPU processes: stages hold consecutive rank
    blocks of dp x tp ranks (cost/groups.py stage_first_gpu), nodes consecutive blocks of
    gpus_per_node ranks."""
    per_rank = [sp.cpu_memory_bytes for sp in plan.prediction.stages for _ in range(plan.gpus_per_stage)]
    size = plan.cluster.gpus_per_node
    return [per_rank[start:start + size] for start in range(0, len(per_rank), size)]


def _source(from_profile: bool, host: HostLimits, flag: str) -> str:
    return f"hardware profile `{host.profile_name}`; {flag} overrides" if from_profile else flag


def host_lines(plan: Plan, host: HostLimits) -> list[str]:
    """## Host: the node limits used (and where they came from) and the plan's host headroom per node."""
    lines = ["## Host (per node)", "",
             f"- memory {bytes_text(host.memory_bytes)} "
             f"({_source(host.memory_from_profile, host, '--host-memory-gb')}), "
             f"CPU cores {host.cpu_cores} ({_source(host.cores_from_profile, host, '--cpu-cores')}); a process that "
             f"offloads keeps {bytes_text(host.margin_bytes)} free beyond its predicted offloaded state "
             f"(--host-memory-margin), and the node keeps {host.free_fraction:.0%} of its memory free "
             f"(--host-memory-free): offloaded state may take {bytes_text(host.usable_bytes)}.", ""]
    nodes = node_offload_bytes(plan)
    if not any(any(node) for node in nodes):
        return lines + ["The plan offloads nothing to host memory.", ""]
    lines += ["| node | offloaded state | with margin | headroom |", "|---|---|---|---|"]
    needs = node_need_bytes(plan, host)
    shown = range(len(nodes)) if len(nodes) <= MAX_NODE_ROWS else [max(range(len(nodes)), key=needs.__getitem__)]
    for index in shown:
        label = str(index) if len(nodes) <= MAX_NODE_ROWS else f"fullest of {len(nodes)} (node {index})"
        lines.append(f"| {label} | {bytes_text(sum(nodes[index]))} | {bytes_text(needs[index])} | "
                     f"{bytes_text(host.usable_bytes - needs[index])} |")
    return lines + [""]


def node_need_bytes(plan: Plan, host: HostLimits) -> list[float]:
    """Per node, the host memory the plan needs: each process's offloaded state plus the margin of
    each process that offloads (config/request.py host_need_bytes)."""
    return [sum(float(host_need_bytes(b, host.margin_bytes, 1)) for b in ranks) for ranks in node_offload_bytes(plan)]
