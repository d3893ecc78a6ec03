"""Shared pytest set-up: skip GPU tests without CUDA; read the CPU's info once per session."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import sys
import tempfile

import pytest

from tests.shared_runs import batch_cpu_run, parity_cpu_run  # noqa: F401 (fixtures of two test files each)

CPUINFO_ENV = "MIST_DS_TEST_CPUINFO"
_CREATED = pytest.StashKey[str]()


def _one_ninja() -> None:
    """Every process of the session builds DeepSpeed's JIT ops with the venv's ninja (its bin folder
    first on PATH). torch runs whichever `ninja` PATH finds, and the venv's (1.13, log format v7) and
    the system's (/usr/bin, 1.11, v5) each read the other's .ninja_log in ~/.cache/torch_extensions
    as stale: tests that put the venv first and tests that did not took turns recompiling the shm
    comm op (25-60 s each, holding the build lock every other DeepSpeed process waits on), 3-6 times
    a run."""
    venv_bin = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != venv_bin:
        os.environ["PATH"] = os.pathsep.join([venv_bin, *parts])


def _own_extensions_dir() -> None:
    """DeepSpeed's JIT ops of the session (cpu_adam, fused_adam, the shm comm op) build in a folder of
    this venv's own (TORCH_EXTENSIONS_DIR, unless set): in torch's shared default, any other process on
    the machine that builds an op with /usr/bin/ninja (a script run without the venv on PATH) rewrites
    the .ninja_log in its format, and the session's next op load recompiles (cpu_adam: 30-190 s, under
    the build lock every DeepSpeed process of the session waits on; twice in one measured run)."""
    if "TORCH_EXTENSIONS_DIR" in os.environ:
        return
    key = hashlib.sha1(f"{sys.prefix}|{sys.version}".encode()).hexdigest()[:10]
    folder = os.path.join(os.path.expanduser("~"), ".cache", "torch_extensions", f"mist_ds_tests_{key}")
    for path in remove_stale_build_locks(folder):
        sys.stderr.write(f"conftest: removed {path}, a build lock no live process holds\n")
    os.environ["TORCH_EXTENSIONS_DIR"] = folder


def remove_stale_build_locks(folder: str) -> list[str]:
    """Delete the op build locks in `folder` (<op>/lock: torch.utils.cpp_extension's FileBaton, made by
    the process that builds the op and removed when it is done) when no live process runs with `folder`
    as its TORCH_EXTENSIONS_DIR; returns the paths removed. A session killed while it built an op leaves
    its lock, and every later session's first load of that op then waits for it for ever (FileBaton.wait
    polls for the file with no time limit): a clean-clone CI run of session 39 sat at ~0.5% CPU in its
    parity fixture and mistpipe workers on deepspeed_shm_comm/lock, left by a run stopped an hour
    before (the clone's venv path, hence this folder, is the same every time). A concurrent session's
    workers carry the folder in their environment, so its locks are left alone."""
    locks = glob.glob(os.path.join(folder, "*", "lock"))
    if not locks or _folder_in_use(folder):
        return []
    for path in locks:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return locks


def _folder_in_use(folder: str) -> bool:
    """Whether a live process (one whose environment this user may read) has TORCH_EXTENSIONS_DIR=folder."""
    entry = f"\0TORCH_EXTENSIONS_DIR={folder}\0".encode()
    for environ in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(environ, "rb") as file:
                if entry in b"\0" + file.read() + b"\0":
                    return True
        except OSError:   # gone, or another user's
            continue
    return False


def pytest_configure(config: pytest.Config) -> None:
    """py-cpuinfo's get_cpu_info() costs a Python subprocess and a 1 s sleep per call (DeepSpeed calls it
    per DeepSpeedCPUAdam and per op build): the first pytest process asks once and writes the answer to
    a file that its xdist workers and every launched process (tests/subprocess_site/sitecustomize.py)
    read instead; this process uses it too. And one ninja and one build folder for the whole session
    (_one_ninja, _own_extensions_dir)."""
    _one_ninja()
    _own_extensions_dir()
    try:
        import cpuinfo
    except ImportError:
        return
    path = os.environ.get(CPUINFO_ENV)
    if not (path and os.path.isfile(path)):
        fd, path = tempfile.mkstemp(prefix="mist_ds_test_cpuinfo_", suffix=".json")
        with os.fdopen(fd, "w") as file:
            json.dump(cpuinfo.get_cpu_info(), file)
        os.environ[CPUINFO_ENV] = path
        config.stash[_CREATED] = path
    with open(path) as file:
        info = json.load(file)
    cpuinfo.get_cpu_info = lambda: dict(info)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """DeepSpeed's shm all-reduce buffers of this process's runs (tests/helpers.py: USED_PORTS)."""
    from tests import helpers

    helpers.remove_shm_buffers(helpers.USED_PORTS)


def pytest_unconfigure(config: pytest.Config) -> None:
    path = config.stash.get(_CREATED, None)
    if path:
        os.unlink(path)


# make test runs files on 2 workers in this order (--dist loadfile --no-loadscope-reorder): the longest
# first, so that the two workers finish together instead of one starting a 70 s file at the end
# (bench/results/test_durations.md has the measured times; a file not listed runs after these). A file
# that makes a shared run (tests/shared_runs.py) comes well before the other file reading it, so that
# the reader finds it made instead of waiting for the lock: test_parity.py before test_report_kernels.py
# (not listed), test_run_batch.py before test_train_cli.py.
LONGEST_FILES_FIRST = (
    "tests/runtime/test_mistpipe_equivalence.py",
    "tests/bench/test_parity.py",
    "tests/runtime/test_run_wrapper.py",
    "tests/bench/test_run_batch.py",
    "tests/runtime/test_loss_equivalence.py",
    "tests/bench/test_baseline.py",
    "tests/runtime/test_mistpipe_train_cli.py",
    "tests/cost/test_deepspeed_states.py",
    "tests/test_readme_commands.py",
    "tests/runtime/test_train_cli.py",
    "tests/runtime/test_mistpipe_units.py",
    "tests/runtime/test_loss.py",
)


def _file_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return LONGEST_FILES_FIRST.index(path) if path in LONGEST_FILES_FIRST else len(LONGEST_FILES_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_file_rank)  # stable: each file's tests keep their order, files stay contiguous
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
