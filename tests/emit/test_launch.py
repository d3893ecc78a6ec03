"""hostfile and launch.sh: quoting, single-node flags, executable script."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from mist_ds.config import ClusterSpec
from mist_ds.emit.launch import TRAIN_SCRIPT, hostfile_text, launch_argv, launch_script


def test_single_localhost_gets_no_ssh_flags():
    cluster = ClusterSpec(num_nodes=1, gpus_per_node=4)
    argv = launch_argv(cluster, Path("/o/hostfile"), Path("/o/plan.json"))
    assert argv[:3] == ["deepspeed", "--hostfile", "/o/hostfile"]
    assert "--no_ssh_check" in argv and argv[argv.index("--master_addr") + 1] == "127.0.0.1"
    assert argv[-3:] == [str(TRAIN_SCRIPT), "--plan", "/o/plan.json"]
    assert hostfile_text(cluster) == "localhost slots=4\n"


def test_multi_node_uses_the_hostfile_hosts():
    cluster = ClusterSpec.from_hostfile_text("node-a slots=8\nnode-b slots=8\n")
    argv = launch_argv(cluster, Path("/o/hostfile"), Path("/o/plan.json"))
    assert "--no_ssh_check" not in argv
    assert hostfile_text(cluster) == "node-a slots=8\nnode-b slots=8\n"


def test_paths_are_shell_quoted(tmp_path):
    odd = tmp_path / "it's a dir" / "plan.json"
    script = launch_script(ClusterSpec(num_nodes=1, gpus_per_node=2), odd.parent / "hostfile", odd)
    line = [ln for ln in script.splitlines() if ln.startswith("exec ")][0]
    words = shlex.split(line.removeprefix("exec ").removesuffix(' "$@"'))
    assert words[words.index("--plan") + 1] == str(odd)
    assert words[words.index("--hostfile") + 1] == str(odd.parent / "hostfile")
    # bash parses the script
    path = tmp_path / "launch.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
