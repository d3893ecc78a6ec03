"""hostfile, the deepspeed command line and launch.sh: single-node flags, relocatable script that finds
deepspeed next to the Python that wrote it or on PATH, one-line error otherwise."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mist_ds.config import ClusterSpec
from mist_ds.emit.launch import TRAIN_MODULE, hostfile_text, launch_argv, launch_script


def test_single_localhost_gets_no_ssh_flags():
    cluster = ClusterSpec(num_nodes=1, gpus_per_node=4)
    argv = launch_argv(cluster, Path("/o/hostfile"), Path("/o/plan.json"))
    assert argv[:3] == ["deepspeed", "--hostfile", "/o/hostfile"]
    assert "--no_ssh_check" in argv and argv[argv.index("--master_addr") + 1] == "127.0.0.1"
    assert argv[-4:] == ["--module", TRAIN_MODULE, "--plan", "/o/plan.json"]
    assert hostfile_text(cluster) == "localhost slots=4\n"


def test_multi_node_uses_the_hostfile_hosts():
    cluster = ClusterSpec.from_hostfile_text("node-a slots=8\nnode-b slots=8\n")
    argv = launch_argv(cluster, Path("/o/hostfile"), Path("/o/plan.json"), "/env/bin/deepspeed", 29999)
    assert argv[0] == "/env/bin/deepspeed" and "--no_ssh_check" not in argv
    assert argv[argv.index("--master_port") + 1] == "29999"
    assert hostfile_text(cluster) == "node-a slots=8\nnode-b slots=8\n"


def _fake_env(folder: Path) -> Path:
    """A bin/ folder whose `python` prints its arguments and whose `deepspeed` exists."""
    folder.mkdir(parents=True)
    (folder / "python").write_text('#!/usr/bin/env bash\necho "python=$0"; printf "%s\\n" "$@"\n')
    (folder / "deepspeed").write_text("#!/usr/bin/env bash\nexit 0\n")
    for name in ("python", "deepspeed"):
        os.chmod(folder / name, 0o755)
    return folder


def _run(script: Path, path: str) -> subprocess.CompletedProcess:
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["/bin/bash", str(script), "--steps", "3"], capture_output=True, text=True, env=env,
                          timeout=30)


def test_launch_sh_is_relocatable_and_prefers_the_writers_environment(tmp_path):
    writer = _fake_env(tmp_path / "writer env" / "bin")
    folder = tmp_path / "tuned"
    folder.mkdir()
    (folder / "launch.sh").write_text(launch_script(ClusterSpec(num_nodes=1, gpus_per_node=2), str(writer / "python")))
    assert subprocess.run(["bash", "-n", str(folder / "launch.sh")]).returncode == 0
    moved = tmp_path / "elsewhere it's"
    folder.rename(moved)
    proc = _run(moved / "launch.sh", "/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"python={writer / 'python'}"
    # python -m mist_ds.run FOLDER --deepspeed DS --steps 3: the folder is where launch.sh lies now
    assert lines[1:] == ["-m", "mist_ds.run", str(moved.resolve()), "--deepspeed", str(writer / "deepspeed"),
                         "--steps", "3"]


def test_launch_sh_falls_back_to_deepspeed_on_path_then_fails_in_one_line(tmp_path):
    script = tmp_path / "launch.sh"
    script.write_text(launch_script(ClusterSpec(num_nodes=1, gpus_per_node=2), str(tmp_path / "gone" / "python")))
    other = _fake_env(tmp_path / "other" / "bin")
    proc = _run(script, f"{other}:/usr/bin:/bin")
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == f"python={other / 'python'}", proc.stderr
    proc = _run(script, "/usr/bin:/bin")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no deepspeed in" in proc.stderr and "on PATH" in proc.stderr
