"""Source digests (mist_ds/source_version.py): RunReport.runtime_digest, which version of the training code a
run used, and the cost model's, which the accuracy report records."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from mist_ds.config import RunReport
from mist_ds.source_version import (COST_MODEL_SOURCES, DIGEST_HEX, PACKAGE, cost_model_digest, runtime_digest,
                                    source_digest)


def _tree(root, files: dict[str, str]):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_digest_follows_the_training_sources_and_nothing_else(tmp_path):
    base = {"runtime/a.py": "x = 1\n", "runtime/sub/b.py": "y = 2\n", "train.py": "main()\n",
            "cost/c.py": "z = 3\n", "runtime/notes.md": "text\n"}
    digest = source_digest(_tree(tmp_path / "one", base))
    assert re.fullmatch(f"[0-9a-f]{{{DIGEST_HEX}}}", digest)
    assert source_digest(_tree(tmp_path / "two", base)) == digest                 # same sources, same digest
    outside = {**base, "cost/c.py": "z = 4\n", "runtime/notes.md": "other\n"}    # not training code
    assert source_digest(_tree(tmp_path / "three", outside)) == digest
    for changed in ({**base, "runtime/sub/b.py": "y = 3\n"}, {**base, "train.py": "main(1)\n"},
                    {**base, "runtime/new.py": ""}):
        assert source_digest(_tree(tmp_path / str(len(list(tmp_path.iterdir()))), changed)) != digest
    # a file's bytes cannot be moved into its neighbour's without changing the digest
    moved = {**base, "runtime/a.py": "", "runtime/sub/b.py": "x = 1\ny = 2\n"}
    assert source_digest(_tree(tmp_path / "moved", moved)) != digest


def test_this_package_has_a_digest_and_reports_accept_only_its_form():
    assert runtime_digest() == source_digest(PACKAGE) and len(runtime_digest()) == DIGEST_HEX
    fields = dict(status="ok", plan_hash="h", gpu_name="cpu", num_gpus=1, torch_version="t",
                  deepspeed_version="d", num_steps=1, num_warmup_steps=0)
    assert RunReport(**fields).runtime_digest == ""                  # older reports: not recorded
    assert RunReport(**fields, runtime_digest=runtime_digest()).runtime_digest == runtime_digest()
    with pytest.raises(ValidationError):
        RunReport(**fields, runtime_digest="not-a-digest")


def test_the_cost_model_digest_covers_the_cost_model_only(tmp_path):
    files = {"cost/a.py": "x = 1\n", "runtime/b.py": "y = 2\n"}
    digest = source_digest(_tree(tmp_path / "one", files), COST_MODEL_SOURCES)
    assert source_digest(_tree(tmp_path / "two", {**files, "runtime/b.py": "y = 3\n"}), COST_MODEL_SOURCES) == digest
    assert source_digest(_tree(tmp_path / "three", {**files, "cost/a.py": "x = 2\n"}), COST_MODEL_SOURCES) != digest
    assert cost_model_digest() == source_digest(PACKAGE, COST_MODEL_SOURCES) != runtime_digest()
