"""bench/runtime/merge_attention_samples.py merge: replace or add samples by shape, or add new shapes only."""

from __future__ import annotations

from bench.runtime.merge_attention_samples import merge


def _sample(batch: int, fwd: float) -> dict:
    return {"batch": batch, "num_heads": 16, "num_kv_heads": 16, "seq_len": 2048, "head_dim": 128, "causal": True,
            "fwd_time_s": fwd, "bwd_time_s": 3 * fwd, "backend": "sdpa-cudnn"}


def _profile() -> dict:
    return {"attention_samples": [_sample(4, 1.0)], "provenance": {"notes": "old."}}


def test_a_record_replaces_the_sample_of_its_shape_and_adds_the_others_sorted_by_batch():
    out = merge(_profile(), [_sample(16, 3.0), _sample(4, 2.0)], "new.")
    assert [(s["batch"], s["fwd_time_s"]) for s in out["attention_samples"]] == [(4, 2.0), (16, 3.0)]
    assert out["provenance"]["notes"] == "old. new."


def test_new_shapes_only_keeps_the_profiles_own_samples():
    out = merge(_profile(), [_sample(16, 3.0), _sample(4, 2.0)], "new.", new_shapes_only=True)
    assert [(s["batch"], s["fwd_time_s"]) for s in out["attention_samples"]] == [(4, 1.0), (16, 3.0)]
