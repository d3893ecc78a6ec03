"""Raw profiler measurements (a JSON-able dict) -> HardwareProfile. Pure: no torch.

The raw dict is what the GPU side writes (`<profile>.raw.json`); keeping assembly separate lets
the profile be rebuilt, re-fitted and tested on a CPU from saved or synthetic measurements.
Anything not measured (inter-node links on a single node, a section that failed) is taken from a
fallback profile and named in the provenance notes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from mist_ds.config.hardware import (
    AttentionSample,
    CollectiveFit,
    CpuAdamSample,
    HardwareProfile,
    InterferenceFactor,
    MatmulSample,
    MemoryKernelSample,
    RUN_DERIVED_FIELDS,
    Provenance,
)
from mist_ds.config.hw_lookup import ATTENTION_BWD_FLOPS_PER_FWD, attention_flops, bus_factor
from mist_ds.profile.fit import (
    fit_alpha_beta,
    max_slowdown_model,
    model_error,
    pairwise_product_model,
)

Raw = dict[str, Any]

# Dense bf16 peaks from NVIDIA datasheets (H100 SXM5 / H200 SXM: 989.4; H100 PCIe: 756; A100: 312).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0, "A100": 312.0}

EXTRAPOLATION_NOTE = (
    "Collectives at unmeasured group sizes: nearest measured size's bus bandwidth, latency scaled by "
    "ring steps (2(g-1) all-reduce, g-1 all-gather/reduce-scatter, 1 p2p): mist_ds.config.hw_lookup."
    "collective_fit. Unmeasured interference sets: product of measured pairwise slowdowns."
)


def attention_fwd_flops(s: AttentionSample | dict[str, Any]) -> float:
    """Forward FLOPs of an attention sample or raw record (config/hw_lookup.py attention_flops)."""
    get = s.get if isinstance(s, dict) else lambda key: getattr(s, key)
    return attention_flops(get("batch"), get("num_heads"), get("seq_len"), get("head_dim"), get("causal"))


def peak_for(card: str, fallback: float) -> float:
    """Vendor dense bf16 peak for a driver card name, else the fallback's."""
    for key, peak in PEAK_BF16_TFLOPS.items():
        if key in card:
            return peak
    return fallback


def _matmul(raw: Raw) -> tuple[tuple[MatmulSample, ...], float | None]:
    samples = tuple(MatmulSample(m=r["m"], n=r["n"], k=r["k"],
                                 tflops=2.0 * r["m"] * r["n"] * r["k"] / r["time_s"] / 1e12)
                    for r in raw.get("matmul", []))
    large = [s.tflops for s in samples if min(s.m, s.n, s.k) >= 4096]
    return samples, (statistics.median(large) if large else None)


def _attention(raw: Raw) -> tuple[tuple[AttentionSample, ...], float | None, float | None]:
    samples = tuple(AttentionSample(**r) for r in raw.get("attention", []))
    big = [s for s in samples if s.causal and s.seq_len >= 2048] or [s for s in samples if s.causal]
    if not big:
        return samples, None, None
    fwd = statistics.median(attention_fwd_flops(s) / s.fwd_time_s / 1e12 for s in big)
    bwd = statistics.median(ATTENTION_BWD_FLOPS_PER_FWD * attention_fwd_flops(s) / s.bwd_time_s / 1e12 for s in big)
    return samples, fwd, bwd


def _memory(raw: Raw) -> tuple[tuple[MemoryKernelSample, ...], float | None]:
    samples = tuple(MemoryKernelSample(kernel=r["kernel"], num_bytes=r["num_bytes"], time_s=r["time_s"],
                                       bandwidth_gbps=r["num_bytes"] / r["time_s"] / 1e9)
                    for r in raw.get("memory", []))
    elementwise = [s.bandwidth_gbps for s in samples if s.kernel != "adam_step"]
    return samples, (statistics.median(elementwise) if elementwise else None)


def fit_collectives(records: list[dict[str, Any]]) -> list[CollectiveFit]:
    """One alpha-beta fit per (kind, scope, group size) over its message sizes."""
    groups: dict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
    for r in records:
        groups[(r["kind"], r["scope"], r["group_size"])].append((r["nbytes"], r["time_s"]))
    fits = []
    for (kind, scope, size), points in sorted(groups.items()):
        xs = [nbytes * bus_factor(kind, size) for nbytes, _ in points]  # type: ignore[arg-type]
        ab = fit_alpha_beta(xs, [t for _, t in points])
        fits.append(CollectiveFit(kind=kind, scope=scope, group_size=size, latency_s=ab.alpha,  # type: ignore[arg-type]
                                  bus_bandwidth_gbps=1.0 / ab.beta / 1e9, fit_rel_error=ab.rel_error))
    return fits


def _merge_collectives(measured: list[CollectiveFit], fallback: HardwareProfile) -> tuple[CollectiveFit, ...]:
    """Measured fits, plus fallback fits of every (kind, scope) that was not measured at all."""
    covered = {(f.kind, f.scope) for f in measured}
    kept = [f for f in fallback.collectives if (f.kind, f.scope) not in covered]
    return tuple(sorted(measured + kept, key=lambda f: (f.kind, f.scope, f.group_size)))


