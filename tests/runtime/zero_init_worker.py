"""Launched on 2 CPU ranks by test_zero_init.py: build plans through the runtime and record, per
case, the most parameter elements any rank held unpartitioned at once while the model was built,
the model's total, and each parameter's local partition right after construction; then train one
ZeRO-3 plan through mist_ds.runtime.rank.train (the CLI's own path) so it writes its RunReport."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch.distributed as dist  # noqa: E402
from torch.nn.modules.module import register_module_parameter_registration_hook  # noqa: E402

from mist_ds.runtime import build as eng  # noqa: E402
from mist_ds.runtime import model as model_mod  # noqa: E402
from mist_ds.runtime import rank  # noqa: E402
from mist_ds.runtime.writeback_cast import WRAPPED_METHOD, cross_device_sub_groups  # noqa: E402
from tests.runtime.plans import CASES  # noqa: E402


class BuildWatch:
    """Every parameter registered on any module while a model is built; at each registration, the
    elements of all of them whose data is still whole (ZeRO-3 frees a partitioned parameter's data,
    partition_parameters.py free_param, and keeps this rank's share in ds_tensor)."""

    def __init__(self) -> None:
        self.params: dict[int, object] = {}
        self.peak = 0

    def __call__(self, module, name, param):
        if param is not None:
            self.params[id(param)] = param
            self.peak = max(self.peak, sum(p.data.numel() for p in self.params.values()))


def built_model(name: str, writeback_cast: str = "host") -> tuple[dict, object]:
    """Build CASES[name] through build_runtime (with `writeback_cast`) while watching the model's construction
    (only the MistModel constructor: the engine's own partitioning afterwards is not the build)."""
    watch, original = BuildWatch(), model_mod.MistModel.__init__
    handle = None

    def watched_init(self, *args, **kwargs):
        nonlocal handle
        handle = register_module_parameter_registration_hook(watch)
        try:
            original(self, *args, **kwargs)
        finally:
            handle.remove()

    eng.MistModel.__init__ = watched_init
    try:
        rt = eng.build_runtime(CASES[name], int(os.environ.get("LOCAL_RANK", 0)), "fp32", seed=1234,
                               writeback_cast=writeback_cast)
    finally:
        eng.MistModel.__init__ = original
    params = list(rt.engine.module.parameters())
    total = sum(getattr(p, "ds_numel", p.numel()) for p in params)
    local = [[int(getattr(p, "ds_numel", p.numel())), int(p.ds_tensor.numel()) if hasattr(p, "ds_tensor") else None]
             for p in params]
    optimizer = rt.engine.optimizer
    return {"peak_whole_elements": watch.peak, "total_elements": total, "partitions": local,
            "zero_init": rt.zero_init, "writeback_cast": rt.writeback_cast,
            # what runtime/writeback_cast.py reads on DeepSpeed's ZeRO-3 optimizer, as this DeepSpeed has it
            "sub_groups": len(getattr(optimizer, "fp32_partitioned_groups_flat", [])),
            "cross_device_sub_groups": len(cross_device_sub_groups(optimizer)),
            "reassign_wrapped": WRAPPED_METHOD in vars(optimizer)}, rt


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--plan", required=True, help="the ZeRO-3 plan to train through rank.train")
    parser.add_argument("--report", required=True)
    parser.add_argument("--local_rank", type=int, default=0)
    args = parser.parse_args()
    eng.init_distributed()
    results = {}
    # the 'device' write-back asked for everywhere: on CPU ranks no fp32 master is on an accelerator
    for name in ("zero3", "zero3_param_offload", "zero3_param_offload_gpu_optimizer", "zero2"):
        results[name], rt = built_model(name, "device" if name.startswith("zero3") else "host")
        rt.engine.destroy()
        del rt
        gc.collect()
    train_args = rank.parse_args(["--plan", args.plan, "--steps", "2", "--warmup", "1", "--report", args.report,
                                  "--no-host-check", f"--local_rank={args.local_rank}"])
    code = rank.train(train_args, *rank.load_inputs(train_args))
    if dist.get_rank() == 0:
        Path(args.out).write_text(json.dumps({**results, "train_exit": code}))
    rank.finish(code)


if __name__ == "__main__":
    main()
