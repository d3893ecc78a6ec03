"""mist_ds/profile/grids.py: the attention grid samples every head shape and sequence at each token count."""

from __future__ import annotations

from mist_ds.profile.grids import ATTENTION_TOKENS, make_grids


def test_the_full_attention_grid_holds_each_causal_shape_at_every_token_count_once():
    shapes = make_grids(quick=False).attention
    assert len(shapes) == len(set(shapes))
    causal = [s for s in shapes if s[5]]
    heads = {(h, kv, d) for _, h, kv, _, d, _ in causal}
    for seq in {s[3] for s in causal}:
        for h, kv, d in heads:
            batches = sorted(b for b, hh, kk, ss, dd, _ in causal if (hh, kk, ss, dd) == (h, kv, seq, d))
            assert [b * seq for b in batches] == [max(seq, t) for t in ATTENTION_TOKENS]
    assert max(b * s for b, _, _, s, _, _ in causal) == max(ATTENTION_TOKENS) >= 32768


def test_the_quick_grid_stays_small():
    assert len(make_grids(quick=True).attention) <= 3
