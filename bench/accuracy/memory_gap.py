#!/usr/bin/env python3
"""Table of the reserved - allocated gap of every committed ok run, beside the cost model's terms
(issue 10: what the allocator allowance has to explain). CPU only; prints markdown.

    PYTHONPATH=$PWD python bench/accuracy/memory_gap.py   # the table of bench/accuracy/MEMORY_GAP.md

Per rank: measured peak allocated and reserved (RunReport), the plan's memory cap, the cost model's
raw peak (no allowance) and the phase that sets it (fb: forward/backward, step, build), the
transient part of each phase (fb: activations + buffers + logits; step: fp32 gradient + flattening
copies + step buffers), the allocator holes cost/reserved.py predicts for the stage's class
(cost/reserved.py hole_bytes; the 'side stream' column before cost/reserved.py existed) and one
16-bit partition (2N/dp bytes) to scale the gap by.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.accuracy.cases import family  # noqa: E402
from bench.accuracy.report import RESULTS, engine_pairs, older_pairs, parity_pairs, suite_pairs  # noqa: E402
from bench.accuracy.schema import knobs_of  # noqa: E402
from bench.accuracy.scoring import hardware_of, run_kernels  # noqa: E402
from mist_ds.config import Plan, RunReport  # noqa: E402
from mist_ds.config.units import GIB  # noqa: E402
from mist_ds.cost.mistpipe import MistpipeStageCostModel, cost_model_for  # noqa: E402
from mist_ds.cost.conditions import RunConditions, zero_init_of  # noqa: E402
from mist_ds.cost.reserved import hole_bytes  # noqa: E402
from mist_ds.cost.stage import phase_parts  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402

HEADER = ("| run | family | stage | rank | cap | allocated | reserved | gap | reserved/alloc | raw | phase | "
          "fb transient | step transient | predicted holes | gap / partition |")


def rows_of(name: str, plan: Plan, run: RunReport, cache: dict) -> list[str]:
    hw = hardware_of(run, cache)
    model = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=plan.attention,
                           conditions=RunConditions(kernels=run_kernels(run), zero_init=zero_init_of(run.zero_init)))
    if isinstance(model, MistpipeStageCostModel):
        return []
    out, fam = [], family(knobs_of(plan))
    for i in range(plan.num_stages):
        t = {k: float(np.asarray(v).ravel()[0]) for k, v in model.terms(plan_stage_args(plan, i)).items()}
        fb_parts, step_parts, build = phase_parts(t, model.zero_init)   # as cost/stage.py sums them
        fb, step = float(sum(fb_parts.values())), float(sum(step_parts.values()))
        raw = max(fb, step, build)
        phase = "build" if build >= raw else ("step" if step > fb else "fb")
        persistent = float(fb_parts["weights"] + fb_parts["optimizer"] + fb_parts["gradients"])
        part = 2 * t["params"] / plan.dp
        holes = hole_bytes(plan, i)
        for rank in range(i * plan.gpus_per_stage, (i + 1) * plan.gpus_per_stage):
            a, r = run.peak_allocated_bytes[rank], run.peak_reserved_bytes[rank]
            cap = plan.gpu_memory_cap_bytes
            out.append(f"| {name} | {fam} | {i} | {rank} | {cap / GIB if cap else 0:.0f} | {a / GIB:.2f} | "
                       f"{r / GIB:.2f} | {(r - a) / GIB:.2f} | {r / a:.3f} | {raw / GIB:.2f} | {phase} | "
                       f"{(fb - persistent) / GIB:.2f} | "
                       f"{(t['step_gradients'] + t['step_convert'] + t['step_buffers']) / GIB:.2f} | "
                       f"{holes / GIB:.2f} | {(r - a) / part:.2f} |")
    return out


def main() -> int:
    cache: dict = {}
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for pairs in (suite_pairs(RESULTS / "accuracy"), older_pairs(RESULTS), parity_pairs(RESULTS), engine_pairs(RESULTS)):
        for name, plan_path, run_path in pairs:
            run = RunReport.load(run_path)
            if plan_path.exists() and run.status == "ok":
                lines += rows_of(name, Plan.load(plan_path), run, cache)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
