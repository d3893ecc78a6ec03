"""Statistics and FLOP accounting of a run (pure: no process groups)."""

from __future__ import annotations

import statistics

from mist_ds.config import Plan


def timing_stats(times_s: list[float]) -> tuple[float | None, float | None]:
    """(median, interquartile range) of iteration times; None when there are none."""
    if not times_s:
        return None, None
    if len(times_s) < 2:
        return times_s[0], 0.0
    quart = statistics.quantiles(times_s, n=4, method="inclusive")
    return statistics.median(times_s), quart[2] - quart[0]


def throughput(plan: Plan, median_s: float | None, num_gpus: int,
               peak_tflops: float | None) -> tuple[float | None, float | None, float | None]:
    """(tokens/s, achieved TFLOP/s per GPU, MFU). FLOPs: ModelSpec.flops_per_token (PaLM appendix B,
    6N + 12 L h s), no recompute credit; MFU against the hardware profile's bf16 peak."""
    if not median_s:
        return None, None, None
    tokens_per_s = plan.tokens_per_step / median_s
    tflops = plan.model.flops_per_token(plan.seq_len) * tokens_per_s / num_gpus / 1e12
    return tokens_per_s, tflops, (tflops / peak_tflops if peak_tflops else None)
