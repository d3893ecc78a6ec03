"""GPU check of the ZeRO-3 start-up (runtime/build.py zero_init_context; cost/memory.py, Build).

One rank of `deepspeed --num_gpus N bench/runtime/zero_init_startup.py --plan PLAN --build MODE
--out FILE`: builds the plan's runtime with MODE 'zero_init' (what the runtime does) or 'whole' (the
build before zero.Init: the model whole on the GPU, partitioned by deepspeed.initialize), and
records on every rank torch.cuda.max_memory_allocated right after the model's constructor, after
deepspeed.initialize, and after --steps training steps, with the losses. Rank 0 writes FILE (JSON)
with the cost model's two start-up terms and peaks for the plan (predicted on the profile of the GPU,
zero_init True and False), so the measured start-up peaks can be set beside them:

    for mode in zero_init whole; do deepspeed --num_gpus 2 bench/runtime/zero_init_startup.py \\
        --plan bench/results/accuracy/l38b-2g-c40-b4-z3-w1-off1-rc32.plan.json --build $mode \\
        --steps 3 --out $OUT/startup-l38b-$mode.json; done
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from mist_ds.config import Plan  # noqa: E402
from mist_ds.config.profiles import load_hardware, profile_for_gpu  # noqa: E402
from mist_ds.cost import RunConditions, predict_plan  # noqa: E402
from mist_ds.cost.mistpipe import cost_model_for  # noqa: E402
from mist_ds.cost.stage_args import plan_stage_args  # noqa: E402
from mist_ds.runtime import build as eng  # noqa: E402
from mist_ds.runtime.data import TokenSource  # noqa: E402
from mist_ds.runtime.rank import finish  # noqa: E402
from mist_ds.runtime.trainer import run_steps  # noqa: E402

GIB = 2**30
ON_GPU = torch.cuda.is_available()  # a CPU run (DS_ACCELERATOR=cpu) is only a smoke test: memory reads 0


def allocated() -> int:
    return torch.cuda.max_memory_allocated() if ON_GPU else 0


def predicted(plan: Plan) -> dict:
    """The cost model's start-up terms (stage 0, bytes) and peaks both ways on the run's GPU profile."""
    hw = load_hardware(profile_for_gpu(torch.cuda.get_device_name()) if ON_GPU else "h200")
    model = cost_model_for(plan.executor, plan.model, hw, plan.seq_len, plan.dtype, plan.cluster.num_nodes,
                           plan.cluster.gpus_per_node, attention=plan.attention)
    terms = model.terms(plan_stage_args(plan, 0))
    out = {"hardware": hw.name, **{k: float(terms[k]) for k in ("build_weights", "build_weights_zero_init")}}
    for zero_init in (True, False):
        stage = predict_plan(plan.without_prediction(), hw, RunConditions(zero_init=zero_init)).stages[0]
        out[f"peak_zero_init_{zero_init}"] = stage.peak_memory_bytes
    return out


def build(plan: Plan, mode: str) -> tuple[eng.Runtime, int]:
    """build_runtime in `mode`; returns it and max_memory_allocated right after the model's constructor."""
    after_model, original = {}, eng.MistModel.__init__

    def measured_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        after_model["bytes"] = allocated()

    eng.MistModel.__init__ = measured_init
    if mode == "whole":
        eng.zero_init_context = lambda *args: contextlib.nullcontext()
    try:
        rt = eng.build_runtime(plan, int(os.environ.get("LOCAL_RANK", 0)))
    finally:
        eng.MistModel.__init__ = original
    return rt, after_model.get("bytes", -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--build", choices=("zero_init", "whole"), default="zero_init")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--local_rank", type=int, default=0)
    args = parser.parse_args()
    plan = Plan.load_checked(args.plan, "plan")
    eng.init_distributed()
    if ON_GPU:
        torch.cuda.reset_peak_memory_stats()
    rt, after_model = build(plan, args.build)
    if args.build == "whole":  # build_runtime records what uses_zero_init says, not what ran
        rt.zero_init = False
    after_init = allocated()
    source = TokenSource(plan.model.vocab_size, plan.seq_len, 1234)
    losses, times = run_steps(plan, rt, source, args.steps)
    mine = {"after_model_bytes": after_model, "after_initialize_bytes": after_init,
            "after_steps_bytes": allocated(),
            "after_steps_reserved_bytes": torch.cuda.max_memory_reserved() if ON_GPU else 0}
    ranks = [None] * dist.get_world_size()
    dist.all_gather_object(ranks, mine)
    if dist.get_rank() == 0:
        result = {"plan": args.plan, "build": args.build, "zero_init": rt.zero_init,
                  "gpu": torch.cuda.get_device_name() if ON_GPU else "cpu",
                  "ranks": ranks, "losses": losses, "step_s": times, "predicted": predicted(plan)}
        Path(args.out).write_text(json.dumps(result, indent=1))
        gib = {k: round(max(r[k] for r in ranks) / GIB, 2) for k in mine}
        print(f"[zero_init_startup] {args.build}: {gib}; predicted "
              f"{ {k: round(v / GIB, 2) for k, v in result['predicted'].items() if k != 'hardware'} }", flush=True)
    finish(0)


if __name__ == "__main__":
    main()
