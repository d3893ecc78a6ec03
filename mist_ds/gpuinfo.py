"""The node facts run files and profiles record beside every number: the GPU driver version and the host's
CPU cores (a number is recorded with card, driver, date and the node it ran on)."""

from __future__ import annotations

import os
import subprocess


def driver_version() -> str:
    """The first GPU's driver version from nvidia-smi; '' where nvidia-smi is absent or fails."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.split("\n")[0].strip() if out.returncode == 0 else ""


def host_cpu_cores() -> int:
    """The node's physical CPU cores (psutil; logical CPUs where it cannot tell): what a hardware profile
    records as host_cpu_cores and a RunReport as host_cpu_cores, so a run can be matched with the profile
    of the node kind it ran on (config/profiles.py profile_for_gpu)."""
    try:
        import psutil
    except ImportError:
        return os.cpu_count() or 1
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1
