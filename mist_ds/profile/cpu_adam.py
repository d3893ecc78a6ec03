"""CPU optimizer-step rate (DeepSpeed CPU Adam, fp32 parameters per second) vs thread count.

DeepSpeed's op JIT-builds on first use (~35 s); `start_build()` starts that in a background
process at the profiler's start so it overlaps the GPU measurements. The thread count is set in
every OpenMP runtime loaded in the process (torch's bundled libgomp and the one the op links may
differ), so one process measures every count. Where the op cannot be built, torch's own Adam
(foreach) on CPU is measured instead and the records say so.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

BUILD_CODE = "from deepspeed.ops.op_builder import CPUAdamBuilder; CPUAdamBuilder().load()"


def start_build() -> subprocess.Popen[bytes] | None:
    """Build DeepSpeed's CPU Adam op in the background; None when deepspeed is absent."""
    try:
        import importlib.util
        if importlib.util.find_spec("deepspeed") is None:
            return None
    except ValueError:
        return None
    log = open(os.path.join(tempfile.gettempdir(), "mist_ds_cpu_adam_build.log"), "wb")  # noqa: SIM115
    # nice 19 and two ninja jobs: the build must not steal launch time from the GPU measurements
    cmd = [sys.executable, "-c", BUILD_CODE]
    if shutil.which("nice"):
        cmd = ["nice", "-n", "19", *cmd]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MAX_JOBS": "2"})


def thread_counts(cores: int) -> list[int]:
    """1, 2, 4, ... up to the core count, and the core count itself."""
    counts, t = [], 1
    while t < cores:
        counts.append(t)
        t *= 2
    return counts + [cores]


def _set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "omp" in line.rsplit("/", 1)[-1] and ".so" in line}
    for lib in libs:
        try:
            ctypes.CDLL(lib).omp_set_num_threads(n)
        except (OSError, AttributeError):
            continue


def _optimizer(numel: int, build: subprocess.Popen[bytes] | None) -> tuple[Any, Any, str]:
    import torch

    p = torch.nn.Parameter(torch.randn(numel))
    p.grad = torch.randn(numel)
    if build is not None:
        try:
            build.wait(timeout=600)
            from deepspeed.ops.adam import DeepSpeedCPUAdam

            return DeepSpeedCPUAdam([p], lr=1e-4), p, "deepspeed-cpu-adam"
        except Exception as err:  # noqa: BLE001 - any build/load failure falls back, and is recorded
            print(f"mist_ds.profile: DeepSpeed CPU Adam unavailable ({type(err).__name__}: {err}); "
                  "measuring torch Adam", file=sys.stderr)
    return torch.optim.Adam([p], lr=1e-4, foreach=True), p, "torch-adam-foreach"


def cpu_adam(numel: int, cores: int, repeats: int, build: subprocess.Popen[bytes] | None,
             tick: Callable[[], None]) -> list[dict[str, Any]]:
    """Median fp32 params/s of one optimizer step at each thread count."""
    opt, _, impl = _optimizer(numel, build)
    opt.step()
    out = []
    for n in thread_counts(cores):
        _set_threads(n)
        opt.step()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            opt.step()
            times.append(time.perf_counter() - t0)
        times.sort()
        out.append({"num_threads": n, "params_per_s": numel / times[len(times) // 2], "impl": impl})
        tick()
    _set_threads(os.cpu_count() or 1)
    return out
