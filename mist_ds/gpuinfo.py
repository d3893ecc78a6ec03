"""The GPU driver version, for run files and profiles (a number is recorded with card, driver and date)."""

from __future__ import annotations

import subprocess


def driver_version() -> str:
    """The first GPU's driver version from nvidia-smi; '' where nvidia-smi is absent or fails."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.split("\n")[0].strip() if out.returncode == 0 else ""
