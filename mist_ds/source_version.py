"""Which version of mist_ds's code produced a number: digests of its sources. The training code's
(RunReport.runtime_digest: which engine a run measured) and the cost model's (bench/results/accuracy.json
cost_model_digest: which model scored the committed runs).

No torch here: mist_ds/run.py (the launcher, which reports a killed run itself), the runtime's reporting
and the accuracy report all call it. Pure apart from reading the package's own files.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
RUNTIME_SOURCES = ("runtime", "train.py")
"""What trains, relative to the mist_ds package: a folder's *.py files (recursively) or one file. The cost
model, search and emit are left out: they do not change what a run measures."""
COST_MODEL_SOURCES = ("cost",)
"""The cost model's code, relative to the mist_ds package (its rates come from the hardware profiles, which
carry their own provenance)."""
DIGEST_HEX = 16
"""Hex digits kept (64 bits: no collision among a project's versions)."""


def source_digest(root: Path, sources: tuple[str, ...] = RUNTIME_SOURCES) -> str:
    """The first DIGEST_HEX hex digits of the SHA-256 over each source file's path (relative to `root`,
    '/'-separated) and bytes, in sorted path order; a missing source counts as absent."""
    files = []
    for name in sources:
        path = root / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda f: f.relative_to(root).as_posix()):
        rel = path.relative_to(root).as_posix().encode()
        digest.update(len(rel).to_bytes(4, "big") + rel)
        data = path.read_bytes()
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:DIGEST_HEX]


@lru_cache(maxsize=1)
def runtime_digest() -> str:
    """source_digest of this installed mist_ds's training code (computed once a process)."""
    return source_digest(PACKAGE)


@lru_cache(maxsize=1)
def cost_model_digest() -> str:
    """source_digest of this installed mist_ds's cost model (mist_ds/cost/)."""
    return source_digest(PACKAGE, COST_MODEL_SOURCES)
