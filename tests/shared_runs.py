"""Real CPU runs that tests in two files check, made once per session (tests/conftest.py imports the
fixtures): `make test` runs files on 2 xdist workers (--dist loadfile), where a session fixture would
still run once per worker, so the first test that asks makes the run under a lock in the session's
shared temp folder and every later one, on either worker, reads it (a failed run fails them all with
its message). Each run saves one `deepspeed` launch or more (15-30 s on 2 cores):

- parity_cpu_run: bench/runtime/parity.py on a tiny Llama, ZeRO-3 + recompute and pipeline pairs, traced
  (tests/bench/test_parity.py); its mist_ds sides are the 2-rank launch/train.py runs of a SwiGLU + RoPE
  model whose recorded kernels tests/runtime/test_report_kernels.py checks.
- batch_cpu_run: bench/accuracy/run_batch.py's five outcomes (tests/bench/test_run_batch.py); its 'oom'
  job is `deepspeed launch/train.py` of the zero1 plan with MIST_DS_FAULT=oom:1:0, the run
  tests/runtime/test_train_cli.py checks for exit code 3 on every rank.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import child_pythonpath

ROOT = Path(__file__).resolve().parents[1]
PARITY_CONFIGS = ("zero3-rc", "pp2")


def run_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder where `make(folder)` ran, once per session whichever worker asks first (others wait
    on the lock, then read). A failure is written to the folder and fails every caller."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the controller's temp folder: the workers' folders lie in it
    folder, done, failed = base / f"shared-{name}", base / f"shared-{name}.done", base / f"shared-{name}.failed"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists() and not failed.exists():
            folder.mkdir(exist_ok=True)
            try:
                make(folder)
            except Exception:
                failed.write_text(traceback.format_exc())
                raise
            done.touch()
    if failed.exists():
        pytest.fail(f"the shared run {name!r} failed (in another test):\n{failed.read_text()[-4000:]}", pytrace=False)
    return folder


def cpu_env() -> dict[str, str]:
    """Two CPU ranks (gloo), the running Python's environment first on PATH, this checkout imported."""
    return {**os.environ, "DS_ACCELERATOR": "cpu", "OMP_NUM_THREADS": "1", "PYTHONPATH": child_pythonpath(ROOT),
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def _parity(folder: Path) -> None:
    from tests.runtime.plans import LLAMA

    LLAMA.model_copy(update={"num_layers": 2}).save(folder / "tiny.json")
    proc = subprocess.run([sys.executable, "bench/runtime/parity.py", "run", "--out", str(folder / "out"),
                           "--model", str(folder / "tiny.json"), "--seq-len", "32", "--global-batch", "8",
                           "--configs", ",".join(PARITY_CONFIGS), "--trace", "--budget-s", "1100",
                           # the limits are estimated from the GPU profile's prediction; on a loaded 2-core
                           # CI host a traced 2-rank ZeRO-3 side took over their 152 s (sessions 27, 28)
                           "--min-limit-s", "400"],
                          cwd=ROOT, env=cpu_env(), capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="session")
def parity_cpu_run(tmp_path_factory) -> Path:
    """parity.py's output folder (parity.json, parity.md, plans/, reports/, traces/) of a 2-rank CPU run
    of the ZeRO-3 + recompute and pipeline pairs on a 2-layer tiny Llama, seq 32, batch 8, traced."""
    return run_once(tmp_path_factory, "parity", _parity) / "out"


def _batch(folder: Path) -> None:
    from tests.runtime.plans import CASES, GPT, make_plan

    one_rank = make_plan(GPT, [{"end": GPT.num_layers}], zero_stage=0, micro_batch=4)
    paths = {"one_a": folder / "one_a.plan.json", "two": folder / "two.plan.json"}
    one_rank.save(paths["one_a"])
    CASES["zero1"].save(paths["two"])
    jobs = [
        {"name": "one_a", "plan": str(paths["one_a"]), "steps": 3, "warmup": 1},
        {"name": "one_b", "plan": str(paths["one_a"]), "steps": 3, "warmup": 1},
        {"name": "oom", "plan": str(paths["two"]), "steps": 3, "warmup": 1, "env": {"MIST_DS_FAULT": "oom:1:0"}},
        {"name": "slow", "plan": str(paths["two"]), "steps": 3, "warmup": 1, "timeout_s": 3},
        {"name": "killed", "plan": str(paths["two"]), "train_script": str(ROOT / "tests/bench/fake_train.py")},
    ]
    (folder / "jobs.json").write_text(json.dumps(jobs))
    proc = subprocess.run([sys.executable, "bench/accuracy/run_batch.py", "--jobs", str(folder / "jobs.json"),
                           "--out", str(folder / "out"), "--gpus", "2", "--budget-s", "400"],
                          cwd=ROOT, env=cpu_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="session")
def batch_cpu_run(tmp_path_factory) -> tuple[Path, dict, dict]:
    """(the folder holding the jobs' plans, run_batch's bundle, its runs by job name) of one batch on 2
    CPU ranks: two 1-rank runs side by side (one_a, one_b: 1-rank GPT, ZeRO-0, micro-batch 4), an
    injected OOM (oom: the zero1 plan, MIST_DS_FAULT=oom:1:0), a 3 s time-out (slow), a rank killed by
    SIGKILL (killed: tests/bench/fake_train.py); 3 steps, 1 warm-up."""
    folder = run_once(tmp_path_factory, "batch", _batch)
    bundle = json.loads((folder / "out" / "accuracy_jobs.json").read_text())
    return folder, bundle, {run["case"]: run for run in bundle["runs"]}
