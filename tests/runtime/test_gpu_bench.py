"""bench/runtime/gpu_bench.py on the CPU: argument checks, a tiny-shape run of every section that
exists on the CPU, the JSON it writes, the picks, and the time budget."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpu_bench", ROOT / "bench/runtime/gpu_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CUDA_MISSING = [] if torch.cuda.is_available() else [["--device", "cuda"]]


@pytest.mark.parametrize("argv", [["--sections", "loss,nope"], ["--micro-batches", "1,x"],
                                  *CUDA_MISSING])
def test_bad_arguments_exit_2(bench, tmp_path, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["--out", str(tmp_path / "b.json"), "--device", "cpu", *argv])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_small_cpu_run_writes_every_section(bench, tmp_path, capsys):
    out = tmp_path / "b.json"
    assert bench.main(["--out", str(out), "--device", "cpu", "--small", "--micro-batches", "1,2"]) == 0
    result = json.loads(out.read_text())
    loss = result["loss"]["tiny"]["methods"]
    assert set(loss) == {"fp32", "chunked"}
    assert all(r["head"]["time_ms"] > 0 and r["loss"]["time_ms"] > 0 for r in loss.values())
    assert set(result["attention"]) == {"s64_h4_kv4_b2", "s64_h4_kv2_b2"}
    assert all(r["time_ms"] > 0 for by in result["attention"].values() for r in by.values())
    ops = result["ops"]["tiny-llama"]
    assert set(ops) == {"seq", "mb1", "mb2"}
    assert set(ops["mb1"]) == {"rmsnorm", "swiglu", "rope"}
    assert result["picks"]["ops"] == {"rmsnorm": "torch", "swiglu": "torch", "rope": "torch"}
    assert result["picks"]["loss"]["tiny"] in {"fp32", "chunked"}
    # the CPU measures only eager torch: it disagrees with the CUDA defaults where those fuse
    assert "swiglu: measured fastest 'torch', default 'liger'" in result["defaults_disagree"]
    assert "picks:" in capsys.readouterr().out


def test_spent_budget_skips_cases(bench, tmp_path):
    out = tmp_path / "b.json"
    bench.main(["--out", str(out), "--device", "cpu", "--small", "--budget-s", "0",
                "--sections", "attention"])
    result = json.loads(out.read_text())
    assert all(r == {"skipped": "time budget spent"}
               for by in result["attention"].values() for r in by.values())
    assert set(result["picks"]["attention"].values()) == {None}


def test_loss_pick_respects_the_memory_limit(bench):
    from bench.runtime import loss_bench

    def entry(head_ms, extra):
        return {"head": {"time_ms": head_ms}, "loss": {"time_ms": 1.0, "extra_bytes_per_logit": extra}}
    results = {"h": {"methods": {"fp32": entry(1.0, 10.0), "chunked": entry(2.0, 0.1),
                                 "liger": entry(1.5, 0.0), "broken": {"head": {"error": "x"}}}}}
    assert loss_bench.pick(results) == {"h": "liger"}
    assert loss_bench.pick(results, max_bytes_per_logit=20.0) == {"h": "fp32"}
