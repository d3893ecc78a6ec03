#!/usr/bin/env python3
"""The pageable write-back rate of ZeRO-3 optimizer offload, read from unprofiled optimizer steps (CPU only).

    python bench/accuracy/writeback_rate.py PLAN_DIR/rank0.phases.json [...] [--hardware h200-1gpu-node]

Each argument is a bench/runtime/phase_train.py output folder's rank file; the folder is named after the
suite case it ran (bench/results/accuracy/<case>.plan.json). ZeRO-3 with the optimizer on the host and the
weights on the GPU ends every step with DeepSpeedCPUAdam per CPU sub-group followed by that sub-group's
16-bit weights written back from pageable host memory (cost/stage_time.py step_parts: cpu_adam, then
step_transfers' pageable_h2d_bytes, one after the other on the training thread). So the optimizer-step
phase less the model's CPU Adam, pinned copies and per-step host overhead is the write-back, and the
model's pageable bytes over it is the rate. Per plan: the median over the timed steps; the median of
the plans is the profile's `pageable_h2d_bandwidth_gbps` estimate. The model's CPU Adam is taken as
right here: the weight-offload control of call S25-1, whose step is CPU Adam alone, ran it within 2%
(bench/accuracy/ZERO3_OFFLOAD.md, session 25). Exit 2 on bad input, with one line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mist_ds.config import Plan  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost.conditions import RunConditions  # noqa: E402
from mist_ds.cost.mistpipe import cost_model_for  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402

PLANS = ROOT / "bench" / "results" / "accuracy"
WARMUP = 2
"""Leading steps of a phases file left out (the call scripts run phase_train.py with --warmup 2)."""


def optimizer_steps(phases_path: Path, warmup: int = WARMUP) -> list[float]:
    """The optimizer-step phase (the last micro-batch's engine.step) of each timed step, seconds."""
    steps = json.loads(phases_path.read_text())["steps"][warmup:]
    if not steps or not all(steps):
        raise ValueError("no timed step")
    return [float(s[-1]["step"]) for s in steps]


def _model_terms(plan: Plan, hw_name: str):
    """(cost model, terms, time parts) of the plan's first stage on profile `hw_name`, with DeepSpeed's own
    write-back (the rate measured is that copy's: RunConditions.writeback_cast 'host', what every phased run
    before session 66 ran; a run with --writeback-cast device has no pageable write-back to measure)."""
    hw = load_hardware(hw_name)
    model = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=plan.attention,
                           conditions=RunConditions(writeback_cast="host"))
    args = plan_stage_args(plan, 0)
    return model, model.terms(args), model.time_parts(args)


def _pageable_bytes(t) -> float:
    return float(t["pageable_h2d_bytes"] + t["pageable_d2h_bytes"])


def writes_back(plan: Plan, hw_name: str) -> bool:
    """Whether the model has the plan write weights back from pageable host memory every step."""
    return _pageable_bytes(_model_terms(plan, hw_name)[1]) > 0


def plan_rate(plan: Plan, hw_name: str, steps_s: list[float]) -> dict:
    """{'bytes', 'others_s', 'rates_gbps', 'rate_gbps'} of one plan: the model's pageable write-back
    bytes, the step's other terms and the rate each measured step implies."""
    model, t, parts = _model_terms(plan, hw_name)
    nbytes = _pageable_bytes(t)
    if nbytes <= 0:
        raise ValueError("the plan writes nothing back from pageable memory")
    pageable_s = float(model.rates.pageable_h2d_s(nbytes))
    others = float(parts["cpu_adam"] + parts["step_transfers"] - pageable_s + parts["host_step"])
    rates = [nbytes / (s - others) / 1e9 for s in steps_s if s > others]
    if not rates:
        raise ValueError(f"every optimizer step is shorter than the model's other step terms ({others:.3f} s)")
    return {"bytes": nbytes, "others_s": others, "rates_gbps": rates, "rate_gbps": statistics.median(rates)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phases", nargs="+", type=Path, help="<case>/rank0.phases.json from phase_train.py")
    parser.add_argument("--hardware", default="h200-1gpu-node", help="profile whose other terms are subtracted")
    args = parser.parse_args(argv)
    medians = []
    for path in args.phases:
        case = path.parent.name
        try:
            plan = Plan.load(PLANS / f"{case}.plan.json")
            if not writes_back(plan, args.hardware):
                print(f"{case:44s} skipped: writes nothing back from pageable memory")
                continue
            row = plan_rate(plan, args.hardware, optimizer_steps(path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            return 2
        medians.append(row["rate_gbps"])
        steps = ", ".join(f"{r:.2f}" for r in row["rates_gbps"])
        print(f"{case:44s} {row['bytes'] / 1e9:5.2f} GB after {row['others_s'] * 1e3:5.0f} ms: "
              f"{row['rate_gbps']:.2f} GB/s (steps {steps})")
    if not medians:
        print("error: no plan writes back from pageable memory", file=sys.stderr)
        return 2
    print(f"median of {len(medians)} plans: {statistics.median(medians):.3f} GB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
