"""The profiler times attention on tensors laid out as the runtime's block hands them over (CPU)."""

import torch

from mist_ds.profile.compute import runtime_layout_qkv


def test_qkv_are_transposed_views_of_token_major_projections():
    q, k, v = runtime_layout_qkv(2, 8, 2, 16, 4, torch.device("cpu"))
    assert q.shape == (2, 8, 16, 4) and k.shape == v.shape == (2, 2, 16, 4)
    # (b, s, heads, d) storage: heads are adjacent in memory, tokens a whole row of heads apart
    assert q.stride() == (16 * 8 * 4, 4, 8 * 4, 1) and k.stride() == (16 * 2 * 4, 4, 2 * 4, 1)
    assert not q.is_contiguous() and all(t.requires_grad and t.is_leaf for t in (q, k, v))
