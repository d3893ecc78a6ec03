"""Same seed and data -> the same loss curve, whatever the plan's memory/parallelism strategy.

All cases run in ONE pair of CPU processes (deepspeed launcher, gloo, fp32) to keep the suite fast:
ZeRO 0/1/2/3, pipeline (uneven 1|3 split, tied embeddings) vs none, TP 2 vs 1 (Llama: GQA, RoPE,
SwiGLU, untied head), recompute on vs off (also per-stage counts in a pipeline), optimizer offload
(CPU Adam) on vs off, activation offload on vs off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .plans import CASES, PAIRS

pytestmark = pytest.mark.distributed
ROOT = Path(__file__).resolve().parents[2]
LOSS_RTOL, NORM_RTOL = 1e-5, 1e-4


def deepspeed_cmd(hostfile: Path, port: int, script: str, *args: str) -> list[str]:
    """A 2-rank CPU `deepspeed` launch of `script` (single localhost host: no ssh)."""
    return [str(Path(sys.executable).with_name("deepspeed")), "--hostfile", str(hostfile),
            "--no_ssh_check", "--master_addr", "127.0.0.1", "--master_port", str(port), script, *args]


def cpu_env() -> dict[str, str]:
    return {**os.environ, "DS_ACCELERATOR": "cpu", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def curves(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("equivalence")
    hostfile = tmp / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    out = tmp / "curves.json"
    cmd = deepspeed_cmd(hostfile, 29631, "tests/runtime/equivalence_worker.py",
                        "--cases", ",".join(CASES), "--out", str(out), "--steps", "4")
    proc = subprocess.run(cmd, cwd=ROOT, env=cpu_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_training_moves_the_loss_far_beyond_the_tolerance(curves):
    losses = curves["zero1"]["losses"]
    assert max(abs(l - losses[0]) for l in losses[1:]) > 100 * LOSS_RTOL * losses[0]


@pytest.mark.parametrize("reference,other", PAIRS, ids=[f"{a}-vs-{b}" for a, b in PAIRS])
def test_same_loss_curve(curves, reference, other):
    ref, got = curves[reference], curves[other]
    assert got["losses"] == pytest.approx(ref["losses"], rel=LOSS_RTOL)
    norms = [(a, b) for a, b in zip(ref["grad_norms"], got["grad_norms"]) if None not in (a, b)]
    for a, b in norms:
        assert b == pytest.approx(a, rel=NORM_RTOL)
