#!/usr/bin/env python3
"""launch/train.py with mistpipe's fused weight-gradient accumulation off (build_mistpipe_engine
fused_wgrad=False: every block linear's fresh weight gradient added into the accumulation buffer by a
separate kernel, unit.py accumulate, the engine before session 14): the A side of an A/B against
launch/train.py (fused, the engine's default: stage.py FUSED_WGRAD), in one machine call.

    deepspeed ... bench/engine/unfused_wgrad_train.py --plan plan.json --steps N --report run.json

With MIST_DS_TRACE_DIR (and _STEP, _NAME) set, one step is profiled as bench/runtime/traced_train.py does.

Runs mist_ds.runtime.rank.main with every mistpipe engine built with fused_wgrad=False and the report's
RunReport.fused_wgrad saying so; nothing else differs. (S14-1, bench/results/engine/fused_wgrad_S14/,
ran the other way round, before the default flipped: its fused side was this file's predecessor,
bench/engine/fused_wgrad_train.py at commit 5c4e41f, which set fused_wgrad=True.)
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # as launch/train.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def unfuse_weight_gradients() -> None:
    from bench.engine.engine_option import build_engines_with

    build_engines_with("fused_wgrad", False, "fused_wgrad", False)


if __name__ == "__main__":
    unfuse_weight_gradients()
    if os.environ.get("MIST_DS_TRACE_DIR"):  # a profiled step, as bench/runtime/traced_train.py
        from bench.runtime.traced_train import install_tracer

        install_tracer(os.environ["MIST_DS_TRACE_DIR"], int(os.environ.get("MIST_DS_TRACE_STEP", "0")),
                       os.environ.get("MIST_DS_TRACE_NAME", "unfused"))
    from mist_ds.runtime.rank import main

    main()
