#!/usr/bin/env python3
"""One plan through both executors: write it as stock DeepSpeed's and as mistpipe's, each with the ds_config autotune
would emit and the cost model's prediction, and a run_batch jobs file that runs them back to back.

    python bench/engine/same_plan_both.py PLAN.json --out DIR [--hardware h200] [--steps 4 --warmup 1]

Writes DIR/{deepspeed,mistpipe}.{plan,ds_config}.json and DIR/jobs.json (bench/accuracy/run_batch.py --jobs).
For an A/B of the executors on the same layout, micro-batching and recompute: mistpipe ran a gpt-1.3b PP 2 plan
with nothing offloaded 1.07x faster than DeepSpeed's PipelineEngine (bench/results/engine/README.md, call C),
which the cost model does not credit. Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.config import Plan  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost import predict_plan  # noqa: E402
from mist_ds.emit.outputs import ds_config_text  # noqa: E402
from mist_ds.fileio import write_text_atomic  # noqa: E402

EXECUTORS = ("deepspeed", "mistpipe")


def as_executor(plan: Plan, executor: str, hw) -> Plan:
    """`plan` under `executor`, predicted on `hw` (the plan's own per-stage memory settings kept)."""
    bare = plan.without_prediction().model_copy(update={"executor": executor})
    bare = Plan.model_validate(bare.model_dump())  # the executor's own rules
    return bare.model_copy(update={"prediction": predict_plan(bare, hw)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan")
    parser.add_argument("--out", required=True)
    parser.add_argument("--hardware", default="h200")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        plan, hw = Plan.load_checked(Path(args.plan), "plan"), load_hardware(args.hardware)
        plans = {executor: as_executor(plan, executor, hw) for executor in EXECUTORS}
    except (OSError, ValueError) as err:
        print(f"same_plan_both: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for executor, each in plans.items():
        write_text_atomic(out / f"{executor}.plan.json", each.to_json())
        write_text_atomic(out / f"{executor}.ds_config.json", ds_config_text(each))
        jobs.append({"name": executor, "plan": str(out / f"{executor}.plan.json"), "steps": args.steps,
                     "warmup": args.warmup, "train_args": ["--ds-config", str(out / f"{executor}.ds_config.json")]})
        print(f"{executor}: predicted {each.prediction.iteration_time_s:.3f} s/iter, MFU {each.prediction.mfu:.1%}")
    write_text_atomic(out / "jobs.json", json.dumps(jobs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
