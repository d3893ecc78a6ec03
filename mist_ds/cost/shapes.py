"""Numeric shape facts of a ModelSpec that the symbolic model needs (parameter counts split into
TP-sharded and replicated parts, matmul weights, elementwise traffic).

Source of the sharding rules: mist_ds/runtime/tp.py and blocks.py (Megatron-style TP: q/k/v, up,
gate are column-parallel with sharded biases; o and down are row-parallel with replicated biases;
norms (the q/k norms too) are replicated; the embedding / tied LM head is vocabulary-parallel).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from mist_ds.config import ModelSpec

VOCAB_MULTIPLE = 128  # ModelSpec.padded_vocab_size default (Megatron make-vocab-size-divisible-by)


@dataclass(frozen=True)
class LayerShapes:
    """Per-layer numbers of one model: params = sharded / tp + replicated."""

    sharded_params: int
    """Parameters of one block split over the TP group (weights of all linears + column biases)."""
    replicated_params: int
    """Parameters of one block every TP rank holds whole (norms, row-parallel biases)."""
    matmul_params: int
    """Weights that take part in matmuls (q, k, v, o, MLP matrices), before TP sharding."""
    num_column_linears: int
    """Column-parallel linears per block (each has its own copy_to_tp: one backward all-reduce);
    q|k|v and up (or gate|up) are one fused linear each (runtime/tp.py FusedColumnLinear)."""
    num_row_linears: int
    """Row-parallel linears per block (each all-reduces its output in forward)."""
    mlp_matrices: int
    """Matrices in the MLP (2 for GELU, 3 for SwiGLU)."""


def layer_shapes(model: ModelSpec) -> LayerShapes:
    """Split ModelSpec.layer_params into TP-sharded and replicated parts (runtime/blocks.py)."""
    h, q, kv, f = model.hidden_size, model.q_dim, model.kv_dim, model.ffn_hidden_size
    swiglu = model.activation == "swiglu"
    mlp_mats = 3 if swiglu else 2
    matmul = 2 * h * q + 2 * h * kv + mlp_mats * h * f
    qkv_bias = (q + 2 * kv) if (model.linear_bias or model.qkv_bias) else 0
    col_mlp_bias = ((2 if swiglu else 1) * f) if model.linear_bias else 0
    row_bias = 2 * h if model.linear_bias else 0
    sharded = matmul + qkv_bias + col_mlp_bias
    replicated = row_bias + 2 * model.norm_params + model.qk_norm_params
    if sharded + replicated != model.layer_params:  # keeps the split honest if ModelSpec changes
        raise ValueError(f"layer parameter split {sharded}+{replicated} != {model.layer_params}")
    return LayerShapes(sharded, replicated, matmul, 2, 2, mlp_mats)


@dataclass(frozen=True)
class BlockTensor:
    """One parameter tensor of a block: numel = sharded / tp + replicated on a TP rank."""

    sharded: int
    replicated: int
    linear_weight: bool
    """The weight of one of the block's linears (runtime/tp.py ParallelLinear, FusedColumnLinear)."""


def block_largest_matrix(model: ModelSpec) -> int:
    """Elements of a block's largest TP-sharded tensor before the TP split (block_tensors)."""
    return max(t.sharded for t in block_tensors(model))


