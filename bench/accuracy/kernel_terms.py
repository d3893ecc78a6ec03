#!/usr/bin/env python3
"""What the cost model charges per kernel set, term by term (CPU only).

    python bench/accuracy/kernel_terms.py [--preset llama-7b] [--seq 4096] [--hardware h200] [--mb 1 2]

For the eager set (cost/kernel_set.py EAGER) and the runtime's fastest set (norm torch, SwiGLU and
RoPE 'compile', loss 'liger'): milliseconds of each element-wise pass of one block
(cost/layer_time.py _elementwise, forward and backward; a recomputed forward costs the forward
again) and of the loss per micro-batch (head_parts 'loss'). bench/accuracy/FUSED_CREDIT.md uses it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.config import get_preset  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.cost import layer_time as lt  # noqa: E402
from mist_ds.cost.kernel_set import EAGER, KernelSet  # noqa: E402

FASTEST = KernelSet(activation="compile", rope="compile", loss="liger")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="llama-7b")
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--hardware", default="h200")
    ap.add_argument("--mb", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    hw, model = load_hardware(args.hardware), get_preset(args.preset)
    for mb in args.mb:
        m = mb * args.seq
        totals = {}
        for name, kernels in (("eager", EAGER), ("fastest", FASTEST)):
            for backward in (False, True):
                passes = lt._elementwise(model, m, 1, backward, kernels)
                terms = ", ".join(f"{p[0]} {1e3 * lt._memory_s(hw, [p]):.3f}" for p in passes)
                total = 1e3 * lt._memory_s(hw, passes)
                totals[name, backward] = total
                print(f"mb {mb} {name:7s} {'bwd' if backward else 'fwd'} {total:6.3f} ms: {terms}")
            totals[name, "loss"] = 1e3 * lt.head_parts(hw, model, m, 1, kernels)["loss"]
            print(f"mb {mb} {name:7s} loss {totals[name, 'loss']:6.3f} ms per micro-batch")
        saved = [totals["eager", b] - totals["fastest", b] for b in (False, True, "loss")]
        print(f"mb {mb} saved per block: fwd {saved[0]:.3f} ms, bwd {saved[1]:.3f} ms; "
              f"loss {saved[2]:.3f} ms per micro-batch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