def _copies(raw: Raw) -> dict[str, tuple[float, float, float]]:
    """direction -> (bandwidth GB/s, latency s, fit error), from the all-GPUs-copying records."""
    records = raw.get("copies", [])
    most = max((r["concurrent_gpus"] for r in records), default=0)
    out = {}
    for direction in ("h2d", "d2h"):
        pts = [(r["nbytes"], r["time_s"]) for r in records
               if r["direction"] == direction and r["concurrent_gpus"] == most]
        if len(pts) >= 2:
            ab = fit_alpha_beta([p[0] for p in pts], [p[1] for p in pts])
            out[direction] = (1.0 / ab.beta / 1e9, ab.alpha, ab.rel_error)
    return out


def staged_rate_gbps(raw: Raw) -> float | None:
    """staged_h2d_bandwidth_gbps from the writeback section's records (profile/writeback.py): the slowest rank's
    GB/s with the most local ranks at once (every rank writes back in the same step, and the step waits for its
    slowest rank at the next collective); None where the section did not run."""
    records = raw.get("writeback", [])
    if not records:
        return None
    most = max(r["concurrent_gpus"] for r in records)
    return min(r["gbps"] for r in records if r["concurrent_gpus"] == most)


def cpu_step_fields(raw: Raw) -> tuple[float | None, float | None]:
    """(cpu_step_per_adam, cpu_step_d2h_slowdown) from the cpu_adam section's step_beside_d2h record and
    the Adam rate at the same (largest) thread count; (None, None) where either was not measured, and no
    slowdown where the copies ended before the step in some repeat (`outlasted` false: partly alone)."""
    beside, rates = raw.get("cpu_step_beside_d2h"), raw.get("cpu_adam", [])
    if not beside or not rates:
        return None, None
    adam_s = beside["numel"] / max(rates, key=lambda r: r["num_threads"])["params_per_s"]
    slowdown = beside["beside_s"] / beside["alone_s"] if beside.get("outlasted", True) else None
    return max(1.0, beside["alone_s"] / adam_s), slowdown


def _interference(raw: Raw) -> tuple[tuple[InterferenceFactor, ...], str]:
    records = raw.get("interference", [])
    measured = {tuple(r["channels"]): dict(zip(r["channels"], r["slowdowns"])) for r in records}
    factors = tuple(InterferenceFactor(channels=tuple(r["channels"]),
                                       slowdowns=tuple(max(1.0, s) for s in r["slowdowns"]))
                    for r in records)
    product = model_error(measured, pairwise_product_model(measured))
    worst = model_error(measured, max_slowdown_model(measured))
    note = ""
    if product is not None and worst is not None:
        note = (f" Interference on sets of 3+ channels predicted from pairs: pairwise-product model "
                f"median error {product:.1%}, max-of-pairs model {worst:.1%}; all measured sets are "
                f"stored, so the models matter only for sets not measured.")
    return factors, note


def _provenance(raw: Raw, fits: list[CollectiveFit], fallback_used: list[str], extra: str) -> Provenance:
    meta = raw.get("meta", {})
    errors = raw.get("errors", {})
    notes = (f"Measured by mist_ds.profile on {meta.get('world_size', 1)} GPU(s) in {meta.get('wall_s', 0):.0f} s"
             f"{' (--quick)' if meta.get('quick') else ''}. {EXTRAPOLATION_NOTE}{extra}")
    if meta.get("notes"):
        notes += f" {meta['notes']}"
    if fallback_used:
        notes += f" Not measured, taken from the fallback profile: {', '.join(fallback_used)}."
    if errors:
        notes += " Failed sections: " + "; ".join(f"{k}: {v}" for k, v in sorted(errors.items())) + "."
    return Provenance(
        source="measured", date=meta.get("date", ""), command=meta.get("command", ""),
        card=meta.get("card", ""), driver=meta.get("driver", ""), software=meta.get("software", ""),
        group_sizes_covered=tuple(sorted({f.group_size for f in fits})), notes=notes)


