"""Layer-time validation (issue 6, item 5): the cost model's per-layer forward / backward time,
predicted from a profile, against the block times the profiler measured on the GPU.

Reads the raw measurements (profiling/profiles/raw/NAME.raw.json, section "layers": the runtime's
TransformerBlock, tp = 1, bf16, one layer) and the profile NAME.json; runs on a CPU.

    python profiling/validate_layers.py h100-sxm-80gb [--raw RAW.json] [--json OUT.json] [--markdown OUT.md]

Predictions: mist_ds.cost.layer_time.block_parts, the layer-time model the cost model itself uses
(cost/stage.py sums it per layer): forward and backward per part ('gemm', 'attention', 'other'),
compared part by part with the kernel times the profiler recorded inside the layer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mist_ds.config import ModelSpec
from mist_ds.config.profiles import load_hardware
from mist_ds.cost.layer_time import block_parts

ROOT = Path(__file__).resolve().parent


def rows(name: str, raw_path: Path | None = None) -> list[dict]:
    """One row per measured layer shape (raw_path: other measurements of the same card)."""
    raw = json.loads((raw_path or ROOT / "profiles" / "raw" / f"{name}.raw.json").read_text())
    hw = load_hardware(name)
    out = []
    for rec in raw.get("layers", []):
        spec = ModelSpec.model_validate(rec["spec"], strict=False)
        b, s = rec["batch"], rec["seq_len"]
        row = {"preset": rec["preset"], "batch": b, "seq_len": s,
               "fwd_ms": 1e3 * rec["fwd_time_s"], "bwd_ms": 1e3 * rec["bwd_time_s"]}
        parts = block_parts(hw, spec, b, s)
        row.update(cm_fwd_ms=1e3 * sum(p[0] for p in parts.values()),
                   cm_bwd_ms=1e3 * sum(p[1] for p in parts.values()))
        if "fwd_kernels_ms" in rec:
            row["parts"] = {part: {"fwd_ms": rec["fwd_kernels_ms"][part], "bwd_ms": rec["bwd_kernels_ms"][part],
                                   "pred_fwd_ms": 1e3 * parts[part][0], "pred_bwd_ms": 1e3 * parts[part][1]}
                            for part in ("gemm", "attention", "other")}
        out.append(row)
    return out


def _err(pred: float | None, meas: float) -> str:
    return "n/a" if pred is None else f"{(pred - meas) / meas:+.1%}"


def markdown(name: str, table: list[dict]) -> str:
    """The error table (signed relative error, prediction - measured)."""
    lines = [f"Layer-time validation, profile `{name}` (one layer, tp=1, bf16; errors = predicted/measured - 1)",
             "", "| layer | b | s | fwd ms | bwd ms | cost-model fwd | err | cost-model bwd | err |",
             "|" + "---|" * 9]
    for r in table:
        lines.append(
            f"| {r['preset']} | {r['batch']} | {r['seq_len']} | {r['fwd_ms']:.2f} | {r['bwd_ms']:.2f} | "
            f"{r.get('cm_fwd_ms', float('nan')):.2f} | {_err(r.get('cm_fwd_ms'), r['fwd_ms'])} | "
            f"{r.get('cm_bwd_ms', float('nan')):.2f} | {_err(r.get('cm_bwd_ms'), r['bwd_ms'])} |")
    return "\n".join(lines + _parts_lines(table)) + "\n"


def _parts_lines(table: list[dict]) -> list[str]:
    """Per-part table: GPU kernel time inside the layer (torch.profiler) vs the cost model's part;
    'gap' is wall time minus the sum of kernel times (launch gaps)."""
    rows_with = [r for r in table if "parts" in r]
    if not rows_with:
        return []
    lines = ["", "Kernel time inside the layer by part (ms, measured / cost-model prediction):", "",
             "| layer | b | s | gemm fwd | attention fwd | other fwd | gap fwd | gemm bwd | attention bwd | "
             "other bwd | gap bwd |", "|" + "---|" * 11]
    for r in rows_with:
        p = r["parts"]
        cells = []
        for phase in ("fwd", "bwd"):
            cells += [f"{p[k][phase + '_ms']:.2f} / {p[k]['pred_' + phase + '_ms']:.2f}" for k in p]
            cells.append(f"{r[phase + '_ms'] - sum(p[k][phase + '_ms'] for k in p):.2f}")
        lines.append(f"| {r['preset']} | {r['batch']} | {r['seq_len']} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="profile name with a raw file in profiling/profiles/raw/")
    parser.add_argument("--raw", help="layer measurements to use (default profiling/profiles/raw/NAME.raw.json)")
    parser.add_argument("--json", help="write the rows as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    args = parser.parse_args(argv)
    raw = Path(args.raw) if args.raw else ROOT / "profiles" / "raw" / f"{args.name}.raw.json"
    if not raw.is_file():
        print(f"validate_layers: no raw measurements at {raw}", file=sys.stderr)
        return 2
    table = rows(args.name, raw)
    text = markdown(args.name, table)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
