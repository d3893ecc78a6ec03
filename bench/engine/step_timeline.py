"""Where a mistpipe iteration's time goes, from a trace digest (bench/engine/trace_digest.py): the
optimizer step cut into its parts per rank, and the forward/backward's copy channels.

    python3 bench/engine/step_timeline.py DIGEST.json.gz [DIGEST ...] [--json OUT.json]
    python3 bench/engine/step_timeline.py --variants-dir bench/results/engine/s5_trace_digests/offload

Phases of one profiled iteration (times relative to the rank's first GPU event), by the engine's
order (runtime/mistpipe/schedule.py: the 1F1B passes, then ReduceScatterGrads, ShardedOptimizerStep):
* `lead`: before the first GEMM (the first weight fill after the previous step, data loading);
* `passes`: first to last GEMM on the compute stream (all forward and backward passes);
* `reduce`: last GEMM to the global-norm all-reduce (the only fp32 NCCL all-reduce of the step:
  optimizer.py _global_norm, over the pipeline's model-parallel group, where the stages meet):
  the embedding backward, the tied-gradient all-reduce, the reduction and take_chunk (upcast, the
  host tails' early d2h), the norm;
* `update`: from the norm's end to the last GPU event: device Adam, the offloaded share's update
  (gpu_swap: swap-in, Adam, swap-out per chunk, swapadam.py; cpu_adam: late d2h, host Adam, 16-bit
  h2d, optimizer.py finish_unit), the publication (unit.py store_update) and the loss broadcast.
Per phase: busy time of the compute stream, of h2d and d2h copies (all copy streams by direction,
activation offload's included), their overlap (both directions at once), and the time nothing ran
on the GPU (idle: the host, or a host wait, holds it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.runtime.mistpipe.trace import measure, union  # noqa: E402

NORM_KERNEL = "AllReduce_Sum_f32"  # optimizer.py _global_norm's fp32 scalar all-reduce
ADAM_KERNEL = "multi_tensor"       # torch's fused AdamW (multi_tensor_apply_kernel)


def intersect(a, b):
    """Intersection of two disjoint sorted interval lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def clip(intervals, lo, hi):
    return [(max(s, lo), min(e, hi)) for s, e in intervals if e > lo and s < hi]


def load(path: str | Path) -> dict:
    with gzip.open(path, "rt") as handle:
        return json.load(handle)


def channels(events: list, compute: str) -> dict[str, list]:
    """Disjoint busy intervals per channel: compute (kernels and copies of the compute stream),
    h2d and d2h (copies of any side stream, by direction), adam (fused AdamW kernels), nccl."""
    out: dict[str, list] = {"compute": [], "h2d": [], "d2h": [], "adam": [], "nccl": []}
    for stream, start, dur, cat, _nbytes, name in events:
        if stream == "cpu":
            continue
        span = (start, start + dur)
        if stream == compute:
            out["compute"].append(span)
            if ADAM_KERNEL in name:
                out["adam"].append(span)
        elif cat == "gpu_memcpy" and "HtoD" in name:
            out["h2d"].append(span)
        elif cat == "gpu_memcpy" and "DtoH" in name:
            out["d2h"].append(span)
        if name.startswith("nccl"):
            out["nccl"].append(span)
    return {k: union(v) for k, v in out.items()}


def copy_bytes(events: list, lo: float, hi: float) -> dict[str, float]:
    """Bytes copied h2d and d2h (side streams) by copies starting in [lo, hi)."""
    out = {"h2d": 0.0, "d2h": 0.0}
    for stream, start, _dur, cat, nbytes, name in events:
        if stream != "cpu" and cat == "gpu_memcpy" and lo <= start < hi and nbytes:
            for kind, tag in (("h2d", "HtoD"), ("d2h", "DtoH")):
                if tag in name and "Pinned" in name:
                    out[kind] += nbytes
    return out


def phase_stats(busy: dict[str, list], events: list, lo: float, hi: float) -> dict:
    """Milliseconds of the phase [lo, hi): wall, per-channel busy, copies at once, idle."""
    part = {k: clip(v, lo, hi) for k, v in busy.items()}
    anything = union(part["compute"] + part["h2d"] + part["d2h"])
    both = intersect(part["h2d"], part["d2h"])
    moved = copy_bytes(events, lo, hi)
    ms = lambda x: round(x / 1e3, 2)  # noqa: E731
    out = {"wall_ms": ms(hi - lo), "compute_ms": ms(measure(part["compute"])),
           "adam_ms": ms(measure(part["adam"])), "h2d_ms": ms(measure(part["h2d"])),
           "d2h_ms": ms(measure(part["d2h"])), "h2d_and_d2h_ms": ms(measure(both)),
           "idle_ms": ms(hi - lo - measure(anything)),
           "h2d_gb": round(moved["h2d"] / 1e9, 3), "d2h_gb": round(moved["d2h"] / 1e9, 3)}
    for kind in ("h2d", "d2h"):  # achieved rate while busy
        t = measure(part[kind])
        out[f"{kind}_gbps"] = round(moved[kind] / t / 1e3, 1) if t > 0 else None
    return out


