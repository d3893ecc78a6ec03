"""Hostfile and launch.sh for a plan: the exact `deepspeed --hostfile ... launch/train.py --plan ...`."""

from __future__ import annotations

import shlex
from pathlib import Path

from mist_ds.config import ClusterSpec

# launch/train.py of this checkout (the runtime's entry point that `deepspeed` starts).
TRAIN_SCRIPT = Path(__file__).resolve().parents[2] / "launch" / "train.py"


def has_placeholder_hosts(cluster: ClusterSpec) -> bool:
    """Several nodes but no host names (--nodes without --hostfile): the hostfile names worker-i."""
    return not cluster.hosts and cluster.num_nodes > 1


def hostfile_text(cluster: ClusterSpec) -> str:
    """DeepSpeed hostfile: the --hostfile hosts, or 'localhost slots=N' for one unnamed node, or
    placeholder names under a comment saying so (DeepSpeed's runner skips '#' lines:
    launcher/runner.py _parse_hostfile)."""
    text = cluster.hostfile_text()
    if has_placeholder_hosts(cluster):
        text = "# placeholder host names: replace worker-N with your nodes, or tune with --hostfile\n" + text
    return text


def is_single_localhost(cluster: ClusterSpec) -> bool:
    """One node reached as localhost: DeepSpeed's launcher then needs no ssh."""
    return cluster.host_names() == ("localhost",)


def launch_argv(cluster: ClusterSpec, hostfile: Path, plan: Path, train: Path = TRAIN_SCRIPT) -> list[str]:
    """The deepspeed command line. A single localhost node adds --no_ssh_check --master_addr
    127.0.0.1 (DESIGN.md: the launcher otherwise probes ssh, which fails where no sshd runs)."""
    argv = ["deepspeed", "--hostfile", str(hostfile)]
    if is_single_localhost(cluster):
        argv += ["--no_ssh_check", "--master_addr", "127.0.0.1"]
    return argv + [str(train), "--plan", str(plan)]


def launch_script(cluster: ClusterSpec, hostfile: Path, plan: Path, train: Path = TRAIN_SCRIPT) -> str:
    """launch.sh text: every path shell-quoted; extra arguments (e.g. --steps 20) are passed on."""
    command = " ".join(shlex.quote(part) for part in launch_argv(cluster, hostfile, plan, train))
    return (
        "#!/usr/bin/env bash\n"
        "# Written by python -m mist_ds.autotune: runs the tuned plan with DeepSpeed.\n"
        "# Extra arguments go to launch/train.py, e.g. ./launch.sh --steps 20 --report run.json\n"
        "set -euo pipefail\n"
        "# NVLink multicast (NVLS) off; DeepSpeed's op builder cannot parse '9.0a' (DESIGN.md).\n"
        'export NCCL_NVLS_ENABLE="${NCCL_NVLS_ENABLE:-0}"\n'
        'if [[ "${TORCH_CUDA_ARCH_LIST:-}" == "9.0a" ]]; then export TORCH_CUDA_ARCH_LIST=9.0; fi\n'
        f'exec {command} "$@"\n'
    )
