"""Do the runtime's default kernels (mist_ds/config/kernel_picks.py) follow a benchmark's numbers?

`measured_picks(result)` derives, from a gpu_bench.py result, the pick of every element-wise op the
benchmark measured (ops_bench.pick) and of the loss at tp = 1 and at tp > 1 (the fastest LM head +
loss within MAX_LOSS_BYTES_PER_LOGIT, summed over the measured heads; tp > 1 leaves out Liger,
which has no vocab-parallel variant within that budget). `disagreements(result)` lists where the
committed defaults differ; `committed_measurement` is the result they follow. gpu_bench.py prints it after every run; tests/runtime/test_kernel_picks.py
holds the committed defaults to the committed measurement.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.runtime import ops_bench
from mist_ds.config import kernel_picks

MAX_LOSS_BYTES_PER_LOGIT = 4.0   # issue 14's target: loss working memory <= 4 bytes per logit
BENCH_OP_FIELD = {"rmsnorm": "norm", "layernorm": "norm", "swiglu": "activation", "rope": "rope"}
NOT_VOCAB_PARALLEL = ("liger", "liger_flce")


def _loss_ok(entry: dict) -> bool:
    head, loss = entry.get("head", {}), entry.get("loss", {})
    if "time_ms" not in head or "time_ms" not in loss:
        return False   # liger_flce has no separate loss: the pipeline's head and loss_fn are apart
    extra = loss.get("extra_bytes_per_logit")
    return extra is None or 2 + extra <= MAX_LOSS_BYTES_PER_LOGIT


def loss_pick(loss_results: dict, tp: int) -> str | None:
    """Fastest head + loss (summed over heads) among methods that ran on every head within the
    memory budget; at tp > 1 without the methods that have no vocab-parallel variant."""
    totals: dict[str, float] = {}
    heads = list(loss_results.values())
    methods = {m for entry in heads for m in entry["methods"]}
    for method in methods:
        if tp > 1 and method in NOT_VOCAB_PARALLEL:
            continue
        entries = [entry["methods"].get(method, {}) for entry in heads]
        if all(_loss_ok(e) for e in entries):
            totals[method] = sum(e["head"]["time_ms"] for e in entries)
    return min(totals, key=totals.get) if totals else None


def measured_picks(result: dict) -> dict[str, str | None]:
    """{bench op (rmsnorm, layernorm, swiglu, rope): impl, 'loss_tp1': ..., 'loss_tp2': ...}."""
    picks: dict[str, str | None] = dict(ops_bench.pick(result.get("ops", {})))
    if result.get("loss"):
        picks["loss_tp1"] = loss_pick(result["loss"], 1)
        picks["loss_tp2"] = loss_pick(result["loss"], 2)
    return picks


def committed_measurement(root: Path) -> dict:
    """The committed measurement the defaults follow: the element-wise ops of
    kernel_picks.OPS_MEASUREMENT_FILE and the loss of kernel_picks.MEASUREMENT_FILE (under `root`)."""
    ops = json.loads((root / kernel_picks.OPS_MEASUREMENT_FILE).read_text())
    main = json.loads((root / kernel_picks.MEASUREMENT_FILE).read_text())
    return {"ops": ops["ops"], "loss": main["loss"]}


def committed_pick(key: str) -> str:
    """The default of a measured_picks key in mist_ds/config/kernel_picks.py."""
    if key == "loss_tp1":
        return kernel_picks.loss_impl(True, 1, fastest=True)
    if key == "loss_tp2":
        return kernel_picks.loss_impl(True, 2, fastest=True)
    return kernel_picks.elementwise_impl(BENCH_OP_FIELD[key], True, fastest=True)


def disagreements(result: dict) -> list[str]:
    """One line per measured pick that differs from the committed default."""
    return [f"{key}: measured fastest '{got}', default '{committed_pick(key)}'"
            for key, got in sorted(measured_picks(result).items())
            if got is not None and got != committed_pick(key)]
