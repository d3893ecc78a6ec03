#!/usr/bin/env python3
"""Memory-bound kernels timed from an idle GPU and behind a GPU hold, side by side (GPU; --read on CPU).

    python bench/runtime/memory_gate.py [--passes N] [--gate-s S] > m.log     # on the GPU
    python bench/runtime/memory_gate.py --read m.log [--profile NAME]        # anywhere

On the GPU: N pairs of passes of mist_ds.profile.compute.memory_kernels at the profiler's full grid (256 Mi
elements a tensor), ungated then behind a hold of S seconds (default the profiler's ATTENTION_GATE_S), each
pass one JSON line {"gate_s", "kernels"}. The shipped profiles timed these kernels ungated (one call between
two events on an idle GPU, so a sample also holds the host's launch of the kernel); --read prints, per kernel,
the median time of either timing over the passes, their ratio and, with --profile, the profile's own sample.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.cli import OneLineParser  # noqa: E402


def read_passes(path: Path) -> dict[float, dict[str, list[float]]]:
    """gate_s -> kernel -> its time of every pass, from the JSON lines of a log (other lines skipped)."""
    out: dict[float, dict[str, list[float]]] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        by_kernel = out.setdefault(float(rec["gate_s"]), {})
        for k in rec["kernels"]:
            by_kernel.setdefault(k["kernel"], []).append(float(k["time_s"]))
    return out


def table(passes: dict[float, dict[str, list[float]]], profile_s: dict[str, float]) -> list[str]:
    """Markdown rows: kernel, median ungated and gated time (us), gated / ungated, the profile's sample."""
    if 0.0 not in passes or len(passes) != 2:
        raise ValueError("want passes of exactly two timings, one of them ungated (gate_s 0)")
    gate = max(passes)
    rows = [f"| kernel | ungated us | gated ({gate * 1e3:g} ms) us | gated / ungated | profile us |",
            "|---|---|---|---|---|"]
    for name, times in passes[0.0].items():
        u, g = statistics.median(times), statistics.median(passes[gate].get(name, [float("nan")]))
        prof = f"{profile_s[name] * 1e6:.1f}" if name in profile_s else "-"
        rows.append(f"| {name} | {u * 1e6:.1f} | {g * 1e6:.1f} | {g / u:.3f} | {prof} |")
    return rows


def profile_times(name: str) -> dict[str, float]:
    """A shipped profile's memory-kernel samples as seconds per call."""
    from mist_ds.config.profiles import load_hardware

    return {s.kernel: s.time_s for s in load_hardware(name).memory_kernels}


def measure(passes: int, gate_s: float) -> None:
    """Print `passes` pairs of JSON lines (ungated, gated) of the profiler's memory kernels."""
    import torch

    from mist_ds.profile import compute
    from mist_ds.profile.grids import make_grids

    grids = make_grids(False)
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}", file=sys.stderr)
    for _ in range(passes):
        for g in (0.0, gate_s):
            kernels, _adam = compute.memory_kernels(grids, torch.device("cuda"), lambda: None, g)
            print(json.dumps({"gate_s": g, "kernels": kernels}), flush=True)


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--gate-s", type=float, default=None, help="GPU hold, seconds (> 0; default the profiler's)")
    ap.add_argument("--read", type=Path, help="print the table of a log instead of measuring")
    ap.add_argument("--profile", help="with --read: a shipped profile whose samples to add")
    args = ap.parse_args()
    if args.read is None:
        from mist_ds.profile.compute import ATTENTION_GATE_S

        gate = ATTENTION_GATE_S if args.gate_s is None else args.gate_s
        if gate <= 0 or args.passes < 1:
            ap.error(f"--gate-s {gate} --passes {args.passes}: want a hold > 0 and passes >= 1")
        measure(args.passes, gate)
        return 0
    if not args.read.is_file():
        ap.error(f"--read {args.read}: no such file")
    try:
        prof = profile_times(args.profile) if args.profile else {}
        print("\n".join(table(read_passes(args.read), prof)))
    except (ValueError, KeyError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        ap.error(f"{args.read}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
