"""The node facts run files and profiles record beside every number: the GPU driver version and the host's
CPU cores (a number is recorded with card, driver, date and the node it ran on); and `--hardware auto`,
the shipped profile of the node the CLI runs on."""

from __future__ import annotations

import os
import subprocess

AUTO_HARDWARE = "auto"
"""The --hardware value that names this node's profile (hardware_arg)."""


def _nvidia_smi_first(field: str) -> str:
    """`field` of the first GPU nvidia-smi lists; '' where nvidia-smi is absent, fails or lists none."""
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.split("\n")[0].strip() if out.returncode == 0 else ""


def driver_version() -> str:
    """The first GPU's driver version from nvidia-smi; '' where nvidia-smi is absent or fails."""
    return _nvidia_smi_first("driver_version")


def local_gpu_name() -> str | None:
    """The first local GPU's name as torch reports it ('NVIDIA H200'), or None where none is visible.
    nvidia-smi first (same names as torch.cuda.get_device_name): it leaves this process without a CUDA
    context, so a later fork (a launcher, a profiler's workers) still works, and spares importing torch;
    torch.cuda only where nvidia-smi is absent (that initializes CUDA here, hence last)."""
    name = _nvidia_smi_first("name")
    if name:
        return name
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def host_cpu_cores() -> int:
    """The node's physical CPU cores (psutil; logical CPUs where it cannot tell): what a hardware profile
    records as host_cpu_cores and a RunReport as host_cpu_cores, so a run can be matched with the profile
    of the node kind it ran on (config/profiles.py profile_for_gpu)."""
    try:
        import psutil
    except ImportError:
        return os.cpu_count() or 1
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def host_cpu_model() -> str:
    """The node's CPU model name (/proc/cpuinfo's first `model name`, else platform.processor()); "" where
    neither tells: RunReport.host_cpu_model, so host-bound runs on machines of one kind can be told apart."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name") and ":" in line:
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    import platform

    return platform.processor()


L3_SIZE_FILE = "/sys/devices/system/cpu/cpu0/cache/index3/size"


def host_l3_bytes(size_file: str = L3_SIZE_FILE) -> int | None:
    """Bytes of the last-level (L3) cache CPU 0 shares (sysfs cache/index3/size, e.g. '48M' or '49152K');
    None where sysfs does not tell: RunReport.host_l3_bytes."""
    try:
        with open(size_file) as f:
            text = f.read().strip()
    except OSError:
        return None
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    try:
        size = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
    except ValueError:
        return None
    return size if size > 0 else None


def hardware_arg(name_or_path: str) -> str:
    """A --hardware value as given, or for 'auto' the shipped profile of this node: its GPU's card,
    measured on a node with this node's physical cores where one was (profile_for_gpu). No visible GPU,
    or one without a shipped profile: a one-line ValueError (exit 2)."""
    if name_or_path != AUTO_HARDWARE:
        return name_or_path
    from mist_ds.config.profiles import profile_for_gpu

    fix = "name a profile (--hardware NAME|FILE) or measure this node with `python -m mist_ds.profile`"
    gpu = local_gpu_name()
    if gpu is None:
        raise ValueError(f"--hardware auto: no GPU visible on this node; {fix}")
    try:
        return profile_for_gpu(gpu, host_cpu_cores())
    except ValueError:
        raise ValueError(f"--hardware auto: no shipped profile for this node's GPU '{gpu}'; {fix}") from None
