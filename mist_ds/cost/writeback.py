"""ZeRO-3's write-back of each updated fp32 master into its 16-bit partition across the PCIe bus, the two ways the
runtime runs it (config/writeback.py): what the 'device' way changes in a stock stage's terms.

The 'host' way (DeepSpeed's line) is what the compiled terms already hold:
* a GPU master over a CPU partition (offload_param): cost/work.py pageable_d2h_bytes, 4 bytes an element through a
  pageable fp32 temporary converted on the CPU, at pageable_d2h_bandwidth_gbps; cost/stage.py host_writeback_temp,
  that temporary (the largest GPU sub-group's fp32) in host memory;
* a CPU master over a GPU partition (optimizer offload without offload_param): cost/work.py pageable_h2d_bytes,
  2 bytes an element converted on the CPU into a pageable temporary and copied pageable, at
  pageable_h2d_bandwidth_gbps.
The 'device' way (runtime/writeback_cast.py) waits for each sub-group's copies before the next sub-group, as
DeepSpeed's blocking copy did (the step's order is unchanged: cost/work.py step_serial):
* GPU master: cast on the GPU in chunks of WRITEBACK_CHUNK_ELEMENTS and copied pinned, 2 bytes an element at the
  pinned device-to-host rate ('writeback_pinned_bytes'); no pageable temporary; one chunk's 16-bit cast lives on
  the GPU during the step (step_buffers). The cast kernel (read 4, write 2 an element) is the 'copy back' pass that
  cost/work.py z3_step_copy_bytes counts in its 42 bytes an element for ZeRO-3 without optimizer offload; under a
  partial optimizer offload it is not counted (6 bytes an element at the copy rate: about 0.3 ms per 1e8 elements
  on an H100);
* CPU master: converted on the host into two pinned staging chunks alternately, each copied while the next
  converts, 2 bytes an element at the profile's staged_h2d_bandwidth_gbps ('staged_h2d_bytes'; where it comes from:
  config/hardware.py; 29.7 GB/s on the H100 node against 5.0 for DeepSpeed's way there, one process);
  the two chunks stay pinned in host memory (counted in host_writeback_temp).
"""

from __future__ import annotations

import numpy as np

from mist_ds.config.writeback import STAGING_BUFFERS, WRITEBACK_CHUNK_ELEMENTS
from mist_ds.cost.memory import ELEM, FP32

STAGING_BYTES = STAGING_BUFFERS * ELEM * WRITEBACK_CHUNK_ELEMENTS
"""Host memory of the CPU-master write-back's pinned staging chunks (config/writeback.py STAGING_BUFFERS; each a
power of two, so torch's pinned allocator rounds nothing)."""


def with_writeback_cast(terms: dict[str, np.ndarray], way: str) -> dict[str, np.ndarray]:
    """`terms` (a stock stage's, cost/stage.py StageCostModel.terms) as the write-back `way` runs: 'host' leaves
    them and adds writeback_pinned_bytes = staged_h2d_bytes = 0; 'device' moves pageable_d2h_bytes to
    writeback_pinned_bytes at 16 bits an element and pageable_h2d_bytes to staged_h2d_bytes, replaces
    host_writeback_temp by the staging chunks where CPU masters are written back and adds one chunk's cast to
    step_buffers where GPU masters are (module docstring)."""
    down = np.asarray(terms["pageable_d2h_bytes"], float)
    up = np.asarray(terms["pageable_h2d_bytes"], float)
    if way == "host":
        return {**terms, "writeback_pinned_bytes": np.zeros_like(down), "staged_h2d_bytes": np.zeros_like(up)}
    largest_group = np.asarray(terms["host_writeback_temp"], float) / FP32
    chunk = np.where(down > 0, ELEM * np.minimum(largest_group, WRITEBACK_CHUNK_ELEMENTS), 0.0)
    return {**terms, "pageable_d2h_bytes": np.zeros_like(down), "writeback_pinned_bytes": down * ELEM / FP32,
            "pageable_h2d_bytes": np.zeros_like(up), "staged_h2d_bytes": up,
            "host_writeback_temp": np.where(up > 0, float(STAGING_BYTES), 0.0),
            "step_buffers": terms["step_buffers"] + chunk}
