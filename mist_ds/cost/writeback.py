"""The write-back of GPU-resident ZeRO-3 sub-groups into the 16-bit CPU partition under offload_param, the two
ways the runtime runs it (config/writeback.py): what the 'device' way changes in a stock stage's terms.

The 'host' way (DeepSpeed's line) is what the compiled terms already hold (cost/work.py pageable_d2h_bytes: 4
bytes an element through a pageable fp32 temporary, converted on the CPU, at pageable_d2h_bandwidth_gbps;
cost/stage.py host_writeback_temp: that temporary, the largest GPU sub-group's fp32, in host memory).
The 'device' way (runtime/writeback_cast.py cast_into) casts each chunk of WRITEBACK_CHUNK_ELEMENTS on the GPU
and copies its 16 bits into the pinned partition, waited for before the next sub-group, as DeepSpeed's blocking
copy was (the step stays serial: cost/work.py step_serial):
* the copy is 2 bytes an element by DMA, at the pinned device-to-host rate ('writeback_pinned_bytes',
  cost/stage_time.py step_transfers) instead of 4 at the pageable rate;
* no pageable temporary in host memory; on the GPU, one chunk's 16-bit cast lives during the step
  (step_buffers);
* the cast kernel itself (read 4, write 2 an element) is the 'copy back' pass that cost/work.py
  z3_step_copy_bytes already counts in its 42 bytes an element for ZeRO-3 without optimizer offload; under a
  partial optimizer offload it is not counted (6 bytes an element at the copy rate: about 0.3 ms per 1e8
  elements on an H100).
"""

from __future__ import annotations

import numpy as np

from mist_ds.config.writeback import WRITEBACK_CHUNK_ELEMENTS
from mist_ds.cost.memory import ELEM, FP32


def with_writeback_cast(terms: dict[str, np.ndarray], way: str) -> dict[str, np.ndarray]:
    """`terms` (a stock stage's, cost/stage.py StageCostModel.terms) as the write-back `way` runs: 'host' leaves
    them and adds writeback_pinned_bytes = 0; 'device' moves pageable_d2h_bytes to writeback_pinned_bytes at
    16 bits an element, drops host_writeback_temp and adds one chunk's cast to step_buffers (module docstring)."""
    zero = np.zeros_like(np.asarray(terms["pageable_d2h_bytes"], float))
    if way == "host":
        return {**terms, "writeback_pinned_bytes": zero}
    largest_group = np.asarray(terms["host_writeback_temp"], float) / FP32
    writes_back = np.asarray(terms["pageable_d2h_bytes"], float) > 0
    chunk = np.where(writes_back, ELEM * np.minimum(largest_group, WRITEBACK_CHUNK_ELEMENTS), 0.0)
    return {**terms, "pageable_d2h_bytes": zero, "writeback_pinned_bytes": terms["pageable_d2h_bytes"] * ELEM / FP32,
            "host_writeback_temp": np.zeros_like(largest_group), "step_buffers": terms["step_buffers"] + chunk}
