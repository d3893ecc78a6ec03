#!/usr/bin/env python3
"""What one runtime block keeps for backward on a GPU, per architecture variant and kernel set, against the
cost model (mist_ds/cost/activations.py layer_saved_bytes).

    python3 bench/runtime/saved_bytes_gpu.py --out saved_bytes.json

For each variant (tests/helpers.py ARCHITECTURE_VARIANTS at Pythia-like width: GPT, Llama, GQA, Qwen2's biases,
NeoX, a decoupled head size and Qwen3's per-head q/k norms) and each RoPE / activation
implementation, one bf16 block's forward runs under saved_tensors_hooks: `saved` sums the storages the hooks
see (parameters excluded, each storage once), `retained` is torch.cuda.memory_allocated after the forward
minus before, less the block's output (what the forward leaves allocated for the backward), and
`predicted` is layer_saved_bytes for the same shape. Prints one JSON line per case.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from mist_ds.cost.activations import layer_saved_bytes  # noqa: E402
from mist_ds.cost.symbols import b, tp  # noqa: E402
from mist_ds.runtime.blocks import TransformerBlock  # noqa: E402
from mist_ds.runtime.kernels import Kernels  # noqa: E402
from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model  # noqa: E402

SHAPE = dict(hidden_size=1024, num_heads=8, num_kv_heads=8, ffn_hidden_size=4096, max_seq_len=2048)


def measure(spec, kernels: Kernels, batch: int, seq: int) -> dict:
    block = TransformerBlock(spec, dtype=torch.bfloat16, device="cuda", kernels=kernels)
    params = {p.untyped_storage().data_ptr() for p in block.parameters()}
    x = torch.randn(batch, seq, spec.hidden_size, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    for _ in range(2):  # compile and warm up outside the measurement
        block(x).float().sum().backward()
    storages: dict[int, int] = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = block(x)
    torch.cuda.synchronize()
    retained = torch.cuda.memory_allocated() - before - out.untyped_storage().nbytes()
    out.float().sum().backward()
    predicted = float(layer_saved_bytes(spec, seq, activation_kernel=kernels.activation,
                                        rope_kernel=kernels.rope).subs({b: batch, tp: 1}))
    return {"saved": sum(storages.values()), "retained": retained, "predicted": predicted,
            "tokens": batch * seq, "hidden": spec.hidden_size}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=2048)
    args = parser.parse_args()
    rows = []
    for variant, flags in ARCHITECTURE_VARIANTS.items():
        spec = tiny_model(**{**SHAPE, **flags})
        ropes = ("torch", "compile") if spec.position_embedding == "rope" else ("torch",)
        acts = ("torch", "compile") if spec.activation == "swiglu" else ("torch",)
        for rope in ropes:
            for act in acts:
                kernels = Kernels(norm="torch", activation=act, rope=rope, attention="sdpa")
                row = {"variant": variant, "rope": rope, "activation": act,
                       **measure(spec, kernels, args.batch, args.seq)}
                row["saved_minus_predicted_per_token_per_hidden"] = (row["saved"] - row["predicted"]) / (
                    row["tokens"] * row["hidden"])
                print(json.dumps(row), flush=True)
                rows.append(row)
    Path(args.out).write_text(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                                          "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
