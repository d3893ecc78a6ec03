"""Hostfile, the deepspeed command line of a plan, and launch.sh (relocatable: it finds its files
next to itself and runs them through `python -m mist_ds.run`, which falls back to the next plan on
an out-of-memory failure)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from mist_ds.config import ClusterSpec

# A multi-node plan's path reaches remote shells unquoted (DeepSpeed's pdsh runner joins the user
# arguments into one ssh command: launcher/multinode_runner.py PDSHRunner), so it may hold only
# characters no shell interprets (shlex.quote's safe set).
SHELL_SAFE_PATH = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
TRAIN_MODULE = "mist_ds.train"
"""The rank entry `deepspeed --module` starts (mist_ds/train.py; launch/train.py wraps it)."""


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


def launch_argv(cluster: ClusterSpec, hostfile: Path | str, plan: Path | str, deepspeed: str = "deepspeed",
                master_port: int | None = None) -> list[str]:
    """The deepspeed command line of one plan: `deepspeed --hostfile H [...] --module mist_ds.train
    --plan P`. A single localhost node adds --no_ssh_check --master_addr 127.0.0.1 (DESIGN.md: the
    launcher otherwise probes ssh, which fails where no sshd runs)."""
    argv = [deepspeed, "--hostfile", str(hostfile)]
    if is_single_localhost(cluster):
        argv += ["--no_ssh_check", "--master_addr", "127.0.0.1"]
    if master_port is not None:
        argv += ["--master_port", str(master_port)]
    return argv + ["--module", TRAIN_MODULE, "--plan", str(plan)]


def launch_script(cluster: ClusterSpec, writer_python: str | None = None) -> str:
    """launch.sh text. Relocatable: it resolves plan.json, hostfile and fallback/ relative to its own
    folder, so a folder tuned on a laptop runs unchanged after mv / scp. It runs `deepspeed` (and the
    `python -m mist_ds.run` wrapper) from the environment of `writer_python` (the Python that wrote
    it: sys.executable) when that still exists, else from the first `deepspeed` on PATH, else stops
    with one line. Extra arguments go to the training entry (e.g. --steps 20 --report run.json)."""
    writer_bin = str(Path(writer_python or sys.executable).parent)
    by_hand = " ".join(shlex.quote(part) for part in launch_argv(cluster, "hostfile", "plan.json"))
    return f"""#!/usr/bin/env bash
# Written by mist_ds autotune. Runs plan.json of this folder with DeepSpeed; when every rank runs out of
# memory (exit 3) or a rank is killed by a signal, runs fallback/1, fallback/2, ... in turn and records
# every attempt in attempts.json (python -m mist_ds.run; its own flags: --fallbacks K, --master-port N).
# Extra arguments go to the training entry, e.g. ./launch.sh --steps 20 --report run.json
# The winner alone, by hand, from this folder: {by_hand}
set -euo pipefail
here="$(cd -- "$(dirname -- "${{BASH_SOURCE[0]}}")" && pwd -P)"
# NVLink multicast (NVLS) off; DeepSpeed's op builder cannot parse '9.0a' (DESIGN.md).
export NCCL_NVLS_ENABLE="${{NCCL_NVLS_ENABLE:-0}}"
if [[ "${{TORCH_CUDA_ARCH_LIST:-}}" == "9.0a" ]]; then export TORCH_CUDA_ARCH_LIST=9.0; fi
writer_bin={shlex.quote(writer_bin)}  # the environment that wrote this folder
if [[ -x "$writer_bin/deepspeed" && -x "$writer_bin/python" ]]; then
  deepspeed="$writer_bin/deepspeed"; python="$writer_bin/python"
elif deepspeed="$(command -v deepspeed)"; then
  python="$(dirname -- "$deepspeed")/python"
  if [[ ! -x "$python" ]]; then  # the interpreter of deepspeed's own '#!' line, else python3
    read -r shebang < "$deepspeed" || true
    python="${{shebang#\\#!}}"; python="${{python%% *}}"
    [[ -x "$python" && "$python" != */env ]] || python="$(command -v python3 || echo python3)"
  fi
else
  echo "launch.sh: error: no deepspeed in $writer_bin (the environment that wrote this folder) or on PATH;" \
    "activate the environment where mist_ds is installed" >&2
  exit 2
fi
exec "$python" -m mist_ds.run "$here" --deepspeed "$deepspeed" "$@"
"""
