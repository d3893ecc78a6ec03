"""`python -m mist_ds.autotune`: find the fastest plan for a model on a cluster.

SKELETON (foundation issue): validates the request and prints the model's size and a memory floor.
The search lands with the search issue; until then this command says so and tunes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from mist_ds.cli import OneLineParser, run_cli
from mist_ds.config.profiles import load_hardware
from mist_ds.request_args import add_request_arguments, request_from_args

# bf16 weights (2) + bf16 grads (2) + fp32 master (4) + Adam m, v (8): ZeRO paper (Rajbhandari et al.
# 2020), section 3.1, "16 bytes per parameter" for mixed-precision Adam.
MODEL_STATE_BYTES_PER_PARAM = 16


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.autotune", description=__doc__)
    add_request_arguments(parser)
    parser.add_argument("--hardware", default="h100-sxm-80gb", help="profile name or JSON path")
    parser.add_argument("--out", default=None, help="folder for plan.json, ds_config.json, ...")
    parser.add_argument("--top", type=int, default=5, help="how many plans to list")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    request = request_from_args(args)
    hardware = load_hardware(args.hardware)
    params = request.model.num_params
    floor = params * MODEL_STATE_BYTES_PER_PARAM / request.cluster.num_gpus
    summary = {
        "status": "not_tuned",
        "message": "search not implemented yet: request validated, no plan produced",
        "model": request.model.name,
        "num_params": params,
        "num_gpus": request.cluster.num_gpus,
        "hardware": hardware.name,
        "model_state_floor_bytes_per_gpu": int(floor),
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{request.model.name}: {params / 1e9:.2f}B parameters on {request.cluster.num_gpus} GPUs "
              f"({hardware.gpu_name})")
        print(f"model-state floor (ZeRO-3 over all GPUs, no offload): {floor / 2**30:.1f} GiB per GPU")
        print("NOTE: the plan search is not implemented yet; nothing was tuned or written.")
    return 0


if __name__ == "__main__":
    run_cli(main)