def block_tensors(model: ModelSpec) -> list[BlockTensor]:
    """A block's parameter tensors in the runtime's order (runtime/blocks.py TransformerBlock registers
    norm1, attention (the q/k norms' (2, head_dim) weight, Attention's own parameter, which torch's
    Module.parameters yields before its submodules' ones, then fused q|k|v, then output), norm2, MLP (up or gate|up,
    then down), each weight before its bias), which is how a mistpipe unit lays them out flat
    (runtime/mistpipe/stage.py: block.parameters()). Checked against the runtime's blocks in
    tests/cost/test_block_tensors.py."""
    h, q, kv, f = model.hidden_size, model.q_dim, model.kv_dim, model.ffn_hidden_size
    up = (2 if model.activation == "swiglu" else 1) * f
    norm = [BlockTensor(0, h, False)] * (2 if model.norm == "layernorm" else 1)
    qkv_bias = [BlockTensor(q + 2 * kv, 0, False)] if (model.linear_bias or model.qkv_bias) else []
    row_bias = [BlockTensor(0, h, False)] if model.linear_bias else []
    up_bias = [BlockTensor(up, 0, False)] if model.linear_bias else []
    qk_norm = [BlockTensor(0, model.qk_norm_params, False)] if model.qk_norm else []  # one (2, head_dim) weight
    return (norm + qk_norm + [BlockTensor((q + 2 * kv) * h, 0, True)] + qkv_bias + [BlockTensor(h * q, 0, True)]
            + row_bias + norm + [BlockTensor(up * h, 0, True)] + up_bias + [BlockTensor(h * f, 0, True)]
            + row_bias)


