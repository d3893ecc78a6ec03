"""One profiler process per GPU: run the sections, gather the records on rank 0, write raw + profile.

Phase A (single-GPU sections) is spread over the first node's GPUs; phase B (collectives, copies,
interference) needs every rank; phase C (CPU Adam) runs on rank 0 alone with the GPUs idle.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from mist_ds.gpuinfo import driver_version, host_cpu_cores

LOCAL_SECTIONS = ("matmul", "layers", "attention", "memory")
NODE_SECTIONS = ("collectives", "copies", "writeback", "interference")
ALL_SECTIONS = LOCAL_SECTIONS + NODE_SECTIONS + ("cpu_adam",)


class Env:
    """Rank layout from the launcher's environment (torchrun / deepspeed), or a single process."""

    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        # torchrun sets LOCAL_WORLD_SIZE, the deepspeed launcher LOCAL_SIZE
        local = os.environ.get("LOCAL_WORLD_SIZE") or os.environ.get("LOCAL_SIZE") or str(self.world)
        self.local_world = int(local)


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def collect_meta(env: Env, cuda: bool, host_memory_gib: float | None, command: str, quick: bool) -> dict[str, Any]:
    """Provenance and node facts (card, driver, versions, memory, cores, how attention is timed)."""
    import psutil
    import torch

    from mist_ds.profile.compute import ATTENTION_GATE_S

    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), "command": command,
        "world_size": env.world, "local_world_size": env.local_world, "quick": quick,
        "host_cpu_cores": host_cpu_cores(),
        "host_memory_bytes": int(host_memory_gib * 2**30) if host_memory_gib else psutil.virtual_memory().total,
        "card": "", "driver": "", "gpu_memory_bytes": None, "section_wall_s": {},
        "attention_gate_s": ATTENTION_GATE_S,
    }
    software = f"torch {torch.__version__}, deepspeed {_version('deepspeed')}"
    if cuda:
        nccl = ".".join(str(v) for v in torch.cuda.nccl.version())
        meta.update(card=torch.cuda.get_device_name(), gpu_memory_bytes=torch.cuda.mem_get_info()[1],
                    driver=f"driver {driver_version() or 'unknown'}, CUDA {torch.version.cuda}")
        software += f", NCCL {nccl}"
    meta["software"] = software
    return meta


def _guarded(raw: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    """Run one section; a failure is recorded in raw['errors'] instead of losing the others."""
    t0 = time.perf_counter()
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - recorded in the profile's notes
        raw["errors"][name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        return None
    finally:
        raw.setdefault("meta", {}).setdefault("section_wall_s", {})[name] = round(time.perf_counter() - t0, 1)


def _progress(enabled: bool):
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<34}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), transient=False)


def _ticker(progress, label: str, total: int) -> Callable[[], None]:
    if progress is None:
        return lambda: None
    task = progress.add_task(label, total=total)
    return lambda: progress.advance(task)


def write_raw(raw: dict[str, Any], path: Path) -> None:
    """Atomic JSON write of the raw measurements."""
    import json

    from mist_ds.fileio import write_text_atomic

    write_text_atomic(path, json.dumps(raw, indent=1, sort_keys=True) + "\n")


def run_sections(sections: list[str], quick: bool, raw_path: Path, host_memory_gib: float | None,
                 command: str) -> dict[str, Any] | None:
    """Measure on this rank; return the raw dict on rank 0 (None elsewhere)."""
    import torch

    from mist_ds.profile import cpu_adam as cpu
    from mist_ds.profile.grids import make_grids

    env, cuda = Env(), torch.cuda.is_available()
    grids = make_grids(quick)
    t0 = time.perf_counter()
    build = cpu.start_build() if env.rank == 0 and "cpu_adam" in sections else None
    dev = _init(env) if cuda else None
    raw: dict[str, Any] = {"meta": collect_meta(env, cuda, host_memory_gib, command, quick), "errors": {}}
    with _progress(env.rank == 0) as progress:
        if cuda:
            _phase_local(raw, sections, grids, quick, dev, env, progress)
            if env.rank == 0:
                write_raw(raw, raw_path)
            _phase_node(raw, sections, grids, quick, dev, env, progress)
        if "cpu_adam" in sections and env.rank == 0:
            cores = raw["meta"]["host_cpu_cores"]
            tick = _ticker(progress, "CPU Adam (threads)", len(cpu.thread_counts(cores)))
            rates, beside = _guarded(raw, "cpu_adam", lambda: cpu.cpu_adam(
                grids.cpu_adam_params, cores, 5, build, tick)) or ([], None)
            raw["cpu_adam"] = rates
            if beside is not None:
                raw["cpu_step_beside_d2h"] = beside
    raw["meta"]["wall_s"] = round(time.perf_counter() - t0, 1)
    if env.world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return raw if env.rank == 0 else None


