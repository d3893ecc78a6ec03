"""Build a TuneRequest from command-line arguments (shared by autotune and other CLIs)."""

from __future__ import annotations

import argparse
import math

from mist_ds.cli import UserError
from mist_ds.config import ClusterSpec, HardwareProfile, SearchSpace, TuneRequest, resolve_model
from mist_ds.config.request import (DEFAULT_HOST_MEMORY_FREE_FRACTION, DEFAULT_HOST_MEMORY_MARGIN_BYTES,
                                    MAX_CPU_CORES, MAX_HOST_MEMORY_BYTES, MAX_MEMORY_CAP_BYTES)
from mist_ds.config.units import GIB


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """The model / cluster / batch / search-space flags of the DESIGN.md contract; every help text
    says the default (the CLIs' parsers need no special formatter)."""
    parser.add_argument("--model", required=True,
                        help="preset name (e.g. llama-7b), or an HF config.json or a folder holding one "
                             "(a downloaded model snapshot); required")
    parser.add_argument("--nodes", type=int, default=None, help="number of nodes (default: 1, or the hostfile's)")
    parser.add_argument("--gpus-per-node", type=int, default=None,
                        help="GPUs per node (default: the hostfile's slots; one of the two is required)")
    parser.add_argument("--hostfile", default=None, help="DeepSpeed hostfile ('host slots=N' lines) (default: none)")
    parser.add_argument("--global-batch", type=int, required=True, help="sequences per optimizer step; required")
    parser.add_argument("--seq-len", type=int, required=True, help="tokens per sequence; required")
    parser.add_argument("--dtype", choices=("bf16", "fp16"), default="bf16",
                        help="compute dtype (default: %(default)s)")
    parser.add_argument("--memory-gb", type=float, default=None,
                        help="per-GPU memory cap, GiB (default: the hardware profile's card memory)")
    parser.add_argument("--force-memory", action="store_true",
                        help="allow a --memory-gb above the profile's card memory (default: off)")
    _add_host_arguments(parser.add_argument_group("host (per node)"))
    space = parser.add_argument_group("search space")
    space.add_argument("--no-pipeline", action="store_true", help="no pipeline parallelism (default: allowed)")
    space.add_argument("--max-pp", type=int, default=None, help="most pipeline stages (default: no limit)")
    space.add_argument("--no-tp", action="store_true", help="no tensor parallelism (default: allowed)")
    space.add_argument("--max-tp", type=int, default=8, help="largest tensor-parallel degree (default: %(default)s)")
    space.add_argument("--zero-stages", default="0,1,2,3", help="ZeRO stages to try, e.g. 1,3 (default: %(default)s)")
    space.add_argument("--executors", default="deepspeed,mistpipe",
                       help="engines to propose plans for: deepspeed (stock), mistpipe (mist_ds's pipeline engine "
                            "with per-stage ZeRO/offload, bf16 only; proposed only when predicted more than the "
                            "model's time error faster than every stock plan); 'deepspeed' alone: stock-only "
                            "(default: %(default)s)")
    space.add_argument("--no-offload", action="store_true", help="no CPU offload of any kind (default: allowed)")
    for kind in ("weights", "gradients", "optimizer", "activations"):
        space.add_argument(f"--no-offload-{kind}", action="store_true", help=f"no {kind} offload (default: allowed)")
    space.add_argument("--no-recompute", action="store_true", help="no activation recompute (default: allowed)")
    space.add_argument("--max-micro-batch", type=int, default=64, help="largest micro-batch (default: %(default)s)")
    space.add_argument("--no-fused-head-loss", action="store_true",
                       help="mistpipe plans keep the logit matrix (default: the search weighs, per plan, computing the "
                            "LM head and its loss in one chunked pass without it)")


def _add_host_arguments(group) -> None:
    """--host-memory-gb, --cpu-cores, --host-memory-margin, --host-memory-free (TuneRequest host fields)."""
    group.add_argument("--host-memory-gb", type=float, default=None,
                       help="CPU memory per node, GiB (default: the hardware profile's, i.e. the node it was "
                            "measured on; report.md shows the value used)")
    group.add_argument("--cpu-cores", type=int, default=None,
                       help="CPU cores per node, shared by its ranks' CPU Adam (default: the hardware profile's)")
    group.add_argument("--host-memory-margin", type=float, default=DEFAULT_HOST_MEMORY_MARGIN_BYTES / GIB,
                       help="GiB of host memory kept free per GPU process of a plan that offloads, beyond its "
                            "predicted offloaded state (default: %(default)g, the largest excess of peak RSS "
                            "over prediction in the committed GPU runs)")
    group.add_argument("--host-memory-free", type=float, default=DEFAULT_HOST_MEMORY_FREE_FRACTION,
                       help="share of a node's host memory a plan that offloads leaves free (default: "
                            "%(default)g; committed GPU runs that left less than 8%% free ran 38-48%% slower)")


def cluster_from_args(args: argparse.Namespace) -> ClusterSpec:
    """--hostfile, or --nodes x --gpus-per-node; both given must agree."""
    if args.hostfile is None:
        if args.gpus_per_node is None:
            raise UserError("give --gpus-per-node (with --nodes) or --hostfile")
        nodes = 1 if args.nodes is None else args.nodes
        return ClusterSpec(num_nodes=nodes, gpus_per_node=args.gpus_per_node)
    cluster = ClusterSpec.from_hostfile(args.hostfile)
    if args.nodes is not None and args.nodes != cluster.num_nodes:
        raise UserError(f"--nodes {args.nodes} but hostfile {args.hostfile} lists {cluster.num_nodes} hosts")
    if args.gpus_per_node is not None and args.gpus_per_node != cluster.gpus_per_node:
        raise UserError(
            f"--gpus-per-node {args.gpus_per_node} but hostfile {args.hostfile} has "
            f"slots={cluster.gpus_per_node}"
        )
    return cluster


