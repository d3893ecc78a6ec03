#!/usr/bin/env python3
"""One block's GEMMs timed back to back, in sequence, and between other kernels (1 GPU).

    python3 bench/runtime/gemm_duty.py --out gemm_duty.json [--model llama3.2-1b] [--tokens 4096]

Session 27 found the Llama 3.2 1B block GEMMs ~5% faster in a profiled training step than the same
shapes timed back to back (bench/results/runtime/gemm_insitu_S27/). Candidates: the clock a GEMM runs
at (a GEMM loop draws the card's power limit; a training step mixes in memory-bound kernels and host
gaps), the input data (bit toggling sets the power), and the order of shapes. Each mode times the
block's GEMMs (cost/layer_time.py block_parts: forward, input and weight gradient of every linear,
bench/runtime/gemm_insitu.py gemm_shapes) with a CUDA event pair around each GEMM:

- back_to_back: each shape alone, `repeats` times in a row (the profile's way);
- sequence: the block's GEMMs in order, the sequence repeated;
- sequence_elementwise: as sequence, a bandwidth-bound multiply over a (tokens x 4 hidden) bf16
  tensor after each GEMM (a training step's element-wise share);
- sequence_idle: as sequence, the GPU spinning idle (torch.cuda._sleep) after each GEMM;
- sequence_init_scale: as sequence, weights ~ N(0, 0.02) as the runtime initialises them.
Writes per mode and GEMM the median milliseconds, the mode's wall-clock span (UTC, to align with
nvidia-smi's clock log) and, where pynvml imports, the SM clock sampled during the mode.

--sweep adds the duty-cycle sweeps (session 29): the block's GEMM sequence with an idle gap of N GPU cycles
(torch.cuda._sleep) after each GEMM, N in SLEEP_CYCLES, and with K bandwidth-bound fillers after each GEMM,
K in FILLERS; each records the GEMM sum, the wall time per sequence (so the GEMM share of the GPU's time),
and the SM clock and power. A step runs its GEMMs at a clock set by the whole step's power; this measures
how the GEMMs' time depends on the share of lower-power work around them.

--window: the power controller's averaging window. The GEMM sequence runs in bursts of half a period, the GPU
idle for the other half (the host sleeps after a synchronize), for each period in PERIODS_MS; GEMMs that run
at the loop's clock within bursts mean a window shorter than the burst, at the half-duty clock a longer one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.runtime.gemm_insitu import gemm_shapes  # noqa: E402
from mist_ds.config import get_preset  # noqa: E402

MODES = ("back_to_back", "sequence", "sequence_elementwise", "sequence_idle", "sequence_init_scale")
SLEEP_CYCLES = (0, 100_000, 300_000, 1_000_000, 3_000_000)
"""Idle gaps of the sweep, GPU cycles (~0.05 .. 2 ms at 1.5-2 GHz)."""
FILLERS = (1, 4, 16)
"""Bandwidth-bound fillers (a multiply over tokens x 4 hidden bf16) after each GEMM in the sweep."""
PERIODS_MS = (10, 40, 160, 640, 2560)
"""Burst + idle periods of --window (half each)."""


class ClockSampler:
    """SM clock (MHz) and power (W) every 50 ms through pynvml, when it imports."""

    def __init__(self):
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nvml, self.handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # noqa: BLE001 - pynvml absent or no NVML: the call's nvidia-smi log stands in
            self.nvml = None
        self.samples: list[tuple[int, float]] = []
        self._stop = threading.Event()

    def __enter__(self):
        self.samples, self._stop = [], threading.Event()
        if self.nvml:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.05):
            clock = self.nvml.nvmlDeviceGetClockInfo(self.handle, self.nvml.NVML_CLOCK_SM)
            power = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3
            self.samples.append((clock, power))

    def __exit__(self, *exc):
        self._stop.set()
        if self.nvml:
            self._thread.join()

    def summary(self) -> dict:
        if not self.samples:
            return {}
        clocks, powers = zip(*self.samples)
        return {"sm_mhz_median": statistics.median(clocks), "sm_mhz_min": min(clocks),
                "power_w_median": statistics.median(powers), "samples": len(clocks)}


def operands(torch, shapes, scale: float, dev):
    """Two input sets per GEMM (rotated so consecutive repeats do not reuse one)."""
    sets = []
    for _, m, n, k in shapes:
        sets.append([(torch.randn(m, k, device=dev, dtype=torch.bfloat16),
                      torch.randn(n, k, device=dev, dtype=torch.bfloat16) * scale,
                      torch.empty(m, n, device=dev, dtype=torch.bfloat16)) for _ in range(2)])
    return sets


def timed_sequence(torch, sets, repeats: int, between=None) -> list[list[float]]:
    """Milliseconds of each GEMM per repeat of the whole sequence."""
    events = []
    for r in range(repeats):
        row = []
        for gemm_sets in sets:
            x, w, y = gemm_sets[r % 2]
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            torch.mm(x, w.t(), out=y)
            end.record()
            row.append((start, end))
            if between:
                between()
        events.append(row)
    torch.cuda.synchronize()
    return [[s.elapsed_time(e) for s, e in row] for row in events]


def timed_back_to_back(torch, sets, repeats: int) -> list[list[float]]:
    """Each GEMM `repeats` times in a row; returned per repeat like timed_sequence."""
    per_gemm = []
    for gemm_sets in sets:
        per_gemm.append([ms[0] for ms in timed_sequence(torch, [gemm_sets], repeats)])
    return [list(row) for row in zip(*per_gemm)]


def run_mode(torch, mode: str, shapes, dev, repeats: int, hidden: int, tokens: int) -> dict:
    sets = operands(torch, shapes, 0.02 if mode == "sequence_init_scale" else 1.0, dev)
    filler = torch.randn(tokens, 4 * hidden, device=dev, dtype=torch.bfloat16)
    between = {"sequence_elementwise": lambda: filler.mul_(1.0),
               "sequence_idle": lambda: torch.cuda._sleep(100_000)}.get(mode)
    run = (lambda n: timed_back_to_back(torch, sets, n)) if mode == "back_to_back" else (
        lambda n: timed_sequence(torch, sets, n, between))
    run(max(3, repeats // 10))  # warm-up: algorithm choice, clocks
    sampler = ClockSampler()
    begin = time.time()
    with sampler:
        rows = run(repeats)
    end = time.time()
    medians = [statistics.median(col) for col in zip(*rows)]
    return {"mode": mode, "utc_begin": begin, "utc_end": end, "clock": sampler.summary(),
            "gemm_ms": {label: ms for (label, *_), ms in zip(shapes, medians)}, "sum_ms": sum(medians)}


def sweep_point(torch, shapes, dev, repeats: int, hidden: int, tokens: int, sleep: int = 0,
                fillers: int = 0) -> dict:
    """The sequence with `sleep` idle cycles or `fillers` bandwidth-bound kernels after each GEMM."""
    sets = operands(torch, shapes, 1.0, dev)
    filler = torch.randn(tokens, 4 * hidden, device=dev, dtype=torch.bfloat16)

    def between():
        if sleep:
            torch.cuda._sleep(sleep)
        for _ in range(fillers):
            filler.mul_(1.0)

    timed_sequence(torch, sets, max(3, repeats // 10), between)
    sampler = ClockSampler()
    torch.cuda.synchronize()
    begin = time.time()
    with sampler:
        rows = timed_sequence(torch, sets, repeats, between)
    end = time.time()
    sums = [sum(row) for row in rows]
    wall_ms = (end - begin) * 1e3 / repeats
    return {"sleep_cycles": sleep, "fillers": fillers, "utc_begin": begin, "utc_end": end,
            "clock": sampler.summary(), "sum_ms": statistics.median(sums), "wall_ms_per_sequence": wall_ms,
            "gemm_share": statistics.median(sums) / wall_ms}


def run_sweep(torch, shapes, dev, repeats: int, hidden: int, tokens: int) -> list[dict]:
    points = [dict(sleep=n) for n in SLEEP_CYCLES] + [dict(fillers=k) for k in FILLERS]
    records = []
    for point in points:
        record = sweep_point(torch, shapes, dev, repeats, hidden, tokens, **point)
        records.append(record)
        print(f"sweep {point} share {record['gemm_share']:.3f} sum {record['sum_ms']:7.3f} ms  "
              f"clock {record['clock']}", flush=True)
    return records


def window_point(torch, shapes, dev, period_ms: float, seconds: float = 6.0) -> dict:
    """Bursts of the sequence for period/2, idle for period/2, over `seconds`."""
    sets = operands(torch, shapes, 1.0, dev)
    timed_sequence(torch, sets, 20)
    sampler = ClockSampler()
    sums, begin = [], time.time()
    with sampler:
        while time.time() - begin < seconds:
            burst_began = time.time()
            rows = []
            while (time.time() - burst_began) * 1e3 < period_ms / 2:
                rows += timed_sequence(torch, sets, 1)  # synchronizes: the burst's length is real GPU time
            sums += [sum(row) for row in rows]
            time.sleep(period_ms / 2e3)
    return {"period_ms": period_ms, "sequences": len(sums), "sum_ms": statistics.median(sums),
            "clock": sampler.summary(), "utc_begin": begin}


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="llama3.2-1b")
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2, help="every mode this many times, interleaved")
    instead = parser.add_mutually_exclusive_group()
    instead.add_argument("--sweep", action="store_true", help="the duty-cycle sweeps instead of the modes")
    instead.add_argument("--window", action="store_true", help="the burst/idle periods instead of the modes")
    args = parser.parse_args()
    model, dev = get_preset(args.model), torch.device("cuda")
    shapes = gemm_shapes(model, args.tokens)
    if args.window:
        points = []
        for period in (*PERIODS_MS, 0):  # 0: back to back, the reference
            point = window_point(torch, shapes, dev, period) if period else sweep_point(
                torch, shapes, dev, args.repeats, model.hidden_size, args.tokens)
            points.append(point)
            print(f"window {period} ms: sum {point['sum_ms']:7.3f} ms  clock {point['clock']}", flush=True)
        Path(args.out).write_text(json.dumps({"device": torch.cuda.get_device_name(), "model": args.model,
                                              "tokens": args.tokens, "window": points}, indent=1))
        return 0
    if args.sweep:
        sweep = [run_sweep(torch, shapes, dev, args.repeats, model.hidden_size, args.tokens)
                 for _ in range(args.rounds)]
        Path(args.out).write_text(json.dumps({"device": torch.cuda.get_device_name(), "model": args.model,
                                              "tokens": args.tokens, "sweep": sweep}, indent=1))
        return 0
    results = []
    for round_ in range(args.rounds):
        for mode in MODES:
            record = run_mode(torch, mode, shapes, dev, args.repeats, model.hidden_size, args.tokens)
            record["round"] = round_
            results.append(record)
            print(f"round {round_} {mode:22s} sum {record['sum_ms']:7.3f} ms  clock {record['clock']}", flush=True)
    labels = [label for label, *_ in shapes]
    for label in labels:
        print(f"{label:22s} " + " ".join(f"{statistics.median(r['gemm_ms'][label] for r in results if r['mode'] == m):7.3f}"
                                         for m in MODES))
    Path(args.out).write_text(json.dumps({"device": torch.cuda.get_device_name(), "model": args.model,
                                          "tokens": args.tokens, "modes": MODES, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
