#!/usr/bin/env python3
"""What ZeRO-3 sees in one block: mist_ds's TransformerBlock vs the HF block the baseline trains.

    python bench/runtime/parity_static.py [--presets llama-7b,gpt-6.7b]

Counted on meta tensors (no memory, no GPU), per block: parameter tensors and elements; the tensors
ZeRO-3 all-gathers before use (more than stage3_param_persistence_threshold elements: smaller ones
are kept whole on every rank, deepspeed/runtime/zero/parameter_offload.py mark_persistent_parameters,
`ds_numel <= threshold`); the modules DeepSpeed hooks (ZeRO-3 registers pre/post forward and backward
hooks on every submodule, parameter_offload.py _register_deepspeed_module: Python work per module per
pass, with or without parameters); and the modules that own parameters (the fetch points). The
threshold is the one both sides run with: mist_ds's ds_config writes the executor's value
(config/executors.py), the baseline keeps DeepSpeed's default, and both are 1e5.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from mist_ds.config import ModelSpec, get_preset  # noqa: E402

PERSISTENCE_THRESHOLD = 100_000   # DeepSpeedZeroConfig.param_persistence_threshold default (zero/config.py)


def block_counts(block: torch.nn.Module) -> dict:
    """Parameter and hook counts of one block (module docstring)."""
    params = list(block.parameters())
    fetched = [p for p in params if p.numel() > PERSISTENCE_THRESHOLD]
    modules = list(block.modules())
    return {"param_tensors": len(params), "param_elements": sum(p.numel() for p in params),
            "zero3_fetched_tensors": len(fetched), "zero3_persistent_tensors": len(params) - len(fetched),
            "hooked_modules": len(modules),
            "modules_with_params": sum(1 for m in modules if any(True for _ in m.parameters(recurse=False)))}


def mist_block(spec: ModelSpec) -> torch.nn.Module:
    from mist_ds.runtime.blocks import TransformerBlock

    return TransformerBlock(spec, device="meta", dtype=torch.bfloat16)


def hf_block(spec: ModelSpec) -> torch.nn.Module:
    """The decoder layer HF builds for `spec` (bench/baseline/hf_model.py's config)."""
    from bench.baseline.hf_model import hf_config

    config = hf_config(spec)
    with torch.device("meta"):
        if spec.family == "llama":
            from transformers.models.llama.modeling_llama import LlamaDecoderLayer

            return LlamaDecoderLayer(config, 0)
        from transformers.models.gpt2.modeling_gpt2 import GPT2Block

        return GPT2Block(config, layer_idx=0)


def compare(presets: list[str]) -> dict[str, dict[str, dict]]:
    """{preset: {'mist_ds': counts, 'hf': counts}}."""
    return {name: {"mist_ds": block_counts(mist_block(get_preset(name))),
                   "hf": block_counts(hf_block(get_preset(name)))} for name in presets}


def table(result: dict[str, dict[str, dict]]) -> str:
    keys = list(next(iter(result.values()))["mist_ds"])
    lines = ["| block | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, sides in result.items():
        for side, counts in sides.items():
            lines.append(f"| {name} {side} | " + " | ".join(str(counts[k]) for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="llama-7b,gpt-6.7b")
    args = parser.parse_args(argv)
    print(table(compare([p for p in args.presets.split(",") if p])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
