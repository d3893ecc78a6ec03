"""Find and load shipped or user hardware profiles (`--hardware NAME|FILE`)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from mist_ds.config.hardware import HardwareProfile

DEFAULT_PROFILE = "h100-sxm-80gb"
"""The profile used when nothing names one (a plan without prediction, the CLIs' --hardware default)."""
GPU_PROFILES = (("H200", "h200"), ("H100", "h100-sxm-80gb"))
"""(substring of torch's device name, shipped profile): which profile describes a GPU a run reports."""


def profile_for_gpu(gpu_name: str, host_cpu_cores: int | None = None) -> str:
    """The shipped hardware profile of a GPU a run reports ('NVIDIA H200' -> 'h200'), or a one-line
    ValueError when none matches (e.g. a CPU run): then name the profile yourself (--hardware).
    `host_cpu_cores` (RunReport.host_cpu_cores): where the GPU's profile describes another node kind
    (its host_cpu_cores differ) and a shipped profile of the same card was measured on a node with these
    cores, that one: the node's host side (CPU Adam rate, host-device copies at once) differs between
    node kinds of one card (mist_ds/profiles/h200-1gpu-node.json, profiling/README.md)."""
    for pattern, profile in GPU_PROFILES:
        if pattern.lower() in gpu_name.lower():
            return profile if host_cpu_cores is None else _node_profile(profile, host_cpu_cores)
    known = ", ".join(f"'{pattern}' -> {profile}" for pattern, profile in GPU_PROFILES)
    raise ValueError(f"no shipped hardware profile for GPU '{gpu_name}' (known: {known}); "
                     "pass --hardware NAME|FILE")


def _node_profile(card_profile: str, host_cpu_cores: int) -> str:
    """The shipped profile of `card_profile`'s card measured on a node with `host_cpu_cores` cores, else
    `card_profile` itself (first in name order when several match)."""
    card = load_hardware(card_profile)
    if card.host_cpu_cores == host_cpu_cores:
        return card_profile
    for path in sorted(SHIPPED_PROFILES.glob("*.json")):
        other = HardwareProfile.load_checked(path, "hardware profile")
        if other.gpu_name == card.gpu_name and other.host_cpu_cores == host_cpu_cores:
            return other.name
    return card_profile


SHIPPED_PROFILES = Path(__file__).resolve().parents[1] / "profiles"
"""The profiles shipped inside the package (mist_ds/profiles/NAME.json: package data, so a plain
`pip install` has them)."""


def profile_dirs() -> list[Path]:
    """Folders searched for NAME.json, first match wins: $MIST_DS_PROFILES (os.pathsep-separated),
    then a checkout's profiling/profiles (where `make profile` writes profiles measured here; absent
    in an installed package), then the shipped profiles."""
    extra = [Path(p) for p in os.environ.get("MIST_DS_PROFILES", "").split(os.pathsep) if p]
    checkout = Path(__file__).resolve().parents[2] / "profiling" / "profiles"
    return extra + ([checkout] if checkout.is_dir() else []) + [SHIPPED_PROFILES]


def available_profiles() -> list[str]:
    """Names of every profile found in profile_dirs()."""
    names = {p.stem for d in profile_dirs() if d.is_dir() for p in d.glob("*.json")}
    return sorted(names)


def load_hardware(name_or_path: str) -> HardwareProfile:
    """Load a profile by name (shipped) or by path; errors are one-line ValueErrors."""
    path = Path(name_or_path)
    if not (name_or_path.endswith(".json") or path.exists()):
        found = [d / f"{name_or_path}.json" for d in profile_dirs() if (d / f"{name_or_path}.json").exists()]
        if not found:
            close = difflib.get_close_matches(name_or_path, available_profiles(), n=3, cutoff=0.4)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(available_profiles())}"
            raise ValueError(f"unknown hardware profile '{name_or_path}'; {hint}")
        path = found[0]
    return HardwareProfile.load_checked(path, "hardware profile")


def hardware_for_plan(plan, name: str | None = None) -> HardwareProfile:
    """`name` if given, else the profile the plan was predicted with, else DEFAULT_PROFILE (the one
    place that rule lives; predict, compare and the runtime use it)."""
    if name is not None or plan.prediction is None:
        return load_hardware(name or DEFAULT_PROFILE)
    try:
        return load_hardware(plan.prediction.hardware_name)
    except ValueError as err:  # e.g. tuned on a calibrated profile file, which is named after the file
        raise ValueError(f"the plan was predicted on profile '{plan.prediction.hardware_name}', which is not "
                         "a shipped one or in $MIST_DS_PROFILES: pass its file with --hardware PATH "
                         f"({str(err).split('; ', 1)[-1]})") from None