def timeline(digest: dict) -> dict:
    """The iteration's phases (module doc) of one rank's digest, with per-phase stats."""
    compute = str(digest["copy_overlap"]["compute_stream"])
    events = [e for e in digest["events"] if e[0] != "cpu"]
    start = min(e[1] for e in events)
    end = max(e[1] + e[2] for e in events)
    gemms = [e for e in events if e[0] == compute and ("nvjet" in e[5] or "gemm" in e[5].lower())]
    first_gemm, last_gemm = min(e[1] for e in gemms), max(e[1] + e[2] for e in gemms)
    norms = [e for e in events if NORM_KERNEL in e[5] and e[1] >= last_gemm]
    norm_start, norm_end = (norms[0][1], norms[0][1] + norms[0][2]) if norms else (last_gemm, last_gemm)
    busy = channels(events, compute)
    cuts = {"lead": (start, first_gemm), "passes": (first_gemm, last_gemm),
            "reduce": (last_gemm, norm_start), "update": (norm_end, end)}
    out = {"span_ms": round((end - start) / 1e3, 2)}
    for name, (lo, hi) in cuts.items():
        out[name] = phase_stats(busy, events, lo, hi)
    out["norm_wait_ms"] = round((norm_end - norm_start) / 1e3, 2)
    out["step_ms"] = round((end - last_gemm) / 1e3, 2)
    return out


def pass_waits(digest: dict, min_gap_us: float = 200.0) -> dict[str, list]:
    """Compute-stream gaps of at least `min_gap_us` inside the passes (first to last GEMM), each
    put on the side-stream copy that ended last inside it (what the compute stream most likely
    waited for: a fill's device part 'DtoD' on the h2d stream, a gradient section or activation
    copy), else 'none' (a host wait, or the other stage): {stream/bytes/kind: [count, ms]}."""
    compute = str(digest["copy_overlap"]["compute_stream"])
    events = [e for e in digest["events"] if e[0] != "cpu"]
    kernels = sorted((e for e in events if e[0] == compute), key=lambda e: e[1])
    copies = [e for e in events if e[0] != compute and e[3] == "gpu_memcpy"]
    gemms = [e for e in kernels if "nvjet" in e[5] or "gemm" in e[5].lower()]
    lo, hi = min(e[1] for e in gemms), max(e[1] + e[2] for e in gemms)
    out: dict[str, list] = {}
    end = None
    for e in kernels:
        if end is not None and e[1] - end >= min_gap_us and lo <= e[1] <= hi:
            inside = [c for c in copies if end - 10 < c[1] + c[2] <= e[1] + 5]
            key = "none"
            if inside:
                c = max(inside, key=lambda c: c[1] + c[2])
                key = f"stream {c[0]} {c[5].split('(')[0].replace('Memcpy', '').strip()} {c[4] / 2**20:.1f} MiB"
            row = out.setdefault(key, [0, 0.0])
            row[0] += 1
            row[1] = round(row[1] + (e[1] - end) / 1e3, 2)
        end = e[1] + e[2] if end is None else max(end, e[1] + e[2])
    return dict(sorted(out.items(), key=lambda kv: -kv[1][1]))


def variant_digests(root: Path) -> dict[str, list[Path]]:
    """variant -> its ranks' digests under `root`/<variant>/<variant>_rank<r>.digest.json.gz."""
    return {d.name: sorted(d.glob(f"{d.name}_rank*.digest.json.gz"))
            for d in sorted(root.iterdir()) if d.is_dir()}


def report(rows: dict[str, dict]) -> str:
    """One line per (digest, phase)."""
    keys = ("wall_ms", "compute_ms", "adam_ms", "h2d_ms", "d2h_ms", "h2d_and_d2h_ms", "idle_ms",
            "h2d_gb", "d2h_gb", "h2d_gbps", "d2h_gbps")
    lines = [f"{'digest':<22} {'phase':<7} " + " ".join(f"{k.replace('_ms', ''):>9}" for k in keys)]
    for name, tl in rows.items():
        for phase in ("lead", "passes", "reduce", "update"):
            cells = " ".join(f"{'-' if tl[phase][k] is None else tl[phase][k]:>9}" for k in keys)
            lines.append(f"{name:<22} {phase:<7} {cells}")
        lines.append(f"{name:<22} step {tl['step_ms']} ms (norm all-reduce {tl['norm_wait_ms']} ms), span {tl['span_ms']} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("digests", nargs="*")
    parser.add_argument("--variants-dir", default=None, help="every <variant>/<variant>_rank*.digest.json.gz under it")
    parser.add_argument("--json", default=None, help="write the per-digest phases here")
    parser.add_argument("--waits", action="store_true", help="also the passes' compute-stream waits (pass_waits)")
    args = parser.parse_args()
    paths = [Path(p) for p in args.digests]
    if args.variants_dir:
        paths += [p for group in variant_digests(Path(args.variants_dir)).values() for p in group]
    if not paths:
        raise SystemExit("error: no digests given")
    digests = {p.name.replace(".digest.json.gz", ""): load(p) for p in paths}
    rows = {name: timeline(d) for name, d in digests.items()}
    print(report(rows))
    for name, d in digests.items() if args.waits else ():
        rows[name]["pass_waits"] = waits = pass_waits(d)
        total = sum(ms for _, ms in waits.values())
        print(f"{name}: compute-stream waits in the passes {total:.1f} ms: "
              + "; ".join(f"{k} x{n} {ms} ms" for k, (n, ms) in waits.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
