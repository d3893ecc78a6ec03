"""The pure core imports without torch, torch.distributed, deepspeed or rich (DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE = ["mist_ds.config", "mist_ds.cost", "mist_ds.search", "mist_ds.emit"]
FORBIDDEN = ["torch", "torch.distributed", "deepspeed", "rich"]


def _pure_modules() -> list[str]:
    """Every module file under the pure packages, so a late import in a submodule is caught too."""
    names = []
    for package in PURE:
        folder = ROOT / package.replace(".", "/")
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            names.append(".".join(parts))
    return names


def test_pure_core_imports_nothing_heavy() -> None:
    modules = _pure_modules()
    assert "mist_ds.config.plan" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"pure core pulled in: {result.stdout.strip()}"
