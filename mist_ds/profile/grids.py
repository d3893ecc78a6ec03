"""What the profiler measures, as data: shape grids, message sizes, process groups. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grids:
    """Measurement plan of one profiler run (full or --quick)."""

    matmul_m: tuple[int, ...]
    """GEMM rows (tokens of a micro-batch: b*s)."""
    matmul_nk: tuple[int, ...]
    """GEMM output / reduction widths: h, 3h, 4h, ffn ... divided by TP 1-8 fall inside."""
    attention: tuple[tuple[int, int, int, int, int, bool], ...]
    """(batch, heads, kv_heads, seq, head_dim, causal) shapes."""
    memory_numel: int
    """Elements of each memory-bound kernel's tensor."""
    collective_bytes: tuple[int, ...]
    """Message sizes for NCCL collectives (full, unsharded buffer)."""
    copy_bytes: tuple[int, ...]
    """Pinned host<->device copy sizes."""
    cpu_adam_params: int
    """Parameters of the CPU Adam benchmark."""
    writeback_sub_groups: int
    """Distinct ZeRO-3 sub-groups (fp32 host masters) the write-back benchmark cycles through (profile/writeback.py)."""
    repeats: int
    """Timed repeats per measurement (median and spread over them)."""
    warmup: int
    """Untimed runs before the repeats."""


ATTENTION_TOKENS = (8192, 16384, 32768)
"""Tokens (batch x seq) of the attention samples per head shape and sequence. A shape runs 1.2-1.5x faster per
sequence at 32k tokens than at 8k on an H100 (session 72, bench/results/runtime/attention_batch_S72/), and
config/hw_lookup.py reads a batch above the largest sampled at its FLOP rate, so the grid reaches the micro-batches
runs use."""


def _attention_shapes(quick: bool) -> tuple[tuple[int, int, int, int, int, bool], ...]:
    # (batch, heads, kv heads, seq, head dim, causal): heads per TP rank from 4 to 32, GQA 4:1 and
    # 8:1 (Llama-2-70B, Llama-3), head dims 64 and 128, sequences 1k-8k at ATTENTION_TOKENS, one non-causal check.
    if quick:
        return ((1, 16, 16, 2048, 128, True), (1, 32, 8, 4096, 128, True), (2, 16, 16, 2048, 64, True))
    shapes = []
    for seq in (1024, 2048, 4096, 8192):
        for heads, kv, dim in ((32, 32, 128), (16, 16, 128), (8, 8, 128), (32, 8, 128), (16, 16, 64),
                               (4, 4, 128)):
            for tokens in ATTENTION_TOKENS:
                shapes.append((max(1, tokens // seq), heads, kv, seq, dim, True))
    shapes.append((2, 32, 32, 4096, 128, False))
    return tuple(shapes)


def make_grids(quick: bool) -> Grids:
    """The full grid (<= 5 min on 2 GPUs with everything else) or the --quick one (<= 2 min)."""
    if quick:
        return Grids(matmul_m=(2048, 8192), matmul_nk=(1024, 4096, 16384), attention=_attention_shapes(True),
                     memory_numel=64 * 2**20, collective_bytes=tuple(2**p for p in range(16, 31, 2)),
                     copy_bytes=(2**20, 2**24, 2**28), cpu_adam_params=8 * 2**20, writeback_sub_groups=2,
                     repeats=5, warmup=2)
    return Grids(matmul_m=(512, 2048, 8192, 32768),
                 matmul_nk=(256, 512, 1024, 2048, 4096, 8192, 16384, 32768),
                 attention=_attention_shapes(False), memory_numel=256 * 2**20,
                 collective_bytes=tuple(2**p for p in range(12, 31)),
                 copy_bytes=tuple(2**p for p in range(16, 31, 2)), cpu_adam_params=32 * 2**20,
                 writeback_sub_groups=4, repeats=11, warmup=3)


def intra_node_groups(local_world: int) -> list[tuple[int, ...]]:
    """Groups of the first node's ranks to measure: sizes 2, 4, 8 ... and the whole node."""
    sizes = []
    size = 2
    while size <= local_world:
        sizes.append(size)
        size *= 2
    if local_world >= 2 and local_world not in sizes:
        sizes.append(local_world)
    return [tuple(range(s)) for s in sizes]


def inter_node_groups(world: int, local_world: int) -> list[tuple[int, ...]]:
    """Across nodes (when there are several): one rank per node, then every rank."""
    nodes = world // max(1, local_world)
    if nodes < 2:
        return []
    groups = [tuple(node * local_world for node in range(nodes))]
    if local_world > 1:
        groups.append(tuple(range(world)))
    return groups


def rotation_count(bytes_per_set: int, l2_bytes: int, cap: int = 64) -> int:
    """Input sets to rotate through so consecutive GEMMs never hit in L2 (3x its size)."""
    return max(1, min(cap, -(-3 * l2_bytes // max(1, bytes_per_set))))


def inner_iterations(estimate_s: float, target_s: float = 2e-3, cap: int = 50) -> int:
    """Back-to-back launches per timed sample so each sample lasts about `target_s`."""
    return max(1, min(cap, int(target_s / max(estimate_s, 1e-7))))
