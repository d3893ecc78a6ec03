"""Atomic file writes: a reader never sees half a file, a failed write leaves the old one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write `data` to `path` through a temp file in the same folder and an atomic rename;
    `mode` (0o755 for scripts) is applied, less the umask, before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Text variant of write_bytes_atomic (UTF-8)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_files_atomic(folder: Path, files: dict[str, bytes], executable: frozenset[str] = frozenset()) -> None:
    """Write several files into `folder`, each atomically, in the given order (render everything
    before calling this, so that an error writes nothing)."""
    for name, data in files.items():
        write_bytes_atomic(Path(folder) / name, data, 0o777 if name in executable else 0o666)
