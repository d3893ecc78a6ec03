"""How stock DeepSpeed's ZeRO-3 writes an updated GPU-resident fp32 master back into its 16-bit CPU partition
under offload_param: the one place the runtime (runtime/writeback_cast.py) and the cost model
(cost/writeback.py) read the choices and the runtime's default from. Pure: no torch.

Where the write-back happens (DeepSpeed 0.19.8, stage3.py `_reassign_or_swap_out_partitioned_parameters`):
after each optimizer sub-group's Adam, `fp16_partitioned_groups_flat[i].data.copy_(fp32_partitioned_groups_flat[i])`.
With offload_param the 16-bit partition is a slice of a pinned CPU buffer; a sub-group whose fp32 master stays on
the GPU (every one without offload_optimizer, the first int((1 - ratio) * groups) with it) makes that copy
cross-device and cross-dtype. The two ways (bench/accuracy/WEIGHT_OFFLOAD.md sections 2 and 9):

* 'host' - DeepSpeed's line as it is: torch's blocking copy_kernel_cuda converts on the CPU, through a fresh
  pageable fp32 temporary of the sub-group's size, 4 bytes an element (cost/work.py pageable_d2h_bytes);
* 'device' - runtime/writeback_cast.py: cast fp32 -> 16-bit on the GPU in chunks of WRITEBACK_CHUNK_ELEMENTS
  and copy each chunk into the pinned partition by DMA, 2 bytes an element.
"""

from __future__ import annotations

WRITEBACK_CASTS = ("host", "device")
"""Where the write-back's fp32 -> 16-bit conversion runs (module docstring)."""

DEFAULT_WRITEBACK_CAST = "device"
"""What the runtime does unless told (`mist_ds.train --writeback-cast`) and what the search prices
(cost/conditions.py RunConditions.writeback_cast). 'device' since session 66's same-machine A/B
(bench/calls/s66_writeback_ab.sh, bench/results/runtime/writeback_ab_S66/; 1x H100 80GB HBM3, driver 580.159.04,
2026-12-07): Llama 3.2 1B with every weight offloaded and the optimizer on the GPU 4.63 / 4.86 s/iter 'host',
1.30 / 1.38 'device'; with half the optimizer offloaded 4.21 against 1.81; losses equal to run-to-run noise (the
two 'host' runs differ as much), the same GPU peak, 0.6-1.1 GB less host memory."""

WRITEBACK_CHUNK_ELEMENTS = 32 * 2**20
"""Elements cast on the GPU at a time by the 'device' way: a 64 MiB bf16 temporary, the step's only extra
device memory (cost/writeback.py)."""


def check_writeback_cast(value: str) -> str:
    """`value` if it names a way in WRITEBACK_CASTS, else a one-line ValueError."""
    if value not in WRITEBACK_CASTS:
        raise ValueError(f"writeback cast must be one of {', '.join(WRITEBACK_CASTS)}, not {value!r}")
    return value
