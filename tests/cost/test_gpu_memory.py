"""On a GPU: saved activations of the runtime's block (CUDA kernels) and the peak memory of
single-GPU plans on the real runtime, against the cost model. Skipped without CUDA."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu
sys.path.insert(0, str(Path(__file__).parent))   # gpu_memory_probe.py, in any import mode


@pytest.mark.parametrize("preset,batch,seq", [("gpt-350m", 2, 1024), ("llama-1.3b", 1, 2048)])
def test_saved_bytes_on_cuda(preset, batch, seq):
    from gpu_memory_probe import saved_block_bytes

    measured, predicted = saved_block_bytes(preset, batch, seq)
    assert measured == pytest.approx(predicted, rel=0.02)


def test_peak_memory_of_single_gpu_plans(tmp_path):
    """gpt-350m with ZeRO-0 and ZeRO-1 on the real runtime: within 3% (bench/results/
    cost_memory_h100.md has the full table)."""
    import json
    import subprocess

    out = tmp_path / "gpu_mem.json"
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("gpu_memory_probe.py")),
                           str(out), "--quick"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in json.loads(out.read_text())["plans"]:
        assert row["max_allocated"] == pytest.approx(row["predicted_peak"], rel=0.03)
