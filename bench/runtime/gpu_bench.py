"""Runtime kernel benchmarks on one GPU (issue 14 items 2, 3, 5): the loss (time and bytes per
logit of ours vs Liger vs the former fp32 path, at a GPT-1.3B and a llama-7b head), the fused
element-wise ops per implementation (llama-7b / gpt-6.7b shapes, micro-batch 1-4, seq 4096), and
the attention kernels (head_dim 128, seq 2048-8192, MHA and GQA). Writes one JSON (with the
picks: fastest loss within 4 bytes per logit, fastest implementation per op, fastest attention
kernel per shape) and prints a short table; about 3 minutes on one H200 (--budget-s bounds it).

    python3 bench/runtime/gpu_bench.py --out $OUT/gpu_bench.json
    python bench/runtime/gpu_bench.py --device cpu --small --out /tmp/b.json   # smoke run

Liger-Kernel (pip package liger-kernel) and flash-attn are used when importable.
"""

from __future__ import annotations

import argparse  # noqa: F401 (Namespace in annotations)
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bench.runtime import attention_bench, loss_bench, ops_bench, picks_check  # noqa: E402
from bench.runtime.timing import Budget, flash_attn_available, liger_available  # noqa: E402
from mist_ds.cli import OneLineParser  # noqa: E402

SECTIONS = ("loss", "attention", "ops")


def parse_args(argv=None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--micro-batches", default="1,2,4", help="ops section micro-batches")
    parser.add_argument("--budget-s", type=float, default=170.0,
                        help="cases starting after this many seconds are recorded as skipped")
    parser.add_argument("--small", action="store_true", help="tiny shapes (CPU smoke test)")
    args = parser.parse_args(argv)
    sections = tuple(s for s in args.sections.split(",") if s)
    if not sections or any(s not in SECTIONS for s in sections):
        parser.error(f"--sections takes a comma-separated subset of {','.join(SECTIONS)}")
    try:
        args.micro_batches = tuple(int(b) for b in args.micro_batches.split(","))
    except ValueError:
        parser.error("--micro-batches takes comma-separated integers")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available (use --device cpu --small)")
    args.sections = sections
    return args


def environment(device: torch.device) -> dict:
    env = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "torch": torch.__version__, "python": platform.python_version(),
           "liger_kernel": liger_available(), "flash_attn": flash_attn_available(),
           "argv": sys.argv}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def run(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    budget = Budget(args.budget_s)
    result = {"environment": environment(device), "picks": {}}
    if "loss" in args.sections:
        result["loss"] = loss_bench.run(device, budget, args.small)
        result["picks"]["loss"] = loss_bench.pick(result["loss"])
    if "attention" in args.sections:
        result["attention"] = attention_bench.run(device, budget, args.small)
        result["picks"]["attention"] = attention_bench.pick(result["attention"])
    if "ops" in args.sections:
        result["ops"] = ops_bench.run(device, budget, args.small, args.micro_batches)
        result["picks"]["ops"] = ops_bench.pick(result["ops"])
    result["defaults_disagree"] = picks_check.disagreements(result)
    return result


def _fmt(value, spec=".2f") -> str:
    return "-" if value is None else format(value, spec)


def table(result: dict) -> str:
    lines = []
    for head, entry in result.get("loss", {}).items():
        lines.append(f"loss {head}: method  head_ms  head_B/logit  loss_ms  loss_extra_B/logit")
        for method, r in entry["methods"].items():
            h, lo = r["head"], r.get("loss", {})
            lines.append(f"  {method:16s} {_fmt(h.get('time_ms')):>8} "
                         f"{_fmt(h.get('peak_bytes_per_logit')):>8} {_fmt(lo.get('time_ms')):>8} "
                         f"{_fmt(lo.get('extra_bytes_per_logit')):>8}  {h.get('error', '')}")
    for shape, by_kernel in result.get("attention", {}).items():
        cells = "  ".join(f"{k}={_fmt(r.get('time_ms'))}" for k, r in by_kernel.items())
        lines.append(f"attn {shape}: {cells}  (ms fwd+bwd)")
    for model, entry in result.get("ops", {}).items():
        for key, ops in entry.items():
            if key.startswith("mb"):
                for op, by_impl in ops.items():
                    cells = "  ".join(f"{i}={_fmt(r.get('time_ms'), '.3f')}" for i, r in by_impl.items())
                    lines.append(f"ops {model} {key} {op}: {cells}  (ms fwd+bwd)")
    lines.append("picks: " + json.dumps(result["picks"]))
    lines.append("defaults (mist_ds/config/kernel_picks.py) vs this run: "
                 + ("; ".join(result.get("defaults_disagree", [])) or "agree"))
    return "\n".join(lines)


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    write_json(Path(args.out), result)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