def _init(env: Env):
    import datetime

    import torch
    import torch.distributed as dist

    torch.cuda.set_device(env.local_rank)
    dev = torch.device("cuda", env.local_rank)
    if env.world > 1:  # 900 s: other ranks wait at a barrier while rank 0 may still build CPU Adam
        dist.init_process_group("nccl", timeout=datetime.timedelta(seconds=900), device_id=dev)
    return dev


def _phase_local(raw, sections, grids, quick, dev, env, progress) -> None:
    """Single-GPU sections, dealt round-robin over the first node's GPUs, gathered on rank 0."""
    from mist_ds.profile import compute, layers

    local = [s for s in LOCAL_SECTIONS if s in sections]
    mine = [s for i, s in enumerate(local) if env.rank < env.local_world and i % env.local_world == env.local_rank]
    sizes = {"matmul": len(grids.matmul_m) * len(grids.matmul_nk) ** 2, "attention": len(grids.attention),
             "memory": 9, "layers": len(layers.QUICK_SHAPES if quick else layers.FULL_SHAPES)}
    runners = {
        "matmul": lambda t: compute.matmul_grid(grids, dev, t),
        "attention": lambda t: compute.attention(grids, dev, t),
        "memory": lambda t: compute.memory_kernels(grids, dev, t),
        "layers": lambda t: layers.layer_times(quick, dev, grids.repeats, grids.warmup, t),
    }
    results: dict[str, Any] = {"errors": {}, "meta": {"section_wall_s": {}}}
    for name in mine:
        label = f"{name} (GPU {env.local_rank})"
        value = _guarded(results, name, lambda: runners[name](_ticker(progress, label, sizes[name])))
        if name == "memory" and value is not None:
            results["memory"], results["gpu_adam"] = value
        elif value is not None:
            results[name] = value
    gathered = [results]
    if env.world > 1:
        import torch.distributed as dist

        gathered = [None] * env.world
        dist.all_gather_object(gathered, results)
    for part in gathered:
        raw["errors"].update(part.pop("errors"))
        raw["meta"]["section_wall_s"].update(part.pop("meta")["section_wall_s"])
        raw.update(part)


def _phase_node(raw, sections, grids, quick, dev, env, progress) -> None:
    """Sections every rank takes part in."""
    from mist_ds.profile import comm
    from mist_ds.profile.grids import inter_node_groups, intra_node_groups
    from mist_ds.profile.interference import interference

    if "collectives" in sections and env.world > 1:
        groups = [(g, "intra_node") for g in intra_node_groups(env.local_world)]
        groups += [(g, "inter_node") for g in inter_node_groups(env.world, env.local_world)]
        tick = _ticker(progress, f"NCCL ({len(groups)} groups)", 4 * len(groups))
        raw["collectives"] = _guarded(raw, "collectives", lambda: comm.collectives(groups, grids, dev, tick)) or []
    if "copies" in sections:
        tick = _ticker(progress, "pinned H2D/D2H", 2 * (2 if env.local_world > 1 else 1))
        raw["copies"] = _guarded(raw, "copies", lambda: comm.copies(grids, dev, env.local_world, tick)) or []
    if "writeback" in sections:
        from mist_ds.profile.writeback import staged_upload

        tick = _ticker(progress, "staged write-back", 2 if env.local_world > 1 else 1)
        raw["writeback"] = _guarded(raw, "writeback", lambda: staged_upload(
            dev, env.local_world, grids.writeback_sub_groups, grids.repeats, tick)) or []
    if "interference" in sections:
        n = 11 if env.world > 1 else 4
        tick = _ticker(progress, "interference (channel sets)", n)
        raw["interference"] = _guarded(raw, "interference", lambda: interference(
            dev, env.world > 1, 0.01 if quick else 0.03, 3 if quick else 5, tick)) or []