def vocab_shard(model: ModelSpec, tp):
    """Rows of the (padded) vocabulary one TP rank holds; works on numpy arrays of tp."""
    import numpy as np

    tp = np.asarray(tp)
    step = VOCAB_MULTIPLE * tp
    return (-(-model.vocab_size // step) * step) // tp


def layer_matrices(model: ModelSpec, tp: int) -> list[int]:
    """numel of the weight matrices of one block on one TP rank as the runtime holds them, in its
    order: q|k|v and SwiGLU's gate|up are one fused parameter each (runtime/tp.py FusedColumnLinear)."""
    return [t.sharded // tp for t in block_tensors(model) if t.linear_weight]


def _layer_tensors(model: ModelSpec, tp: int) -> list[int]:
    """numel of every parameter tensor of one block on one TP rank (block_tensors)."""
    return [t.sharded // tp + t.replicated for t in block_tensors(model)]


def embedding_tensors(model: ModelSpec, tp: int = 1) -> list[int]:
    """numel of the embedding stage's parameter tensors on one TP rank: the token table and, with
    learned positions, the position table."""
    h = model.hidden_size
    positions = [model.max_seq_len * h] if model.position_embedding == "learned" else []
    return [int(vocab_shard(model, tp)) * h] + positions


def final_norm_tensors(model: ModelSpec) -> list[int]:
    """numel of the final norm's parameter tensors (LayerNorm: weight and bias; RMSNorm: weight)."""
    return [model.hidden_size] * (2 if model.norm == "layernorm" else 1)


def stage_tensor_count(model: ModelSpec, layers, has_embedding, head_copies, has_head):
    """Parameter tensors of a stage (the same on every TP rank): its blocks' (block_tensors), the embedding's,
    and on the last stage the final norm's and, where the stage holds its own, the LM head matrix
    (`head_copies`: cost/stage.py's hc). Broadcasts over arrays."""
    return (layers * len(block_tensors(model)) + has_embedding * len(embedding_tensors(model))
            + has_head * len(final_norm_tensors(model)) + head_copies)


def _end_tensors(model: ModelSpec, tp: int) -> tuple[list[int], list[int], int]:
    """(embedding tensors, head tensors without the LM matrix, LM matrix numel) on one TP rank."""
    matrix = int(vocab_shard(model, tp)) * model.hidden_size
    return embedding_tensors(model, tp), final_norm_tensors(model), matrix


def param_tensor_stats(model: ModelSpec, tp, layers, has_embedding, has_head, head_matrix,
                       threshold: int):
    """(persistent params, largest tensor) of a stage per TP rank, vectorised over arrays.

    persistent: parameters with numel <= `threshold` that ZeRO-3 keeps whole on every rank
    (partition_parameters.py: ds_persist = ds_numel <= param_persistence_threshold).
    largest: the biggest tensor (DeepSpeed sizes its offload staging buffers by it,
    stage_1_and_2.py temp_grad_buffer_for_{gpu,cpu}_offload = largest_param_numel).
    """
    import numpy as np

    uniq, inverse = np.unique(np.asarray(tp), return_inverse=True)
    table = np.zeros((len(uniq), 6))   # per tp: small/big of layer, embedding, head matrix + norm
    for i, value in enumerate(uniq):
        layer = _layer_tensors(model, int(value))
        embedding, final_norm, matrix = _end_tensors(model, int(value))
        small = lambda tensors: sum(n for n in tensors if n <= threshold)  # noqa: E731
        table[i] = (small(layer), max(layer), small(embedding), max(embedding),
                    small([matrix]), matrix)
    t = table[inverse.reshape(np.shape(tp))]
    head_norm = sum(n for n in _end_tensors(model, 1)[1] if n <= threshold)
    persistent = (layers * t[..., 0] + has_embedding * t[..., 2]
                  + has_head * (head_norm + head_matrix * t[..., 4]))
    largest = np.maximum(np.where(layers > 0, t[..., 1], 0.0),
                         np.maximum(has_embedding * t[..., 3], has_head * head_matrix * t[..., 5]))
    return persistent, largest


def pow2_bytes(nbytes):
    """torch's pinned host allocations round each request up to a power of two
    (aten/src/ATen/core/CachingHostAllocator.h: c10::llvm::PowerOf2Ceil); 0 stays 0."""
    import numpy as np

    mantissa, exponent = np.frexp(np.asarray(nbytes, float))   # x = m * 2**e, m in [0.5, 1)
    return np.where(mantissa > 0, np.ldexp(1.0, exponent - (mantissa == 0.5)), 0.0)


def pinned_tensor_bytes(model: ModelSpec, tp, dp, layers, has_embedding, has_head, head_matrix,
                        elem: int, split: bool):
    """Sum over the stage's parameter tensors (per TP rank) of the pinned bytes of one host copy
    each, at `elem` bytes per element: the whole tensor divided among dp ranks (split=False: a
    rank keeps whole tensors of its 1/dp share, ZeRO-2's accumulated_grads_in_cpu) or each tensor's
    1/dp partition (split=True: ZeRO-3 offload_param's ds_tensor). Vectorised over arrays."""
    import numpy as np

    tp, dp = np.broadcast_arrays(np.asarray(tp, np.int64), np.asarray(dp, np.int64))
    key = tp * 4096 + dp
    uniq, inverse = np.unique(key.ravel(), return_inverse=True)
    table = np.zeros((len(uniq), 4))      # per (tp, dp): one layer, embedding, head matrix, final norm
    for i, value in enumerate(uniq):
        t, d = int(value // 4096), int(value % 4096)
        embedding, final_norm, matrix = _end_tensors(model, t)

        def rounded(tensors, d=d):
            sizes = np.asarray(tensors, float)
            return float(pow2_bytes(elem * np.ceil(sizes / d)).sum() if split
                         else pow2_bytes(elem * sizes).sum() / d)
        table[i] = (rounded(_layer_tensors(model, t)), rounded(embedding), rounded([matrix]),
                    rounded(final_norm))
    t = table[inverse.reshape(key.shape)]
    return (layers * t[..., 0] + has_embedding * t[..., 1]
            + has_head * (t[..., 3] + head_matrix * t[..., 2]))


def saved_weight_numels(model: ModelSpec, tp: int) -> list[int]:
    """numel of every parameter one block's forward saves for backward, one entry per save call, on
    one TP rank: each linear saves its weight (F.linear: the weight.t() view, as large as the
    fused parameter, layer_matrices), each norm its weight and, LayerNorm, its bias (native layer
    norm, CUDA's fused RMSNorm and the CPU composite alike), the q/k norms their head_dim row of the
    (2, head_dim) weight each; biases of linears are not saved.
    Checked against saved_tensors_hooks in tests/cost/test_saved_calls.py."""
    norm = [model.hidden_size] * (2 if model.norm == "layernorm" else 1)
    qk_norm = [model.head_dim] * 2 if model.qk_norm else []
    return layer_matrices(model, tp) + norm + norm + qk_norm


def pinned_weight_rounding(model: ModelSpec, tp):
    """Pinned bytes over raw bytes of one block's saved 16-bit weights (saved_weight_numels) copied
    to the host one tensor at a time, each rounded up to a power of two; vectorised over tp."""
    import numpy as np

    uniq, inverse = np.unique(np.asarray(tp, np.int64), return_inverse=True)
    ratio = np.array([float(pow2_bytes(2.0 * np.asarray(saved_weight_numels(model, int(t)))).sum())
                      / (2.0 * sum(saved_weight_numels(model, int(t)))) for t in uniq])
    return ratio[inverse.reshape(np.shape(tp))]


def zero3_sub_groups(model: ModelSpec, tp, dp, layers, has_embedding, has_head, head_matrix, ratio,
                     group_elements: int):
    """(CPU share of the elements, bytes of the CPU sub-groups' pinned fp32 gradients, elements of the
    largest GPU sub-group) of one rank's ZeRO-3 partition at optimizer offload `ratio` (0: none), vectorised
    over arrays, as DeepSpeed 0.19.8
    forms the sub-groups (zero/stage3.py _create_fp16_sub_groups: the partitions, ceil(numel / dp)
    each, in parameter order (embedding, blocks as block_tensors, final norm, head matrix) fill a
    group until it holds `group_elements`;
    the subgroup_to_device loop puts group i on the CPU when i >= int((1 - ratio) * groups)). The
    GPU keeps the first groups, the CPU the rest, the short last one among them, so the CPU share of
    the elements is below `ratio` where the groups are few (gpt-1.3b at 0.5: 0.46;
    bench/results/runtime/zero3_off05_peak_S20/). Each CPU group keeps a pinned fp32 gradient of its
    own size (initialize_optimizer_states: subgroup_gradient_buffer), rounded up to a power of two
    by torch's pinned allocator (pow2_bytes); the bytes are every pinned block the allocator ends up
    owning, GPU groups' cached ones included (_pinned_gradient_blocks). A group holds at least
    `group_elements` but may hold more: a parameter larger than that (an embedding) fills one alone, and the
    write-back of the largest GPU group under offload_param passes through a host buffer of its size
    (cost/stage.py host_writeback_temp)."""
    table = _per_distinct_row(lambda *row: _sub_groups_of(model, *row, int(group_elements)),
                              tp, dp, layers, has_embedding, has_head, head_matrix, ratio, width=3)
    return table[..., 0], table[..., 1], table[..., 2]


def zero3_open_bucket(model: ModelSpec, tp, layers, has_head, head_matrix, bucket_elements: int):
    """Elements in ZeRO-3's gradient-reduction (ipg) bucket still open when a stage's last block
    gradient is in, vectorised over arrays. DeepSpeed 0.19.8 adds each parameter's gradient to the
    bucket as its hook fires and reduces the bucket first when the gradient would overflow it
    (stage3.py reduce_independent_p_g_buckets_and_remove_grads: bucket.elements + param.ds_numel >
    reduce_bucket_size and bucket.elements > 0). The backward's hooks fire in reverse parameter order:
    the head's matrix and final norm (last stage), then the blocks from the last, each block's tensors
    reversed (block_tensors). What is open then is reduced with the embedding's gradient or by the
    backward's epilogue (independent_gradient_partition_epilogue), after the last compute: under
    optimizer offload its round trip cannot hide behind the backward (cost/stage_time.py copy_chain_s).
    Counted in whole-parameter elements, as the bucket holds them."""
    return _per_distinct_row(lambda *row: _open_bucket_of(model, *row, int(bucket_elements)),
                             tp, layers, has_head, head_matrix)


def _per_distinct_row(fn, *columns, width: int = 0):
    """fn(*row) for every distinct row of the broadcast `columns` (floats), spread back to their shape,
    with a last axis of `width` where fn returns a tuple of that many values (0: fn returns a float).
    Empty columns (a search batch with no row left) give an empty result of that shape."""
    import numpy as np

    from mist_ds.cost.distinct import distinct_rows

    shape = np.broadcast_shapes(*(np.shape(v) for v in columns))
    tail = (width,) if width else ()
    rows, inverse = distinct_rows(shape, *columns)
    table = np.array([fn(*(float(col[i]) for col in rows)) for i in range(len(rows[0]))],
                     dtype=float).reshape((len(rows[0]),) + tail)
    return table[inverse].reshape(shape + tail)


@functools.lru_cache(maxsize=8192)
def _open_bucket_of(model: ModelSpec, tp: float, layers: float, has_head: float, head_matrix: float,
                    bucket_elements: int) -> float:
    """zero3_open_bucket for one stage."""
    _, final_norm, matrix = _end_tensors(model, int(tp))
    head = ([matrix] * bool(head_matrix) + final_norm[::-1]) * bool(has_head)
    filled = 0
    for numel in head + _layer_tensors(model, int(tp))[::-1] * int(layers):
        if filled + numel > bucket_elements and filled > 0:
            filled = 0
        filled += numel
    return float(filled)


@functools.lru_cache(maxsize=8192)
def _sub_groups_of(model: ModelSpec, tp: float, dp: float, layers: float, has_embedding: float,
                   has_head: float, head_matrix: float, ratio: float,
                   group_elements: int) -> tuple[float, float, float]:
    """zero3_sub_groups for one stage."""
    embedding, final_norm, matrix = _end_tensors(model, int(tp))
    tensors = (embedding * bool(has_embedding) + _layer_tensors(model, int(tp)) * int(layers)
               + (final_norm + [matrix] * bool(head_matrix)) * bool(has_head))
    sizes = [-(-n // int(dp)) for n in tensors]
    groups, filling = [], 0
    for size in sizes:
        filling += size
        if filling >= group_elements:
            groups.append(filling)
            filling = 0
    if filling or not groups:
        groups.append(filling)
    on_gpu = int((1.0 - ratio) * len(groups))
    pinned = _pinned_gradient_blocks(groups, on_gpu) if ratio > 0 else 0  # no offload: no host gradients
    return 1.0 - sum(groups[:on_gpu]) / max(sum(groups), 1), float(pinned), float(max(groups[:on_gpu], default=0))


def _pinned_gradient_blocks(groups: list[int], on_gpu: int) -> int:
    """Bytes of pinned blocks torch's host allocator owns once every sub-group's fp32 gradient is made
    (zero3_sub_groups): each is pinned on the host first, a GPU group's then moved to the device and
    its block freed into the allocator's cache, which only a later request of the same power-of-two
    size class takes (deepspeed/runtime/zero/stage3.py initialize_optimizer_states: pin_memory, then
    .to(subgroup_to_device[i]); torch CachingHostAllocator.h: free lists per size class, released only by
    empty_cache). S27: replayed, this order gives the measured pinned peak of all 13 ZeRO-3
    optimizer-offload runs without weight offload (a 1 GiB cached block for Llama 3.2 1B's
    embedding group at ratio 0.125)."""
    cached: dict[int, int] = {}
    owned = 0
    for index, numel in enumerate(groups):
        if numel <= 0:
            continue
        size = 1 << (4 * numel - 1).bit_length()  # fp32, rounded up to a power of two
        if cached.get(size, 0):
            cached[size] -= 1
        else:
            owned += size
        if index < on_gpu:
            cached[size] = cached.get(size, 0) + 1
    return owned
