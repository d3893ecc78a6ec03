"""Safe file I/O: bounded reads of user files, atomic writes of one file or of a whole folder.

A reader never sees half a file or half a folder, and a failed write leaves what was there before
(and no temporary files). Errors are one-line ValueErrors / OSErrors for the CLIs to report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath

# Largest user input file read into memory (a hostfile, an HF config.json). Real ones are a few KB
# (a 65,536-host hostfile is ~2 MB); the bound keeps `--hostfile /dev/zero` from eating memory.
MAX_INPUT_BYTES = 16 * 1024**2


# Longest output folder name: NAME_MAX (255 bytes on every Linux filesystem) less the temporary
# sibling's '.NAME.tmp-XXXXXXXX' decoration; and a whole path well under PATH_MAX (4096).
MAX_NAME_BYTES = 200
MAX_PATH_BYTES = 3000


def read_text_bounded(path: str | Path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """UTF-8 text of a user-given file, at most `limit` bytes; every failure is a one-line ValueError."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ValueError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{what} {path} is a folder, not a file") from None
    except OSError as err:
        raise ValueError(f"cannot read {what} {path}: {err.strerror or err}") from None
    if len(data) > limit:
        raise ValueError(f"{what} {path} is larger than {limit // 1024**2} MiB: not a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} {path} is not UTF-8 text") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
        os.chmod(tmp, mode & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Text variant of write_bytes_atomic (UTF-8)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_files_atomic(folder: Path, files: dict[str, bytes], executable: frozenset[str] = frozenset()) -> None:
    """Write several files into `folder`, each atomically, in the given order (render everything
    before calling this, so that an error writes nothing). See write_folder_atomic for a whole folder."""
    for name, data in files.items():
        write_bytes_atomic(Path(folder) / name, data, 0o777 if name in executable else 0o666)


# ----- a whole output folder -----------------------------------------------------------------------

def _probe_writable(folder: Path, label: str) -> None:
    """Create and remove a temporary folder in `folder` (the real test: os.access says yes to root
    on a read-only mount); one-line ValueError when that fails."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mist_ds-probe-", dir=folder))
    except OSError as err:
        raise ValueError(f"{label}: cannot write in {folder}: {err.strerror or err}") from None


def _nearest_existing(path: Path) -> Path:
    """`path` or its closest ancestor that exists (as anything)."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _current_folder() -> Path | None:
    """The process's current folder, or None when it no longer exists."""
    try:
        return Path.cwd().resolve()
    except OSError:
        return None


def _check_existing_entries(folder: Path, files: Collection[str], folders: Collection[str],
                            label: str) -> None:
    """An existing output folder is replaced as a whole: it may hold only what we write ourselves."""
    entries = sorted(os.listdir(folder))
    foreign = [name for name in entries if name not in files and name not in folders]
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(f"{label}: {folder} already holds {shown}, which this tool does not write; the "
                         "folder is replaced as a whole, so give a new or empty folder")
    for name in entries:
        is_dir = (folder / name).is_dir() and not (folder / name).is_symlink()
        if name in files and is_dir:
            raise ValueError(f"{label}: {folder / name} is a folder where a file is written")
        if name in folders and not is_dir:
            raise ValueError(f"{label}: {folder / name} is a file where a folder is written")


def check_output_folder(text: str, files: Collection[str], folders: Collection[str] = (),
                        label: str = "--out") -> Path:
    """Check, before any work, that `text` names a folder we can create (or replace) and write:
    not empty, not a file, not below a file, not holding the current folder, and (if it exists)
    holding nothing but `files` / `folders` of an earlier run. Returns the absolute path
    (symlinks resolved) that write_folder_atomic should be given. Raises one-line ValueErrors."""
    if not text.strip():
        raise ValueError(f"{label} is empty: name a folder")
    try:
        folder = Path(text).resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ValueError(f"{label} {text}: {err}") from None
    if folder == folder.parent:
        raise ValueError(f"{label} {text}: a filesystem root cannot be an output folder")
    too_long = [part for part in folder.parts if len(os.fsencode(part)) > MAX_NAME_BYTES]
    if too_long or len(os.fsencode(str(folder))) > MAX_PATH_BYTES:
        raise ValueError(f"{label}: path or folder name too long (at most {MAX_NAME_BYTES} bytes per "
                         f"name, {MAX_PATH_BYTES} in all)")
    cwd = _current_folder()
    if cwd is not None and cwd.is_relative_to(folder):
        raise ValueError(f"{label} {text}: holds the current folder; the output folder is replaced "
                         "as a whole, so name a folder below it")
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ValueError(f"{label} {text}: {existing} exists and is not a folder")
    if existing == folder:
        _check_existing_entries(folder, files, folders, label)
        _probe_writable(folder, label)  # the old contents are deleted after the swap
        _probe_writable(folder.parent, label)  # the temporary sibling and the renames live here
    else:
        _probe_writable(existing, label)
    return folder


def _write_tree(root: Path, files: Mapping[str, bytes], executable: Collection[str]) -> None:
    """Write `files` (relative names, '/' makes subfolders) below `root` and flush them to disk."""
    mask = _umask()
    for name, data in files.items():
        parts = PurePosixPath(name).parts
        if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
            raise ValueError(f"output file name {name!r} is not a path inside the output folder")
        path = root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, (0o777 if name in executable else 0o666) & ~mask)
    for sub in sorted({p for p in root.rglob("*") if p.is_dir()} | {root}, reverse=True):
        os.chmod(sub, 0o777 & ~mask)  # mkdtemp makes 0o700 folders; give what mkdir would
        _fsync_dir(sub)


def _swap_in(staged: Path, folder: Path) -> None:
    """Rename `staged` to `folder`; an existing `folder` is moved aside first and deleted after (or
    moved back if the second rename fails)."""
    if not os.path.lexists(folder):
        os.rename(staged, folder)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
    os.rmdir(aside)
    os.rename(folder, aside)
    try:
        os.rename(staged, folder)
    except BaseException:
        os.rename(aside, folder)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def write_folder_atomic(folder: Path, files: Mapping[str, bytes], executable: Collection[str] = ()) -> None:
    """Make `folder` hold exactly `files`: render them into a temporary sibling folder, then rename
    it into place (replacing an earlier output folder). On any failure nothing is left behind:
    not the temporary folder, not parent folders created for it, and an earlier folder stays."""
    folder = Path(folder).absolute()
    missing = []
    parent = folder.parent
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = parent.parent
    staged = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        _write_tree(staged, files, executable)
        _swap_in(staged, folder)
        _fsync_dir(folder.parent)
    except BaseException:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        for created in missing:  # innermost first
            with contextlib.suppress(OSError):
                os.rmdir(created)
        raise