def _zero_stages(text: str) -> tuple[int, ...]:
    try:
        stages = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UserError(f"--zero-stages '{text}': expected comma-separated stages 0-3") from None
    if not stages or any(stage not in (0, 1, 2, 3) for stage in stages):
        raise UserError(f"--zero-stages '{text}': expected comma-separated stages 0-3")
    return stages


def space_from_args(args: argparse.Namespace) -> SearchSpace:
    """SearchSpace from the switches."""
    no_offload = args.no_offload
    return SearchSpace(
        pipeline=not args.no_pipeline, max_pp=args.max_pp, tensor_parallel=not args.no_tp,
        max_tp=args.max_tp, zero_stages=_zero_stages(args.zero_stages),
        offload_weights=not (no_offload or args.no_offload_weights),
        offload_gradients=not (no_offload or args.no_offload_gradients),
        offload_optimizer=not (no_offload or args.no_offload_optimizer),
        offload_activations=not (no_offload or args.no_offload_activations),
        recompute=not args.no_recompute, max_micro_batch=args.max_micro_batch,
        executors=_executors(args.executors), fused_head_loss=not args.no_fused_head_loss,
    )


def _executors(text: str) -> tuple[str, ...]:
    """--executors: comma-separated names of config/executors.py EXECUTORS (one-line UserError otherwise)."""
    from mist_ds.config.executors import EXECUTORS

    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in EXECUTORS]
    if not names or unknown:
        raise UserError(f"--executors '{text}': expected comma-separated names of {', '.join(EXECUTORS)}")
    return names


def memory_cap_bytes(memory_gb: float | None) -> int | None:
    """--memory-gb in bytes: a positive, finite number of GiB, at most MAX_MEMORY_CAP_BYTES."""
    return gib_flag_bytes("--memory-gb", memory_gb, MAX_MEMORY_CAP_BYTES,
                          "no accelerator has more than a few hundred GiB")


def gib_flag_bytes(flag: str, value_gb: float | None, maximum_bytes: int, why: str,
                   allow_zero: bool = False) -> int | None:
    """A GiB flag in bytes: finite, positive (or zero where allowed), at least 1 MiB when positive,
    at most `maximum_bytes`; None stays None."""
    if value_gb is None:
        return None
    if not math.isfinite(value_gb) or value_gb < 0 or (value_gb == 0 and not allow_zero):
        sign = "zero or positive" if allow_zero else "positive"
        raise UserError(f"{flag} must be {sign}, got {value_gb}: give a finite number of GiB")
    if value_gb * GIB > maximum_bytes:
        raise UserError(f"{flag} {value_gb:g} is above the limit of {maximum_bytes // GIB} GiB ({why})")
    nbytes = int(value_gb * GIB)
    if 0 < value_gb and nbytes < 1024**2:
        raise UserError(f"{flag} {value_gb:g} is below 1 MiB")
    return nbytes


def host_fields(args: argparse.Namespace) -> dict:
    """TuneRequest's host fields from --host-memory-gb, --cpu-cores, --host-memory-margin and
    --host-memory-free."""
    cores = args.cpu_cores
    if cores is not None and not 1 <= cores <= MAX_CPU_CORES:
        raise UserError(f"--cpu-cores must be between 1 and {MAX_CPU_CORES}, got {cores}")
    free = args.host_memory_free
    if not 0.0 <= free <= 0.9:   # also refuses nan
        raise UserError(f"--host-memory-free must be a share between 0 and 0.9, got {free:g}")
    return {"host_memory_bytes": gib_flag_bytes("--host-memory-gb", args.host_memory_gb, MAX_HOST_MEMORY_BYTES,
                                                "no server holds that much memory"),
            "host_cpu_cores": cores,
            "host_memory_margin_bytes": gib_flag_bytes("--host-memory-margin", args.host_memory_margin,
                                                       MAX_HOST_MEMORY_BYTES, "no server holds that much memory",
                                                       allow_zero=True),
            "host_memory_free_fraction": free}


def check_memory_cap(request: TuneRequest, hardware: HardwareProfile, force: bool = False) -> None:
    """A cap above the card's memory would give plans that cannot run: refuse it unless forced."""
    cap = request.gpu_memory_cap_bytes
    if cap is not None and cap > hardware.gpu_memory_bytes and not force:
        raise UserError(
            f"--memory-gb {cap / GIB:g} is above the {hardware.gpu_memory_bytes / GIB:.2f} GiB of a "
            f"{hardware.gpu_name} (hardware profile {hardware.name}): its plans would run out of memory "
            "on the card; pass --force-memory to tune for it anyway")


def request_from_args(args: argparse.Namespace) -> TuneRequest:
    """Validate every flag into a TuneRequest (raises UserError / ValueError with one-line messages)."""
    cap = memory_cap_bytes(args.memory_gb)
    if not args.model.strip():
        raise UserError("--model is empty: give a preset name or an HF config.json path")
    if len(args.model) > 4096:
        raise UserError(f"--model is {len(args.model)} characters long: not a preset name or a path")
    return TuneRequest(
        model=resolve_model(args.model), cluster=cluster_from_args(args),
        global_batch_size=args.global_batch, seq_len=args.seq_len, dtype=args.dtype,
        space=space_from_args(args), gpu_memory_cap_bytes=cap, **host_fields(args),
    )
