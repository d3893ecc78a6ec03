"""How stock DeepSpeed's ZeRO-3 writes each updated fp32 master into its 16-bit partition when the two sit on
different sides of the PCIe bus: the one place the runtime (runtime/writeback_cast.py) and the cost model
(cost/writeback.py) read the choices and the runtime's default from. Pure: no torch.

Where the write-back happens (DeepSpeed 0.19.8, stage3.py `_reassign_or_swap_out_partitioned_parameters`):
after each optimizer sub-group's Adam, `fp16_partitioned_groups_flat[i].data.copy_(fp32_partitioned_groups_flat[i])`.
It crosses devices (and dtypes) for a sub-group whose fp32 master is on the GPU under offload_param (the 16-bit
partition is a slice of a pinned CPU buffer; every sub-group without offload_optimizer, the first
int((1 - ratio) * groups) with it), and for an offloaded sub-group's CPU master without offload_param (the 16-bit
partition on the GPU). The two ways (bench/accuracy/WEIGHT_OFFLOAD.md sections 2, 9 and 10):

* 'host' - DeepSpeed's line as it is: torch's blocking copy converts on the CPU through a pageable temporary and
  copies pageable (cost/work.py pageable_d2h_bytes, 4 bytes an element; pageable_h2d_bytes, 2);
* 'device' - runtime/writeback_cast.py: 16 bits an element by DMA from pinned memory, a GPU master cast on the GPU
  in chunks of WRITEBACK_CHUNK_ELEMENTS, a CPU master converted on the host into pinned chunks of that size.
"""

from __future__ import annotations

WRITEBACK_CASTS = ("host", "device")
"""How the write-back crosses the bus (module docstring): DeepSpeed's way, or mist_ds's by DMA."""

DEFAULT_WRITEBACK_CAST = "device"
"""What the runtime does unless told (`mist_ds.train --writeback-cast`) and what the search prices
(cost/conditions.py RunConditions.writeback_cast). 'device' since session 66's same-machine A/B
(bench/calls/s66_writeback_ab.sh, bench/results/runtime/writeback_ab_S66/; 1x H100 80GB HBM3, driver 580.159.04,
2026-12-07): Llama 3.2 1B with every weight offloaded and the optimizer on the GPU 4.63 / 4.86 s/iter 'host',
1.30 / 1.38 'device'; with half the optimizer offloaded 4.21 against 1.81; losses equal to run-to-run noise (the
two 'host' runs differ as much), the same GPU peak, 0.6-1.1 GB less host memory. CPU masters without offload_param
(bench/calls/s66_upload_ab.sh, bench/results/runtime/upload_ab_S66/, same node kind and day): llama-2.7b with half
the optimizer offloaded 2.71 / 2.79 -> 2.44 s/iter, llama-7b 8.91 -> 8.05, losses equal to run noise."""

WRITEBACK_CHUNK_ELEMENTS = 32 * 2**20
"""Elements the 'device' way converts at a time: a GPU master's 64 MiB bf16 cast, the step's only extra device
memory; a CPU master's pinned staging chunks, STAGING_BUFFERS of this size (cost/writeback.py)."""

STAGING_BUFFERS = 2
"""Pinned host buffers of WRITEBACK_CHUNK_ELEMENTS 16-bit elements each that the 'device' way alternates between for
CPU masters (runtime/writeback_cast.py upload_into): one converts while the other's copy is in flight."""

WRITEBACK_DESCRIPTIONS = {
    "host": "DeepSpeed's copy, converted on the CPU through pageable memory",
    "device": "by DMA from pinned memory (mist_ds/runtime/writeback_cast.py)",
}
"""One line per way, as `mist_ds.compare` shows the way a run wrote back (RunReport.writeback_cast)."""


def check_writeback_cast(value: str) -> str:
    """`value` if it names a way in WRITEBACK_CASTS, else a one-line ValueError."""
    if value not in WRITEBACK_CASTS:
        raise ValueError(f"writeback cast must be one of {', '.join(WRITEBACK_CASTS)}, not {value!r}")
    return value
