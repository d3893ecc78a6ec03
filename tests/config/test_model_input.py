"""--model as a user gives it (issue 12 item 4): a downloaded Hugging Face snapshot folder, a Hub id that
was never downloaded, a folder without config.json, an unsupported model_type: each tunes or ends with
one line that says what to do (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mist_ds.autotune import main as autotune_main
from mist_ds.config import resolve_model
from mist_ds.config.hf_import import SUPPORTED_MODEL_TYPES

HF = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
ARGS = ["--gpus-per-node", "2", "--global-batch", "8", "--seq-len", "256", "--top", "1", "--json"]


def _snapshot(tmp_path: Path, base: str = "qwen2-0.5b", drop_name: bool = True) -> Path:
    """The layout `hf download` / from_pretrained leave in the Hub cache."""
    folder = tmp_path / "hub" / "models--Qwen--Qwen2-0.5B" / "snapshots" / "0123abcd"
    folder.mkdir(parents=True)
    cfg = json.loads((HF / base / "config.json").read_text())
    if drop_name:
        cfg.pop("_name_or_path", None)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def test_a_downloaded_snapshot_folder_tunes_and_is_named_after_its_repo(tmp_path, capsys):
    folder = _snapshot(tmp_path)
    spec = resolve_model(str(folder))
    assert spec.name == "Qwen/Qwen2-0.5B" and spec.family == "llama"
    assert autotune_main(["--model", str(folder), *ARGS]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["plans"][0]["plan"]["model"]["name"] == "Qwen/Qwen2-0.5B"


def test_a_folder_in_the_working_directory_needs_no_slash(tmp_path, monkeypatch, capsys):
    shutil.copytree(HF / "gpt2", tmp_path / "my-gpt2")
    monkeypatch.chdir(tmp_path)
    assert autotune_main(["--model", "my-gpt2", *ARGS]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(("given", "message"), [
    ("meta-llama/Llama-2-7b-hf", "neither a preset nor a local path: mist_ds reads config.json offline; "
                                 "download it first (`hf download meta-llama/Llama-2-7b-hf config.json"),
    ("EMPTY", "holds no config.json"),
])
def test_what_cannot_be_read_says_what_to_pass(given, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "EMPTY").mkdir()
    assert autotune_main(["--model", given, *ARGS]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_unsupported_model_type_lists_the_supported_families(tmp_path, capsys):
    cfg = json.loads((HF / "gpt2" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "model_type": "t5"}))
    assert autotune_main(["--model", str(tmp_path), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "model_type 't5' is not supported" in err and ", ".join(SUPPORTED_MODEL_TYPES) in err
    assert err.count("\n") == 1
