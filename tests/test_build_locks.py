"""tests/conftest.py remove_stale_build_locks: a killed session's op build lock no longer hangs the next
session, and a live session's lock is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import remove_stale_build_locks


def _lock(folder: Path, op: str) -> Path:
    (folder / op).mkdir(parents=True)
    lock = folder / op / "lock"
    lock.touch()
    return lock


def test_a_lock_no_live_process_holds_is_removed(tmp_path):
    locks = [_lock(tmp_path, "deepspeed_shm_comm"), _lock(tmp_path, "cpu_adam")]
    assert sorted(remove_stale_build_locks(str(tmp_path))) == sorted(map(str, locks))
    assert not any(lock.exists() for lock in locks)
    assert remove_stale_build_locks(str(tmp_path)) == []


def test_a_lock_of_a_session_still_running_is_kept(tmp_path):
    lock = _lock(tmp_path, "deepspeed_shm_comm")
    env = {**os.environ, "TORCH_EXTENSIONS_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        deadline = time.monotonic() + 10   # until its environment is readable in /proc
        while not Path(f"/proc/{proc.pid}/environ").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert remove_stale_build_locks(str(tmp_path)) == [] and lock.exists()
        # another folder's name that starts with this one's is not this folder
        other = tmp_path.with_name(tmp_path.name + "x")
        other_lock = _lock(other, "op")
        assert remove_stale_build_locks(str(other)) == [str(other_lock)]
    finally:
        proc.kill()
        proc.wait()
    assert remove_stale_build_locks(str(tmp_path)) == [str(lock)]
