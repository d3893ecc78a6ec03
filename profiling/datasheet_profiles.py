"""Write the datasheet placeholder profiles (a measured profile of the same name is kept).

Figures: NVIDIA H100 / H200 datasheets (dense bf16 989 TFLOP/s, HBM3 3.35 TB/s, HBM3e 4.8 TB/s,
NVLink 4 900 GB/s bidirectional, PCIe Gen5 x16), DGX H100 host (2 x 56 cores, 2 TiB). Sustained
rates below the peaks are assumptions, stated in each profile's provenance notes.
Run: python profiling/datasheet_profiles.py
"""

from __future__ import annotations

from pathlib import Path

from mist_ds.config import CollectiveFit, CpuAdamSample, HardwareProfile, Provenance

NOTES = (
    "Datasheet placeholder, not measured. Assumed: sustained GEMM 70% of dense peak, flash attention "
    "fwd 45%, elementwise 80% of HBM bandwidth, NCCL bus bandwidth 370 GB/s intra-node (NVLS off), "
    "45 GB/s inter-node (one 400 Gb/s NIC per GPU), 20/40 us latency, 25 GB/s H2D/D2H per GPU with all "
    "8 GPUs copying, DeepSpeed CPU Adam ~0.1e9 params/s per thread on 14 threads per rank."
)


def _collectives() -> tuple[CollectiveFit, ...]:
    fits = []
    for kind in ("all_reduce", "all_gather", "reduce_scatter", "p2p"):
        for size in (2, 4, 8):
            fits.append(CollectiveFit(kind=kind, scope="intra_node", group_size=size,
                                      latency_s=20e-6, bus_bandwidth_gbps=370.0))
        for size in (2, 4, 8, 16, 32):
            fits.append(CollectiveFit(kind=kind, scope="inter_node", group_size=size,
                                      latency_s=40e-6, bus_bandwidth_gbps=45.0))
    return tuple(fits)


def datasheet_profile(name: str, gpu_name: str, memory_bytes: int, hbm_gbps: float) -> HardwareProfile:
    """A placeholder profile from datasheet figures."""
    return HardwareProfile(
        name=name, gpu_name=gpu_name, gpu_memory_bytes=memory_bytes, num_gpus_per_node=8,
        host_memory_bytes=2 * 1024**4, host_cpu_cores=112, peak_bf16_tflops=989.0,
        matmul_tflops=0.70 * 989.0, attention_tflops=0.45 * 989.0,
        memory_bandwidth_gbps=0.8 * hbm_gbps, collectives=_collectives(),
        h2d_bandwidth_gbps=25.0, d2h_bandwidth_gbps=25.0, pcie_latency_s=10e-6,
        cpu_adam=tuple(CpuAdamSample(num_threads=t, params_per_s=t * 0.1e9) for t in (1, 7, 14)),
        provenance=Provenance(source="datasheet", date="2026-11-26",
                              command="python profiling/datasheet_profiles.py", notes=NOTES),
    )


def _save_unless_measured(profile: HardwareProfile, path: Path) -> None:
    """Never replace a measured profile with a placeholder."""
    if path.exists() and HardwareProfile.load(path).provenance.source == "measured":
        print(f"kept measured {path}")
        return
    profile.save(path)


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "mist_ds" / "profiles"  # shipped as package data
    # 81559 MiB / 143771 MiB: what nvidia-smi reports as total memory of the 80 GB / 141 GB cards.
    _save_unless_measured(datasheet_profile("h100-sxm-80gb", "NVIDIA H100 80GB HBM3", 81559 * 2**20, 3350.0),
                          out / "h100-sxm-80gb.json")
    _save_unless_measured(datasheet_profile("h200", "NVIDIA H200", 143771 * 2**20, 4800.0), out / "h200.json")


if __name__ == "__main__":
    main()
