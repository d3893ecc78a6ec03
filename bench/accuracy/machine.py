"""Facts about the machine a batch runs on, and DeepSpeed's JIT ops built before any timed run.

Nothing here touches CUDA: the GPUs are read with nvidia-smi, versions with importlib.metadata, so
the runner process never holds GPU memory the runs need.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

from mist_ds.runtime.measure import read_meminfo

GPU_QUERY = "index,name,memory.total,driver_version"
# DeepSpeed's op builders: FusedAdam for every GPU plan, CPUAdam for optimizer offload.
OP_BUILDERS = {"fused_adam": "FusedAdamBuilder", "cpu_adam": "CPUAdamBuilder"}


def on_cpu() -> bool:
    """DS_ACCELERATOR=cpu: the CPU test set-up (gloo ranks stand in for GPUs)."""
    return os.environ.get("DS_ACCELERATOR") == "cpu"


def nvidia_smi_gpus() -> list[dict]:
    """One dict per GPU (index, name, memory.total, driver_version); [] without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={GPU_QUERY}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    keys = GPU_QUERY.split(",")
    return [dict(zip(keys, (part.strip() for part in line.split(",")))) for line in out.splitlines() if line.strip()]


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def machine_info() -> dict:
    """Card, driver, host, software and date: what the bundle records once per batch."""
    gpus = nvidia_smi_gpus()
    mem = read_meminfo()
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "gpus": gpus,
        "gpu_name": gpus[0]["name"] if gpus else "cpu",
        "driver_version": gpus[0]["driver_version"] if gpus else "",
        "host": platform.node(), "cpu_count": os.cpu_count(),
        "host_mem_total_bytes": mem.get("MemTotal"),
        "python": platform.python_version(), "torch": version("torch"),
        "deepspeed": version("deepspeed"), "transformers": version("transformers"),
        "env": {key: os.environ.get(key, "") for key in
                ("TORCH_CUDA_ARCH_LIST", "NCCL_NVLS_ENABLE", "PYTORCH_CUDA_ALLOC_CONF", "DS_ACCELERATOR")},
    }


def start_op_builds(names: list[str]) -> dict[str, tuple[subprocess.Popen, float]]:
    """Start building DeepSpeed's JIT ops in parallel child processes (torch's extension cache,
    ~/.cache/torch_extensions, makes a later load() in a run free; a warm machine skips the build)."""
    started = {}
    for name in names:
        code = (f"from deepspeed.ops.op_builder import {OP_BUILDERS[name]} as B; B().load(); "
                "print('built')")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        started[name] = (proc, time.monotonic())
    return started


def finish_op_builds(started: dict[str, tuple[subprocess.Popen, float]], timeout_s: float) -> dict:
    """Wait for the builds; {name: {ok, seconds, tail}}. A failed build is recorded, not raised: the
    runs then fail (and say why) or fall back as the runtime decides."""
    results = {}
    for name, (proc, start) in started.items():
        try:
            out, _ = proc.communicate(timeout=max(1.0, timeout_s - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        results[name] = {"ok": proc.returncode == 0, "seconds": round(time.monotonic() - start, 1),
                         "tail": (out or "")[-2000:]}
    return results
