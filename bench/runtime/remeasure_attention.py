#!/usr/bin/env python3
"""Re-measure a shipped profile's attention samples on this GPU with the profiler's own timing (GPU).

    python bench/runtime/remeasure_attention.py PROFILE [--extra B,H,KV,S,D ...] [--passes N] [--gate-s S] > a.log

Times every (batch, heads, kv heads, seq, head dim, causal) shape PROFILE's attention_samples hold, plus --extra
causal shapes, with mist_ds.profile.compute.attention (the profiler's own timing and grid settings), N passes over the
whole list in this one process (each sample behind a GPU hold of --gate-s, default the profiler's
compute.ATTENTION_GATE_S; 0 times the host's launch path too, as profiles made before session 63 did), and prints
each pass's records as one JSON list line (the last line is what bench/runtime/merge_attention_samples.py merges;
median_attention_samples.py takes every line).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.cli import OneLineParser  # noqa: E402
from mist_ds.config.profiles import load_hardware  # noqa: E402
from mist_ds.profile import compute  # noqa: E402
from mist_ds.profile.grids import make_grids  # noqa: E402


def shapes_of(profile: str, extra: list[str]) -> list[tuple[int, int, int, int, int, bool]]:
    """The profile's sample shapes, then the --extra ones (causal), each once, in order."""
    hw = load_hardware(profile)
    shapes = [(s.batch, s.num_heads, s.num_kv_heads, s.seq_len, s.head_dim, s.causal) for s in hw.attention_samples]
    for e in extra:
        parts = e.split(",")
        if len(parts) != 5 or not all(x.isdigit() and int(x) > 0 for x in parts):
            raise ValueError(f"--extra {e}: want B,H,KV,S,D (five positive integers)")
        shapes.append(tuple(int(x) for x in parts) + (True,))
    return list(dict.fromkeys(shapes))


def main() -> int:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--extra", nargs="*", default=[], help="B,H,KV,S,D shapes to add (causal)")
    ap.add_argument("--passes", type=int, default=1, help="passes over the shapes in this process")
    ap.add_argument("--gate-s", type=float, default=compute.ATTENTION_GATE_S,
                    help="GPU hold before each timed sample, seconds (0: none)")
    args = ap.parse_args()
    if args.gate_s < 0:
        ap.error(f"--gate-s {args.gate_s}: want seconds >= 0")
    try:
        shapes = shapes_of(args.profile, args.extra)
    except ValueError as e:
        ap.error(str(e))
    grids = dataclasses.replace(make_grids(False), attention=tuple(shapes))
    print(f"# {len(grids.attention)} shapes on {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"gate {args.gate_s} s", file=sys.stderr)
    for _ in range(args.passes):
        print(json.dumps(compute.attention(grids, torch.device("cuda"), lambda: None, args.gate_s)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
