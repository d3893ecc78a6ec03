"""mist_ds.fileio: the output folder is checked before any work and written as a whole, or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mist_ds import fileio
from mist_ds.fileio import check_output_folder, read_text_bounded, write_folder_atomic

FILES = {"plan.json": b"{}\n", "launch.sh": b"#!/bin/sh\n", "sub/extra.txt": b"x"}
NAMES = ("plan.json", "launch.sh", "report.md")


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path below root (hidden ones too) -> bytes (None for folders, '->target' for links)."""
    def content(p: Path) -> bytes | None:
        if p.is_symlink():
            return b"->" + os.fsencode(os.readlink(p))
        return None if p.is_dir() else p.read_bytes()

    return {str(p.relative_to(root)): content(p) for p in root.rglob("*")}


def test_new_folder_and_missing_parents_are_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    write_folder_atomic(out, FILES, executable=("launch.sh",))
    assert _tree(out) == {"plan.json": b"{}\n", "launch.sh": b"#!/bin/sh\n", "sub": None, "sub/extra.txt": b"x"}
    assert os.stat(out / "launch.sh").st_mode & stat.S_IXUSR
    assert not os.stat(out / "plan.json").st_mode & stat.S_IXUSR
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o777 & ~_umask()  # not mkdtemp's 0o700
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["out"]  # no temp siblings


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_earlier_folder_is_replaced_as_a_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_folder_atomic(out, {"plan.json": b"old", "report.md": b"old"})
    write_folder_atomic(out, {"plan.json": b"new"})
    assert _tree(out) == {"plan.json": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_while_rendering_leaves_no_trace(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with pytest.raises(ValueError, match="not a path inside"):
        write_folder_atomic(out, {"plan.json": b"x", "../escape": b"y"})
    assert list(tmp_path.iterdir()) == []  # not even the created parent


def test_failed_swap_keeps_the_earlier_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_folder_atomic(out, {"plan.json": b"old"})
    real_rename = os.rename
    calls = []

    def flaky_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the staged folder moving into place
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(fileio.os, "rename", flaky_rename)
    with pytest.raises(OSError, match="No space left"):
        write_folder_atomic(out, {"plan.json": b"new"})
    monkeypatch.undo()
    assert _tree(tmp_path) == {"out": None, "out/plan.json": b"old"}


@pytest.mark.parametrize(
    ("setup", "text", "message"),
    [
        (None, "", "is empty"),
        (None, "   ", "is empty"),
        ("file", "afile/sub", "exists and is not a folder"),
        ("file", "afile", "exists and is not a folder"),
        ("foreign", "out", "already holds notes.txt, which this tool does not write"),
        ("dir-at-file", "out", "launch.sh is a folder where a file is written"),
        (None, ".", "holds the current folder"),
        (None, "/", "filesystem root"),
        (None, "/proc/no-such-folder/out", "cannot write in /proc"),
        ("loop", "loop/out", "loop"),
        (None, "x" * 250, "name too long"),
    ],
)
def test_bad_output_folders_are_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        setup: str | None, text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    if setup == "file":
        (tmp_path / "afile").write_text("x")
    elif setup == "foreign":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "plan.json").write_text("{}")
        (tmp_path / "out" / "notes.txt").write_text("mine")
    elif setup == "loop":
        (tmp_path / "loop").symlink_to("loop")
    elif setup == "dir-at-file":
        (tmp_path / "out" / "launch.sh").mkdir(parents=True)
    before = _tree(tmp_path)
    with pytest.raises(ValueError, match=message):
        check_output_folder(text, files=NAMES)
    assert _tree(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_unwritable_parent_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(ValueError, match="cannot write in"):
        check_output_folder(str(locked / "out"), files=NAMES)


def test_earlier_output_folder_and_missing_parents_pass(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "plan.json").write_text("{}")
    assert check_output_folder(str(tmp_path / "out"), files=NAMES) == (tmp_path / "out").resolve()
    assert check_output_folder(str(tmp_path / "x" / "y"), files=NAMES) == (tmp_path / "x" / "y").resolve()
    assert _tree(tmp_path) == {"out": None, "out/plan.json": b"{}"}


def test_bounded_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("abc")
    assert read_text_bounded(tmp_path / "f", "thing", limit=3) == "abc"
    with pytest.raises(ValueError, match="larger than"):
        read_text_bounded(tmp_path / "f", "thing", limit=2)
    with pytest.raises(ValueError, match="is a folder"):
        read_text_bounded(tmp_path, "thing")
    with pytest.raises(ValueError, match="larger than 16 MiB"):
        read_text_bounded("/dev/zero", "thing")