def assemble_profile(raw: Raw, name: str, fallback: HardwareProfile) -> HardwareProfile:
    """Build a HardwareProfile from raw measurements; gaps are filled from `fallback`, and the
    run-derived terms (config/hardware.py RUN_DERIVED_FIELDS: calibrated from training runs, absent from
    any raw file) are `fallback`'s, so rebuilding a calibrated profile keeps its calibration. A section
    not measured (`--sections`) takes all its fields from `fallback`, sample tables included: a profile
    of a node's host side alone (cpu_adam, copies, interference) keeps the card's GEMM, attention and
    memory-kernel tables rather than dropping to their scalar rates."""
    meta = raw.get("meta", {})
    used: list[str] = []

    def pick(value: Any, field: str) -> Any:
        if value is None:
            used.append(field)
            return getattr(fallback, field)
        return value

    matmul_samples, matmul_tflops = _matmul(raw)
    if not matmul_samples:
        matmul_samples = pick(None, "matmul_samples")
    att_samples, att_fwd, att_bwd = _attention(raw)
    if not att_samples:
        att_samples, att_bwd = pick(None, "attention_samples"), fallback.attention_bwd_tflops
    mem_samples, mem_bw = _memory(raw)
    if not mem_samples:
        mem_samples = pick(None, "memory_kernels")
    fits = fit_collectives(raw.get("collectives", []))
    if not any(f.scope == "inter_node" for f in fits):
        used.append("inter-node collectives")
    copies = _copies(raw)
    cpu = tuple(CpuAdamSample(num_threads=r["num_threads"], params_per_s=r["params_per_s"])
                for r in raw.get("cpu_adam", []))
    interference, inter_note = _interference(raw)
    if not interference:
        interference = pick(None, "interference")
    gpu_adam = raw.get("gpu_adam")
    gpu_adam_rate = (gpu_adam["num_params"] / gpu_adam["time_s"]) if gpu_adam else pick(None, "gpu_adam_params_per_s")
    # from runs, not the raw file
    kept = {field: getattr(fallback, field) for field in RUN_DERIVED_FIELDS}
    per_adam, d2h_slowdown = cpu_step_fields(raw)
    return HardwareProfile(**kept,
        name=name, gpu_name=pick(meta.get("card") or None, "gpu_name"),
        gpu_memory_bytes=pick(meta.get("gpu_memory_bytes"), "gpu_memory_bytes"),
        num_gpus_per_node=pick(meta.get("local_world_size"), "num_gpus_per_node"),
        host_memory_bytes=pick(meta.get("host_memory_bytes"), "host_memory_bytes"),
        host_cpu_cores=pick(meta.get("host_cpu_cores"), "host_cpu_cores"),
        peak_bf16_tflops=peak_for(meta.get("card", ""), fallback.peak_bf16_tflops),
        matmul_tflops=pick(matmul_tflops, "matmul_tflops"), matmul_samples=matmul_samples,
        attention_tflops=pick(att_fwd, "attention_tflops"), attention_bwd_tflops=att_bwd,
        attention_samples=att_samples,
        memory_bandwidth_gbps=pick(mem_bw, "memory_bandwidth_gbps"), memory_kernels=mem_samples,
        collectives=_merge_collectives(fits, fallback) if fits else pick(None, "collectives"),
        h2d_bandwidth_gbps=pick(copies.get("h2d", (None,))[0], "h2d_bandwidth_gbps"),
        d2h_bandwidth_gbps=pick(copies.get("d2h", (None,))[0], "d2h_bandwidth_gbps"),
        pcie_latency_s=pick(copies["h2d"][1] if "h2d" in copies else None, "pcie_latency_s"),
        cpu_adam=cpu or pick(None, "cpu_adam"),
        cpu_step_per_adam=pick(per_adam, "cpu_step_per_adam"),
        cpu_step_d2h_slowdown=pick(d2h_slowdown, "cpu_step_d2h_slowdown"),
        staged_h2d_bandwidth_gbps=pick(staged_rate_gbps(raw), "staged_h2d_bandwidth_gbps"),
        interference=interference,
        gpu_adam_params_per_s=gpu_adam_rate,
        provenance=_provenance(raw, fits, used, inter_note + _copy_note(copies) + _cpu_note(raw)
                               + _writeback_note(raw) + _attention_note(raw)),
    )


def _attention_note(raw: Raw) -> str:
    """How the raw file's attention samples were timed (profile/compute.py ATTENTION_GATE_S): behind a GPU hold,
    the kernels' time; raw files from before session 63 carry no hold and timed the host's launch path too."""
    if not raw.get("attention"):
        return ""
    gate_s = raw.get("meta", {}).get("attention_gate_s")
    if gate_s:
        return f" Attention samples timed behind a {gate_s * 1e3:g} ms GPU hold (the kernels' time)."
    return " Attention samples timed from an idle GPU (with the host's launch path: before session 63)."


def _copy_note(copies: dict[str, tuple[float, float, float]]) -> str:
    parts = [f"{d} fit error {v[2]:.1%}" for d, v in sorted(copies.items())]
    return f" Pinned copies with all GPUs copying at once: {', '.join(parts)}." if parts else ""


def _writeback_note(raw: Raw) -> str:
    """The writeback section's rates: rank 0 alone and the slowest rank with every local rank at once."""
    records = raw.get("writeback", [])
    if not records:
        return ""
    alone = [r["gbps"] for r in records if r["concurrent_gpus"] == 1]
    most = max(r["concurrent_gpus"] for r in records)
    size = records[0]["elements"]
    text = f" Staged write-back (runtime/writeback_cast.py upload_into, sub-groups of {size:.3g} elements):"
    if alone:
        text += f" {alone[0]:.1f} GB/s with one rank"
    if most > 1:
        text += f"{',' if alone else ''} {staged_rate_gbps(raw):.1f} GB/s per rank with {most} at once (slowest)"
    return text + "."


def _cpu_note(raw: Raw) -> str:
    impls = sorted({r.get("impl", "") for r in raw.get("cpu_adam", [])} - {""})
    return f" CPU optimizer rate measured with {', '.join(impls)}." if impls else ""
