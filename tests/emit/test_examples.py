"""ds_configs/ holds exactly what `make examples` produces now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("ds_configs_generate", ROOT / "ds_configs" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


@pytest.mark.parametrize("name", sorted(generate.EXAMPLES))
def test_example_is_up_to_date(name):
    for file_name, data in generate.render_example(name).items():
        committed = (ROOT / "ds_configs" / name / file_name).read_bytes()
        assert committed == data, f"ds_configs/{name}/{file_name} drifted: run `make examples`"


def test_readme_lists_every_example():
    assert (ROOT / "ds_configs" / "README.md").read_text() == generate.readme()
