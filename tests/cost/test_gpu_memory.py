"""On a GPU: saved activations of the runtime's block (CUDA kernels) and the peak memory of
single-GPU plans on the real runtime, against the cost model. Skipped without CUDA."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("preset,batch,seq", [("gpt-350m", 2, 1024), ("llama-1.3b", 1, 2048)])
def test_saved_bytes_on_cuda(preset, batch, seq):
    from gpu_memory_probe import saved_block_bytes

    measured, predicted = saved_block_bytes(preset, batch, seq)
    assert measured == pytest.approx(predicted, rel=0.02)
