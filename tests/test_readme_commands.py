"""Every command in README.md works when pasted (issue 12 item 6): each ```bash block is run, in order, from
a fresh folder that sees this checkout (so `runs/` starts empty), with the running Python's environment
first on PATH (what `. .venv/bin/activate` gives); a block the test cannot run (set-up, GPUs, network)
carries `<!-- readme-test: skip (why) -->` right above it, and nothing else is left unrun."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import child_pythonpath

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(?:<!-- readme-test: skip \((?P<why>.+?)\) -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)^```",
                   re.S | re.M)
# a block that starts DeepSpeed processes (2 CPU ranks, ~40 s) is a `distributed` test
LAUNCHES = re.compile(r"launch\.sh|\bdeepspeed\b")


def readme_blocks() -> list[dict]:
    """Fenced blocks of README.md with their language and skip reason (None: run it)."""
    return [match.groupdict() for match in BLOCK.finditer((ROOT / "README.md").read_text())]


def _runnable() -> list:
    params = []
    for index, block in enumerate(b for b in readme_blocks() if b["why"] is None):
        first = block["body"].strip().splitlines()[0]
        marks = [pytest.mark.distributed] if LAUNCHES.search(block["body"]) else []
        params.append(pytest.param(block["body"], marks=marks, id=f"{index}:{first[:40]}"))
    return params


def test_every_block_is_run_or_says_why_not():
    blocks = readme_blocks()
    assert blocks, "README.md has no fenced blocks"
    for block in blocks:
        if block["why"] is None:
            assert block["lang"] == "bash", f"a ```{block['lang']} block must say why it is not run"
        else:
            assert len(block["why"].split()) >= 2, f"skip reason too short: {block['why']!r}"
    assert len([b for b in blocks if b["why"] is None]) >= 4


def test_the_readme_uses_the_activated_environment():
    """Commands say `python`, not `.venv/bin/python` or `python3`, after `. .venv/bin/activate`."""
    text = (ROOT / "README.md").read_text()
    assert ". .venv/bin/activate" in text
    assert ".venv/bin/python" not in text and "python3 " not in text


@pytest.fixture(scope="module")
def fresh_folder(tmp_path_factory) -> Path:
    """A folder holding links to every entry of the checkout but `runs/` (README's outputs land here)."""
    folder = tmp_path_factory.mktemp("readme")
    for entry in ROOT.iterdir():
        if entry.name not in ("runs", ".git", ".venv"):
            (folder / entry.name).symlink_to(entry)
    return folder


@pytest.mark.parametrize("body", _runnable())
def test_readme_block_runs(body: str, fresh_folder: Path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": child_pythonpath(fresh_folder)}  # + tests/subprocess_site, as every launch of the suite
    env.pop("MIST_DS_PROFILES", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=fresh_folder, env=env, text=True,
                          capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"README block failed (exit {done.returncode}):\n{body}\n{done.stderr[-3000:]}"
