"""CPU optimizer-step rate (DeepSpeed CPU Adam, fp32 parameters per second) vs thread count.

DeepSpeed's op JIT-builds on first use (~35 s); `start_build()` starts that in a background
process at the profiler's start so it overlaps the GPU measurements. The thread count is set in
every OpenMP runtime loaded in the process (torch's bundled libgomp and the one the op links may
differ), so one process measures every count. Where the op cannot be built, torch's own Adam
(foreach) on CPU is measured instead and the records say so.

Beside each Adam rate: the host's fp32 -> bf16 cast of the same parameters (`Tensor.copy_` into a
bf16 buffer, pinned where a GPU is present), which mistpipe's cpu_adam path runs after every unit's
Adam (runtime/mistpipe/optimizer.py finish_unit). And, on a GPU node, how much longer Adam + cast
take at the core count while every GPU copies device memory into pinned host memory
(`step_beside_d2h`): that path runs its Adam while the late gradients still land
(optimizer.py _send_late), and the DMA writes share the host's memory bandwidth.
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


def _once_s(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call of `fn`."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _median_s(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall seconds of `repeats` calls of `fn` (after one untimed call)."""
    fn()
    return sorted(_once_s(fn) for _ in range(repeats))[repeats // 2]


def _cast_buffer(numel: int) -> Any:
    import torch

    return torch.empty(numel, dtype=torch.bfloat16, pin_memory=torch.cuda.is_available())


def cpu_adam(numel: int, cores: int, repeats: int, build: subprocess.Popen[bytes] | None,
             tick: Callable[[], None]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(per thread count: median fp32 params/s of one optimizer step and of the fp32 -> bf16 cast;
    step_beside_d2h's record at the core count, None without a GPU)."""
    opt, p, impl = _optimizer(numel, build)
    host16 = _cast_buffer(numel)
    opt.step()
    out = []
    for n in thread_counts(cores):
        _set_threads(n)
        out.append({"num_threads": n, "params_per_s": numel / _median_s(opt.step, repeats), "impl": impl,
                    "cast_params_per_s": numel / _median_s(lambda: host16.copy_(p.detach()), repeats)})
        tick()
    beside = step_beside_d2h(lambda: (opt.step(), host16.copy_(p.detach())), numel, repeats)
    _set_threads(os.cpu_count() or 1)
    return out, beside


D2H_CHUNK_BYTES = 256 * 2**20
"""Bytes of each device-to-host copy queued under the host's step (step_beside_d2h)."""


def step_beside_d2h(step: Callable[[], Any], numel: int, repeats: int) -> dict[str, Any] | None:
    """Median seconds of `step` (Adam + cast of `numel` parameters, at the thread count set) alone, and
    while every GPU of the node copies device memory into pinned host memory the whole time (each rank's
    late gradients land at once; copies queued for 3x the step's first time alone at GPU 0's rate;
    `outlasted` says whether they ran until the step ended in every repeat). The two alternate, repeat by
    repeat, so a disturbance of the host (seen once: a run's Adam + cast alone at twice its usual time,
    slower than beside the copies) falls on both. None without a GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    lanes = [_d2h_lane(device) for device in range(torch.cuda.device_count())]
    src, dst, stream = lanes[0]
    with torch.cuda.stream(stream):
        one_copy_s = _once_s(lambda: (dst.copy_(src, non_blocking=True), stream.synchronize()))
    copies = max(4, int(3 * _median_s(step, 1) / one_copy_s) + 1)
    alone, beside, outlasted = [], [], True
    for _ in range(repeats):
        alone.append(_once_s(step))
        for src, dst, stream in lanes:
            with torch.cuda.stream(stream):
                for _ in range(copies):
                    dst.copy_(src, non_blocking=True)
        beside.append(_once_s(step))
        outlasted = outlasted and not any(stream.query() for _, _, stream in lanes)
        for _, _, stream in lanes:
            stream.synchronize()
    return {"numel": numel, "alone_s": sorted(alone)[repeats // 2], "beside_s": sorted(beside)[repeats // 2],
            "outlasted": outlasted, "gpus": len(lanes), "d2h_gbps_alone": D2H_CHUNK_BYTES / one_copy_s / 1e9}


def _d2h_lane(device: int) -> tuple[Any, Any, Any]:
    """(device buffer, pinned host buffer, side stream) of D2H_CHUNK_BYTES for copies from GPU `device`."""
    import torch

    with torch.cuda.device(device):
        return (torch.empty(D2H_CHUNK_BYTES, dtype=torch.uint8, device=f"cuda:{device}"),
                torch.empty(D2H_CHUNK_BYTES, dtype=torch.uint8, pin_memory=True), torch.cuda.Stream())
