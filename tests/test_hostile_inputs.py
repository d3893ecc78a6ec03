"""Issue 11's hostile inputs, in-process through mist_ds.autotune.main: each ends with exit 2 (or 3)
and exactly one stderr line within 5 s, and writes nothing (not even temporary files)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mist_ds import autotune
from mist_ds.search.space import divisors

ROOT = Path(__file__).resolve().parents[1]
LLAMA = json.loads((ROOT / "tests" / "data" / "hf_configs" / "llama-2-7b" / "config.json").read_text())
SMALL = ["--global-batch", "8", "--seq-len", "1024", "--top", "1"]
GPT = ["--model", "gpt-125m", "--gpus-per-node", "2", *SMALL]


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in root.rglob("*")}


def _hf(tmp: Path, **changes) -> str:
    (tmp / "config.json").write_text(json.dumps({**LLAMA, **changes}))
    return str(tmp / "config.json")


def _hostfile(tmp: Path, text: str) -> str:
    (tmp / "hosts").write_text(text)
    return str(tmp / "hosts")


def _launch_sh_is_a_folder(tmp: Path) -> str:
    (tmp / "out" / "launch.sh").mkdir(parents=True)
    return str(tmp / "out")


def _afile(tmp: Path) -> str:
    (tmp / "afile").write_text("x")
    return str(tmp / "afile" / "sub")


# (argv builder, exit code, text the one stderr line must contain)
CASES = {
    "hostfile slots=1e20": (lambda t: ["--model", "gpt-125m", "--hostfile",
                                       _hostfile(t, "a slots=99999999999999999999\n"), *SMALL],
                            2, "above the limit of 1024 GPUs per node"),
    "--gpus-per-node 1e20": (lambda t: ["--model", "gpt-125m", "--gpus-per-node", "1e20", *SMALL],
                             2, "invalid int value"),
    "--gpus-per-node 10**20": (lambda t: ["--model", "gpt-125m", "--gpus-per-node", str(10**20), *SMALL],
                               2, "gpus_per_node: Input should be less than or equal to 1024"),
    "--gpus-per-node 1000000": (lambda t: ["--model", "gpt-125m", "--gpus-per-node", "1000000", *SMALL],
                                2, "gpus_per_node: Input should be less than or equal to 1024"),
    "num_hidden_layers 1e9": (lambda t: ["--model", _hf(t, num_hidden_layers=10**9), "--gpus-per-node", "2",
                                         *SMALL], 2, "num_hidden_layers: Input should be less than or equal"),
    "num_hidden_layers 1e5": (lambda t: ["--model", _hf(t, num_hidden_layers=10**5), "--gpus-per-node", "2",
                                         *SMALL], 2, "num_hidden_layers: Input should be less than or equal"),
    "num_hidden_layers 2000": (lambda t: ["--model", _hf(t, num_hidden_layers=2000), "--gpus-per-node", "2",
                                          *SMALL], 2, "num_hidden_layers: Input should be less than or equal"),
    "--out existing_file/sub": (lambda t: [*GPT, "--out", _afile(t)], 2, "exists and is not a folder"),
    "--out unwritable": (lambda t: [*GPT, "--out", "/proc/no-such/out"], 2, "cannot write in /proc"),
    "--out launch.sh is a folder": (lambda t: [*GPT, "--out", _launch_sh_is_a_folder(t)],
                                    2, "launch.sh is a folder where a file is written"),
    "num_attention_heads 0": (lambda t: ["--model", _hf(t, num_attention_heads=0), "--gpus-per-node", "2",
                                         *SMALL], 2, "num_attention_heads must be at least 1, got 0"),
    'hidden_size "4096"': (lambda t: ["--model", _hf(t, hidden_size="4096"), "--gpus-per-node", "2", *SMALL],
                           2, 'hidden_size must be an integer, got "4096"'),
    "--memory-gb inf": (lambda t: [*GPT, "--memory-gb", "inf"], 2, "--memory-gb must be positive, got inf"),
    "--memory-gb nan": (lambda t: [*GPT, "--memory-gb", "nan"], 2, "--memory-gb must be positive, got nan"),
    "--memory-gb 1e9": (lambda t: [*GPT, "--memory-gb", "1e9"], 2, "--memory-gb 1e+09 is above the limit"),
    "--memory-gb 1000": (lambda t: [*GPT, "--memory-gb", "1000"], 2, "--force-memory"),
    '--out ""': (lambda t: [*GPT, "--out", ""], 2, "--out is empty"),
    "num_key_value_heads 0": (lambda t: ["--model", _hf(t, num_key_value_heads=0), "--gpus-per-node", "2",
                                         *SMALL], 2, "num_key_value_heads must be at least 1, got 0"),
    "host -rf": (lambda t: ["--model", "gpt-125m", "--hostfile", _hostfile(t, "-rf slots=2\n"), *SMALL],
                 2, "host name '-rf' is refused"),
    "host with shell metacharacters": (lambda t: ["--model", "gpt-125m", "--hostfile",
                                                  _hostfile(t, "a$(reboot) slots=2\n"), *SMALL], 2, "is refused"),
    "multi-node --out with a space": (lambda t: ["--model", "gpt-125m", "--nodes", "2", "--gpus-per-node", "2",
                                                 *SMALL, "--out", str(t / "a b")], 2, "passed unquoted"),
    "--model /dev/zero": (lambda t: ["--model", "/dev/zero", "--gpus-per-node", "2", *SMALL],
                          2, "larger than 16 MiB"),
    "--hardware /dev/zero": (lambda t: [*GPT, "--hardware", "/dev/zero"], 2, "not a hardware profile file"),
    "model_type bert": (lambda t: ["--model", _hf(t, model_type="bert"), "--gpus-per-node", "2", *SMALL],
                        2, "supported families: gpt2, gpt_neox, llama, mistral, phi3, qwen2"),
    "no layout splits the batch": (lambda t: ["--model", "gpt-125m", "--gpus-per-node", "1024", *SMALL],
                                   3, "no layout of the search space splits global batch 8 over 1024 GPUs"),
    "search too large": (lambda t: ["--model", _hf(t, num_hidden_layers=256), "--nodes", "720",
                                    "--gpus-per-node", "8", "--global-batch", "720720", "--seq-len", "1024",
                                    "--max-micro-batch", "1048576"], 2, "stage strategies"),
    "--out name too long": (lambda t: [*GPT, "--out", str(t / "new" / ("b" * 250))], 2, "name too long"),
    "--model 5000 characters": (lambda t: ["--model", "a" * 5000, "--gpus-per-node", "2", *SMALL],
                                2, "5000 characters long"),
    "--top 1000000": (lambda t: [*GPT, "--top", "1000000"], 2, "--top must be between 1 and 100"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_ends_in_one_line(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    build, code, needle = CASES[name]
    monkeypatch.chdir(tmp_path)
    argv = build(tmp_path)
    before = _tree(tmp_path)
    start = time.perf_counter()
    got = autotune.main(argv)
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert got == code, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert needle in err, err
    assert elapsed < 5.0, f"{name}: {elapsed:.1f} s"
    assert _tree(tmp_path) == before


def test_model_folder_tunes_and_rerun_replaces_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    cfg = {**LLAMA, "num_hidden_layers": 2, "hidden_size": 256, "intermediate_size": 512,
           "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1024}
    (tmp_path / "model" / "config.json").write_text(json.dumps(cfg))
    args = ["--model", "model", "--gpus-per-node", "2", *SMALL, "--out", "runs/x"]
    assert autotune.main(args) == 0, capsys.readouterr().err
    first = _tree(tmp_path / "runs")
    assert {"x/plan.json", "x/launch.sh", "x/hostfile"} <= set(first)
    assert autotune.main([*args[:3], "4", *args[4:]]) == 0, capsys.readouterr().err
    assert (tmp_path / "runs" / "x" / "hostfile").read_text() == "localhost slots=4\n"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["x"]  # no temporary siblings


def test_memory_cap_above_the_card_can_be_forced(capsys: pytest.CaptureFixture[str]) -> None:
    assert autotune.main([*GPT, "--memory-gb", "1000", "--force-memory", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["search"]["memory_cap_bytes"] == 1000 * 1024**3


def test_divisors_is_exact_and_sublinear() -> None:
    for n in range(1, 500):
        assert divisors(n) == [d for d in range(1, n + 1) if n % d == 0]
    start = time.perf_counter()
    assert len(divisors(2**40)) == 41 and divisors(10**10 + 19) == [1, 10**10 + 19]  # a prime
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ValueError):
        divisors(0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_unwritable_out_is_refused_before_searching(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert autotune.main([*GPT, "--out", str(locked / "out")]) == 2
    assert "cannot write in" in capsys.readouterr().err
