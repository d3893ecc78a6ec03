"""`python -m mist_ds.profile --out profiling/profiles/NAME.json [--quick]`: measure this GPU node.

On a node with several GPUs and no launcher environment, the command re-launches itself under
torchrun with one process per GPU (`--gpus` limits the count); under `deepspeed --hostfile` or
`torchrun --nnodes` it also measures inter-node collectives. Writes the raw measurements
(`--raw-out`, default <out folder>/raw/<name>.raw.json) and the assembled HardwareProfile.
`--from-raw RAW.json` re-assembles a profile from saved measurements, no GPU needed.
User errors: one line on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from mist_ds.cli import OneLineParser
from mist_ds.profile.runner import ALL_SECTIONS


class UserError(ValueError):
    """A problem with the command line or the machine, reported in one line."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(prog="python -m mist_ds.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="profile JSON to write (its stem is the profile name)")
    parser.add_argument("--quick", action="store_true", help="smaller grids (<= 2 min)")
    parser.add_argument("--sections", default=",".join(ALL_SECTIONS),
                        help=f"comma-separated subset of {','.join(ALL_SECTIONS)}")
    parser.add_argument("--raw-out", help="raw measurements JSON (default <out dir>/raw/<name>.raw.json)")
    parser.add_argument("--from-raw", help="assemble the profile from this raw JSON instead of measuring")
    parser.add_argument("--fallback", help="profile (name or file) for what is not measured "
                        "(default: h200 for H200 cards, else h100-sxm-80gb)")
    parser.add_argument("--host-memory-gib", type=float, help="host memory to record (default: as the OS reports)")
    parser.add_argument("--gpus", type=int, help="GPUs to use when self-launching (default: all)")
    parser.add_argument("--local_rank", type=int, help=argparse.SUPPRESS)  # injected by `deepspeed`
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> tuple[Path, Path, list[str]]:
    """Validate; return (out, raw_out, sections)."""
    out = Path(args.out)
    if out.suffix != ".json":
        raise UserError(f"--out must name a .json file, got '{args.out}'")
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(ALL_SECTIONS))
    if unknown or not sections:
        raise UserError(f"unknown section(s) {','.join(unknown) or '(none given)'}; known: {','.join(ALL_SECTIONS)}")
    if args.from_raw and not Path(args.from_raw).is_file():
        raise UserError(f"--from-raw: no such file '{args.from_raw}'")
    if args.gpus is not None and args.gpus < 1:
        raise UserError("--gpus must be >= 1")
    raw_out = Path(args.raw_out) if args.raw_out else out.parent / "raw" / f"{out.stem}.raw.json"
    return out, raw_out, sections


def fallback_profile(args: argparse.Namespace, card: str):
    """The profile that fills what was not measured."""
    from mist_ds.config.profiles import DEFAULT_PROFILE, load_hardware, profile_for_gpu

    try:
        name = args.fallback or profile_for_gpu(card)
    except ValueError:
        name = DEFAULT_PROFILE
    return load_hardware(name)


def assemble_and_save(raw: dict, out: Path, args: argparse.Namespace) -> None:
    """Raw measurements -> HardwareProfile at `out` (atomic)."""
    from mist_ds.profile.assemble import assemble_profile

    profile = assemble_profile(raw, out.stem, fallback_profile(args, raw.get("meta", {}).get("card", "")))
    profile.save(out)
    print(f"wrote {out} ({profile.gpu_name}, GEMM {profile.matmul_tflops:.0f} TFLOP/s, "
          f"HBM {profile.memory_bandwidth_gbps:.0f} GB/s, groups {list(profile.provenance.group_sizes_covered)}, "
          f"{raw.get('meta', {}).get('wall_s', 0)} s)")


def _self_launch(argv: list[str], gpus: int) -> int:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
           "-m", "mist_ds.profile", *argv]
    return subprocess.call(cmd, env={**os.environ, "MIST_DS_PROFILE_COMMAND": _command(argv)})


def _command(argv: list[str]) -> str:
    return os.environ.get("MIST_DS_PROFILE_COMMAND") or "python -m mist_ds.profile " + shlex.join(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        out, raw_out, sections = check_args(args)
        if args.from_raw:
            assemble_and_save(json.loads(Path(args.from_raw).read_text()), out, args)
            return 0
        fallback_profile(args, "")  # a bad --fallback fails before any measuring
        import torch

        cuda = torch.cuda.is_available()
        if not cuda and set(sections) - {"cpu_adam"}:
            raise UserError("no CUDA device found: run on a GPU node (only --sections cpu_adam runs without one)")
        count = min(torch.cuda.device_count(), args.gpus or 1 << 30) if cuda else 0
        if "WORLD_SIZE" not in os.environ and count > 1:
            return _self_launch(argv, count)
    except UserError as err:
        print(f"mist_ds.profile: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # load_hardware's one-line errors
        print(f"mist_ds.profile: {err}", file=sys.stderr)
        return 2
    from mist_ds.profile.runner import run_sections, write_raw

    raw = run_sections(sections, args.quick, raw_out, args.host_memory_gib, _command(argv))
    if raw is not None:
        write_raw(raw, raw_out)
        assemble_and_save(raw, out, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
