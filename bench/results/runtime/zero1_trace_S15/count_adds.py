#!/usr/bin/env python3
"""Count and time the gradient-accumulation adds and the ZeRO bucket / flatten copies of one profiled
step (a bench/engine/trace_digest.py digest), per micro-batch (CPU only, seconds).

    python3 bench/results/runtime/zero1_trace_S15/count_adds.py [NAME ...] [--json] [--model]

NAME: l27-z1-ga4, g13-z0-ga4 (default: both), read from this folder as NAME.rank0.digest.json.gz.

The digest cuts kernel names at 60 characters, so a bf16 add ('vectorized_elementwise_kernel<8,
at::native::CUDAFunctor_add<c10::BFloat16>') reads the same as any other 8-wide element-wise kernel:
the adds are found by structure instead. A micro-batch starts at its embedding forward
(vectorized_gather_kernel) and its backward ends at the embedding's backward (sum_and_scatter) plus
the 8-wide kernels right after it on the compute stream (the embedding's accumulation). Micro-batch 1's
compute-stream kernel sequence is aligned (difflib, exact names) with each later one's; what the
later one runs beyond it, by kernel class, is the per-micro-batch extra (the model's claim: one bf16
add per parameter tensor). Everything after micro-batch 4's backward is the step; side streams
(DeepSpeed's reduction stream) are counted apart, per phase.

Which added kernel is "the" add is ambiguous where a tiny add (a norm weight's) sits next to a
same-named residual add, so the time of the adds is taken as the difference of the micro-batch's
8-wide kernel time and micro-batch 1's (the counts differ by exactly the added kernels).

--model (needs the repo's venv) prints what cost/work.py charges for the plans (mb_copy_bytes,
step_copy_bytes at the h200 profile's copy rate; cost/stage.py StageCostModel.time_parts).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import gzip
import json
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMPUTE = "7"  # the default stream in both traces
PLANS = {"l27-z1-ga4": "bench/results/accuracy/l27-1g-c78-b4-z1-mb1.plan.json",
         "g13-z0-ga4": "bench/results/accuracy/g13-1g-c40-s2048-z0-mb2.plan.json"}


def kind(event: list) -> str:
    """Kernel class of a digest row [stream, start_us, dur_us, cat, bytes, name]."""
    name = event[5]
    if name.startswith("void at::native::vectorized_elementwise_kernel<8,"):
        return "vec8 (bf16 add etc.)"
    if "direct_copy" in name or name.startswith("void at::native::unrolled_elementwise_kernel<at::native::dir"):
        return "direct_copy"
    if name.startswith("Memcpy DtoD"):
        return "memcpy DtoD"
    if "CatArrayBatchedCopy" in name:
        return "CatArrayBatchedCopy"
    if "AdamFunctor" in name or "multi_tensor_apply_kernel<TensorListMetadata<4>, AdamFu" in name:
        return "adam"
    return "other"


def load(name: str) -> list[list]:
    with gzip.open(HERE / f"{name}.rank0.digest.json.gz", "rt") as handle:
        return [e for e in json.load(handle)["events"] if e[0] != "cpu"]


def phases(events: list[list]) -> dict[str, tuple[int, int]]:
    """[start, end) event indices: mb<k> (embedding forward .. end of its backward), gap<k> (after mb k's
    backward, before the next forward), step (after the last backward, to the end)."""
    starts = [i for i, e in enumerate(events) if "vectorized_gather_kernel" in e[5]]
    ends = []
    for i in [i for i, e in enumerate(events) if "sum_and_scatter" in e[5]]:
        j = i + 1
        while j < len(events) and events[j][0] == COMPUTE and kind(events[j]).startswith("vec8"):
            j += 1
        ends.append(j)
    assert len(starts) == len(ends), (starts, ends)
    out = {"before": (0, starts[0])}
    for k, (s, e) in enumerate(zip(starts, ends), 1):
        out[f"mb{k}"] = (s, e)
        out[f"gap{k}" if k < len(starts) else "step"] = (e, starts[k] if k < len(starts) else len(events))
    return out


def tally(rows: list[list]) -> dict[str, dict]:
    """{stream/class: {count, us}}."""
    out: dict[str, dict] = defaultdict(lambda: {"count": 0, "us": 0.0})
    for e in rows:
        key = f"s{e[0]} {kind(e)}"
        out[key]["count"] += 1
        out[key]["us"] = round(out[key]["us"] + e[2], 1)
    return dict(out)


def extra(base: list[list], other: list[list]) -> tuple[Counter, list[list], list[list]]:
    """What `other` runs beyond `base` on the compute stream: net count per class, the rows inserted
    and the rows removed (alignment by exact name)."""
    a = [e for e in base if e[0] == COMPUTE]
    b = [e for e in other if e[0] == COMPUTE]
    matcher = difflib.SequenceMatcher(None, [(e[3], e[5]) for e in a], [(e[3], e[5]) for e in b],
                                      autojunk=False)
    net, added, removed = Counter(), [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for e in b[j1:j2]:
            net[kind(e)] += 1
            added.append(e)
        for e in a[i1:i2]:
            net[kind(e)] -= 1
            removed.append(e)
    return net, added, removed


def analyse(name: str) -> dict:
    events = load(name)
    cut = phases(events)
    rows = {k: events[s:e] for k, (s, e) in cut.items()}
    result = {"phases": {k: {"start_ms": round(events[s][1] / 1e3, 2) if s < len(events) else None,
                             "events": e - s, "by_class": tally(rows[k])} for k, (s, e) in cut.items()}}
    mbs = sorted(k for k in rows if k.startswith("mb"))
    vec8_us = {k: sum(e[2] for e in rows[k] if e[0] == COMPUTE and kind(e).startswith("vec8")) for k in mbs}
    result["extra_vs_mb1"] = {}
    for k in mbs[1:]:
        net, added, removed = extra(rows["mb1"], rows[k])
        vec8 = [e for e in added if kind(e).startswith("vec8")]
        result["extra_vs_mb1"][k] = {
            "net_by_class": dict(net), "added": len(added), "removed": len(removed),
            "added_vec8": len(vec8), "added_vec8_us": round(sum(e[2] for e in vec8), 1),
            "added_other_us": round(sum(e[2] for e in added if not kind(e).startswith("vec8")), 1),
            "removed_us": round(sum(e[2] for e in removed), 1),
            "vec8_us_minus_mb1": round(vec8_us[k] - vec8_us["mb1"], 1),
            "added_vec8_durations_us": sorted(e[2] for e in vec8)}
    return result


def model_terms(name: str) -> dict:
    """What cost/work.py charges the plan (h200 profile, the traced run's kernels), in ms per step."""
    root = HERE.parents[3]
    sys.path.insert(0, str(root))
    from mist_ds.config import Plan, RunReport
    from mist_ds.config.profiles import load_hardware
    from mist_ds.cost.conditions import RunConditions
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.mistpipe import cost_model_for
    from mist_ds.cost.stage_args import plan_stage_args
    plan = Plan.load(root / PLANS[name])
    run = RunReport.load(HERE / f"{name}.profiled-run.json")
    model = cost_model_for(plan.executor, plan.model, load_hardware("h200"), plan.seq_len, plan.dtype,
                           plan.cluster.num_nodes, plan.cluster.gpus_per_node, attention=plan.attention,
                           conditions=RunConditions(kernels=KernelSet.from_record(run.kernels, run.date_utc)))
    args = plan_stage_args(plan, 0)
    t = {k: float(v) for k, v in model.terms(args).items()}
    p = {k: float(v) for k, v in model.time_parts(args).items()}
    n, g, rate = t["params"], plan.grad_accum_steps, model.rates.copy_bytes_per_s
    return {"params": n, "copy_TBps": rate / 1e12, "grad_accum": g,
            "mb_copy_bytes_per_n": t["mb_copy_bytes"] / n, "step_copy_bytes_per_n": t["step_copy_bytes"] / n,
            "deepspeed_copies_mb_ms": 1e3 * p["deepspeed_copies_mb"], "step_copies_ms": 1e3 * p["step_copies"],
            "gpu_adam_ms": 1e3 * p["gpu_adam"],
            "copies_per_step_ms": 1e3 * (g * p["deepspeed_copies_mb"] + p["step_copies"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["l27-z1-ga4", "g13-z0-ga4"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model", action="store_true", help="also print the cost model's charges")
    args = parser.parse_args()
    for name in args.names:
        r = analyse(name)
        if args.model:
            r["model"] = model_terms(name)
        if args.json:
            print(json.dumps({name: r}))
            continue
        print(f"== {name}")
        for k, p in r["phases"].items():
            cls = ", ".join(f"{c} {v['count']} / {v['us'] / 1e3:.2f} ms" for c, v in sorted(p["by_class"].items())
                            if not c.endswith("other"))
            print(f"  {k:6s} @{p['start_ms']} ms, {p['events']} events: {cls}")
        for k, x in r["extra_vs_mb1"].items():
            d = x["added_vec8_durations_us"]
            print(f"  {k} vs mb1: net {x['net_by_class']}; added {x['added']} ({x['added_vec8']} vec8, "
                  f"{x['added_vec8_us'] / 1e3:.2f} ms; other {x['added_other_us'] / 1e3:.2f} ms), removed "
                  f"{x['removed']} ({x['removed_us'] / 1e3:.2f} ms); vec8 us min/median/max "
                  f"{d[0] if d else '-'}/{d[len(d) // 2] if d else '-'}/{d[-1] if d else '-'}; "
                  f"8-wide kernel time minus mb1's: {x['vec8_us_minus_mb1'] / 1e3:.2f} ms")
        if "model" in r:
            print(f"  model: {r['model']}")


if __name__ == "__main__":
    main()
