"""Build a TuneRequest from command-line arguments (shared by autotune and other CLIs)."""

from __future__ import annotations

import argparse
import math

from mist_ds.cli import UserError
from mist_ds.config import ClusterSpec, HardwareProfile, SearchSpace, TuneRequest, resolve_model
from mist_ds.config.request import MAX_MEMORY_CAP_BYTES

GIB = 1024**3


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """The model / cluster / batch / search-space flags of the DESIGN.md contract."""
    parser.add_argument("--model", required=True, help="preset name (e.g. llama-7b) or HF config.json path")
    parser.add_argument("--nodes", type=int, default=None, help="number of nodes (default 1)")
    parser.add_argument("--gpus-per-node", type=int, default=None, help="GPUs per node")
    parser.add_argument("--hostfile", default=None, help="DeepSpeed hostfile ('host slots=N' lines)")
    parser.add_argument("--global-batch", type=int, required=True, help="sequences per optimizer step")
    parser.add_argument("--seq-len", type=int, required=True, help="tokens per sequence")
    parser.add_argument("--dtype", choices=("bf16", "fp16"), default="bf16")
    parser.add_argument("--memory-gb", type=float, default=None,
                        help="per-GPU memory cap, GiB (default: the hardware profile's card memory)")
    parser.add_argument("--force-memory", action="store_true",
                        help="allow a --memory-gb above the profile's card memory")
    space = parser.add_argument_group("search space")
    space.add_argument("--no-pipeline", action="store_true", help="no pipeline parallelism")
    space.add_argument("--max-pp", type=int, default=None, help="most pipeline stages")
    space.add_argument("--no-tp", action="store_true", help="no tensor parallelism")
    space.add_argument("--max-tp", type=int, default=8, help="largest tensor-parallel degree")
    space.add_argument("--zero-stages", default="0,1,2,3", help="ZeRO stages to try, e.g. 1,3")
    space.add_argument("--no-offload", action="store_true", help="no CPU offload of any kind")
    for kind in ("weights", "gradients", "optimizer", "activations"):
        space.add_argument(f"--no-offload-{kind}", action="store_true", help=f"no {kind} offload")
    space.add_argument("--no-recompute", action="store_true", help="no activation recompute")
    space.add_argument("--max-micro-batch", type=int, default=64, help="largest micro-batch")


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
    )


def memory_cap_bytes(memory_gb: float | None) -> int | None:
    """--memory-gb in bytes: a positive, finite number of GiB, at most MAX_MEMORY_CAP_BYTES."""
    if memory_gb is None:
        return None
    if not math.isfinite(memory_gb) or memory_gb <= 0:
        raise UserError(f"--memory-gb must be positive, got {memory_gb}: give a finite number of GiB")
    if memory_gb * GIB > MAX_MEMORY_CAP_BYTES:
        raise UserError(f"--memory-gb {memory_gb:g} is above the limit of {MAX_MEMORY_CAP_BYTES // GIB} GiB "
                        "(no accelerator has more than a few hundred GiB)")
    cap = int(memory_gb * GIB)
    if cap < 1024**2:
        raise UserError(f"--memory-gb {memory_gb:g} is below 1 MiB")
    return cap


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
        space=space_from_args(args), gpu_memory_cap_bytes=cap,
    )
