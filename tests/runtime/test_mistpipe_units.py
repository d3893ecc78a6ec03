"""StageRuntime in one process (dp = 1, CPU): the hooks, flat units, offload paths and sharded Adam
must train a block stack exactly like plain autograd + torch AdamW with DeepSpeed's clipping rule."""

from __future__ import annotations

import copy
import gc
import math
import weakref

import pytest
import torch

from mist_ds.runtime.blocks import TransformerBlock
from mist_ds.runtime.mistpipe import StageMemory, swapadam
from mist_ds.runtime.mistpipe.actoffload import QUEUE_BLOCKS
from mist_ds.runtime.mistpipe.stage import StageRuntime
from mist_ds.runtime.mistpipe.streams import Streams
from mist_ds.runtime.mistpipe.unit import UnitEnv

from .plans import GPT, LLAMA

HYPER = {"lr": 1e-2, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}
CLIP, STEPS, MICRO = 0.05, 3, 2


def stack(recompute_first: bool, spec=GPT) -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(*[TransformerBlock(spec, layer_index=i, recompute=recompute_first and i == 0)
                                 for i in range(3)])


def inputs(spec=GPT) -> list[list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [[torch.randn(2, 16, spec.hidden_size, generator=gen, requires_grad=True) for _ in range(MICRO)]
            for _ in range(STEPS)]


def reference(model, batches) -> list[float]:
    opt, losses = torch.optim.AdamW(model.parameters(), **HYPER), []
    for micro in batches:
        for x in micro:
            loss = model(x).pow(2).mean()
            (loss / MICRO).backward()
            losses.append(float(loss.detach()))
        norm = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters()))
        coef = max(1.0, (norm + 1e-6) / CLIP)  # stage_1_and_2.unscale_and_clip_grads
        for p in model.parameters():
            p.grad.mul_(1.0 / coef)
        opt.step()
        opt.zero_grad()
    return losses


def with_runtime(model, batches, memory: StageMemory, on_step=None, **options):
    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.float32, dp_group=None,
                  dp_world=1, dp_rank=0, opt_world=1, pinned=False)
    rt = StageRuntime(model, memory, env, hyper=HYPER, clip=CLIP, mp_group=None, tp_rank=0,
                      is_block=lambda m: isinstance(m, TransformerBlock), min_offload_numel=64,
                      **options)
    losses, allocations = [], []
    for micro in batches:
        for x in micro:
            rt.begin_pass()
            loss = model(x).pow(2).mean()
            assert not rt._pending  # a forward runs every deferred block step
            if rt.wslots is not None:  # forward over: every gathered block is released again
                assert not any(rt.wslots.busy)
            (loss / MICRO).backward()
            losses.append(float(loss.detach()))
        rt.reduce_gradients()
        rt.step()
        allocations.append(rt.pool.num_allocations)
        if on_step is not None:
            on_step(rt)
    return losses, rt, allocations


SWAP, DEFER = {"optimizer_offload_path": "gpu_swap"}, {"defer_step": True}
CPU = {"optimizer_offload_path": "cpu_adam"}
EVERYTHING = StageMemory(zero_stage=3, offload_weights_ratio=0.3, offload_gradients_ratio=0.6,
                         offload_optimizer_ratio=0.2, num_offloaded_layers=2)
# name: (recompute the first block, memory, StageRuntime options)
MEMORIES = {
    "plain": (False, StageMemory(zero_stage=0), {}),
    "weights_grads_optimizer_offload": (False, StageMemory(
        zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.5,
        offload_optimizer_ratio=0.5), {}),
    "activation_offload": (False, StageMemory(num_offloaded_layers=2), {}),
    "activation_offload_then_kept_blocks": (False, StageMemory(num_offloaded_layers=1), {}),
    "optimizer_offload_gpu_swap": (False, StageMemory(offload_optimizer_ratio=0.6), SWAP),
    # CPU Adam: tails of device gradient sections sent after the norm, clipped on the device;
    # those of host gradient sections sent early and clipped on the host
    "optimizer_offload_cpu_adam": (False, StageMemory(offload_optimizer_ratio=0.6), CPU),
    "grads_and_optimizer_offload_cpu_adam": (False, StageMemory(
        offload_gradients_ratio=0.3, offload_optimizer_ratio=0.6), CPU),
    "recompute_then_everything": (True, EVERYTHING, {}),
    "deferred_step": (False, StageMemory(offload_optimizer_ratio=0.5), {**DEFER, **CPU}),
    "deferred_step_everything_swap": (True, EVERYTHING, {**DEFER, **SWAP}),
}


@pytest.mark.parametrize("name", list(MEMORIES))
def test_runtime_trains_like_plain_autograd(name, monkeypatch):
    monkeypatch.setattr(swapadam, "SWAP_CHUNK_NUMEL", 5000)  # several chunks per tail, both slots
    recompute, memory, options = MEMORIES[name]
    model, batches = stack(recompute), inputs()
    expected = reference(copy.deepcopy(model), batches)
    got, rt, allocations = with_runtime(model, batches, memory, **options)
    assert got == pytest.approx(expected, rel=1e-6)
    assert max(abs(a - b) for a, b in zip(expected[MICRO:], expected[:-MICRO])) > 1e-3  # it trains
    stats = rt.stats()
    if memory.num_offloaded_layers:
        assert stats["activation_bytes_offloaded"] > 0
        assert allocations[0] == allocations[-1] > 0  # the pinned pool stops growing after step 1
    if options.get("defer_step"):  # the last step's block updates wait for a next forward
        assert rt._pending == set(range(3))
    if options.get("optimizer_offload_path") == "gpu_swap":
        assert rt.optimizer.swap is not None and set(rt.optimizer.host_adams) == {None}
        assert rt.optimizer.swap.numel() == stats["optimizer_numel_host"] > 0
    if memory.zero_stage == 3:
        assert stats["managed_units"] == 3 and stats["weight_views_saved"] > 0
        assert stats["stored_weight_numel_host"] > 0 and stats["grad_numel_host"] > 0
        assert stats["optimizer_numel_host"] > 0


LLAMA_OFFLOAD = {"reload_slabs": {}, "d2h_queue_0": {"d2h_queue_bytes": 0},
                 "allocator_held": {"d2h_queue_blocks": 0}, "no_slabs": {"num_reload_slabs": 0}}
RELOAD_COUNTERS = ("reload_slab_allocations", "reload_allocations", "pinned_allocations")


@pytest.mark.parametrize("name", list(LLAMA_OFFLOAD))
def test_llama_activation_offload_trains_like_plain_autograd(name):
    # Llama's block saves every copy form: strided SwiGLU halves (one storage copy), transposed q
    # and k (dense, permuted), SDPA's output and its reshape (one span); and on the CPU RMSNorm is
    # composite, so the block's backward unpacks x after its weight's gradient arrived
    options = LLAMA_OFFLOAD[name]
    model, batches = stack(False, LLAMA), inputs(LLAMA)
    expected = reference(copy.deepcopy(model), batches)
    counters = []
    got, rt, _ = with_runtime(model, batches, StageMemory(num_offloaded_layers=2),
                              on_step=lambda rt: counters.append([rt.stats()[c] for c in RELOAD_COUNTERS]),
                              **options)
    assert got == pytest.approx(expected, rel=1e-6)
    stats = rt.stats()
    assert stats["d2h_staged"] == 0 and stats["reload_slab_escapes"] == 0
    if options.get("num_reload_slabs") == 0:  # the engine before the pool: one buffer per reload
        assert [c[0] for c in counters] == [0] * STEPS and counters[0][1] < counters[1][1] < counters[2][1]
        return
    assert counters[0] == counters[-1]  # nothing allocated for reloads after the first step
    assert counters[0][:2] == [2, 0]
    per_block = stats["activation_bytes_offloaded"] / (STEPS * MICRO * 2)
    assert per_block <= stats["reload_slab_bytes"] / 2 < per_block + 32 * 512  # sized to one block
    # the d2h queue's bound: 0 bytes, none (the allocator holds the sources), or the default blocks' worth
    limit = {"d2h_queue_0": 0, "allocator_held": 0}.get(name, QUEUE_BLOCKS * per_block)
    assert stats["d2h_queue_limit_bytes"] == limit


def test_a_tensor_saved_by_several_ops_is_offloaded_once():
    from mist_ds.runtime.mistpipe.actoffload import ActivationOffloader
    from mist_ds.runtime.mistpipe.streams import PinnedPool

    streams = Streams(torch.device("cpu"))
    offloader = ActivationOffloader(streams, PinnedPool(streams, pinned=False), min_numel=1024)
    x = torch.randn(2048, requires_grad=True)
    h = x * 1.5  # a non-leaf: saved by both operands of the product below
    with torch.autograd.graph.saved_tensors_hooks(lambda t: offloader.pack((0, 0), t), offloader.unpack):
        y = (h * h).sum()  # mul saves self and other: the same tensor twice
    offloader.seal()
    offloader.prefetch((0, 0))
    y.backward()
    assert (offloader.num_saved, offloader.num_packed) == (2, 1)
    assert torch.allclose(x.grad, 2 * 1.5 * 1.5 * x.detach())  # d/dx (1.5x)^2


def test_a_dropped_runtime_is_collected():
    # hooks that held the runtime strongly made param -> hook -> runtime -> param a cycle torch's
    # collector cannot see through: every engine of bench/engine/mistpipe_offload.py stayed alive
    model, batches = stack(False), inputs()
    _, rt, _ = with_runtime(model, batches[:1], StageMemory(zero_stage=3, offload_optimizer_ratio=0.5,
                                                            num_offloaded_layers=1))
    ref = weakref.ref(rt)
    del rt, model
    gc.collect()
    assert ref() is None


def test_release_takes_the_hooks_off_the_module():
    model, batches = stack(False), inputs()
    _, rt, _ = with_runtime(model, batches[:1], StageMemory(zero_stage=0))
    rt.release()
    assert all("forward" not in block.__dict__ for block in model)
    model(batches[0][0]).pow(2).mean().backward()  # plain autograd again: gradients stay on params
    assert all(p.grad is not None for p in model.parameters())


def logged_runtime(memory: StageMemory, **options):
    """A runtime after one step, whose prefetches, backward starts, deferred updates and block
    computations append to the returned log."""
    model, batches = stack(False), inputs()
    _, rt, _ = with_runtime(model, batches[:1], memory, **options)
    log = []
    for name in ("prefetch",):
        original = getattr(rt.offloader, name)
        setattr(rt.offloader, name, lambda key, f=original: (log.append(("prefetch", key[1])), f(key)))
    begin = rt.backward_begin
    rt.backward_begin = lambda u, pass_id: (log.append(("backward", u)), begin(u, pass_id))
    for name in ("step_device", "finish_unit"):
        original = getattr(rt.optimizer, name)
        setattr(rt.optimizer, name, lambda i, f=original, n=name: (log.append((n, i)), f(i))[1])
    for u, block in enumerate(model):
        first = next(iter(block.children()))
        first.register_forward_pre_hook(lambda *_, u=u: log.append(("compute", u)))
    return model, rt, log


def test_offloaded_activations_are_fetched_while_the_kept_blocks_above_run_backward():
    model, rt, log = logged_runtime(StageMemory(num_offloaded_layers=1))  # block 0 offloaded
    rt.begin_pass()
    model(inputs()[0][0]).pow(2).mean().backward()
    # block 0's activations are asked for when the first backward (block 2) starts, not block 1
    assert log.index(("prefetch", 0)) < log.index(("backward", 1))
    assert rt.stats()["activation_bytes_offloaded"] > 0


def test_deferred_device_updates_are_queued_before_the_previous_block_computes():
    model, rt, log = logged_runtime(StageMemory(offload_optimizer_ratio=0.5), defer_step=True)
    rt.begin_pass()
    model(inputs()[0][0]).pow(2).mean().backward()
    for u in range(2):  # block u + 1's device update, then block u's kernels, then the host part
        assert log.index(("step_device", u + 1)) < log.index(("compute", u)) \
            < log.index(("finish_unit", u + 1)) < log.index(("compute", u + 1))
    assert log.count(("step_device", 1)) == log.count(("finish_unit", 1)) == 1


def test_weight_view_quick_refusal_agrees_with_the_storage_test():
    from mist_ds.runtime.mistpipe.weightview import storage_span, weight_view

    base = torch.randn(4096)[16:]  # a buffer that does not start its storage
    other = torch.randn(4096)
    span = storage_span(base)
    tensors = [base, base[100:300].view(10, 20), base[5:405].view(20, 20).t(), base[-8:], base[:0],
               other, other[10:20], torch.randn(3, 3), base.clone()]
    for tensor in tensors:
        assert weight_view(tensor, base, span) == weight_view(tensor, base)
    assert weight_view(base[100:300].view(10, 20), base, span) is not None
    assert weight_view(other, base, span) is None and weight_view(other, None, storage_span(None)) is None


def test_bind_reuses_its_views_and_follows_the_buffer():
    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.float32, dp_group=None,
                  dp_world=1, dp_rank=0, opt_world=1, pinned=False)
    params = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(5))]
    from mist_ds.runtime.mistpipe.unit import FlatUnit

    unit = FlatUnit("u", params, env, managed=True, weight_offload=0.5)
    slots = [torch.randn(unit.layout.padded_numel + 7) for _ in range(2)]
    for slot in (slots[0], slots[1], slots[0]):
        unit.bind(slot)
        assert params[0].data_ptr() == slot.data_ptr() and params[0].shape == (3, 4)
        assert torch.equal(params[1].data, slot[12:17])
        unit.unbind()
        assert params[0].numel() == 0
    assert len(unit._views) == 2


def test_accumulate_adds_a_non_contiguous_gradient_elementwise():
    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.float32, dp_group=None,
                  dp_world=1, dp_rank=0, opt_world=1, pinned=False)
    params = [torch.nn.Parameter(torch.randn(4, 6)), torch.nn.Parameter(torch.randn(6))]
    from mist_ds.runtime.mistpipe.unit import FlatUnit

    unit = FlatUnit("u", params, env)
    grad = torch.randn(6, 4).t()  # shape (4, 6), column-major
    unit.accumulate(0, grad)
    unit.accumulate(0, grad)
    assert torch.equal(unit.acc_dev[:24], (grad + grad).reshape(-1))
    assert not unit.acc_dev[24:].any()


def test_swap_gradient_pieces_and_the_gaps_they_leave():
    from mist_ds.runtime.mistpipe.swapadam import gaps, overlaps

    a, b = torch.arange(10.0), torch.arange(100.0, 104.0)
    pieces = overlaps([(20, b), (3, a)], start=5, n=16)  # a covers tail 3..13, b 20..24; chunk 5..21
    assert [(lo, hi) for lo, hi, _ in pieces] == [(0, 8), (15, 16)]
    assert pieces[0][2].tolist() == a[2:10].tolist() and pieces[1][2].tolist() == [100.0]
    assert gaps(pieces, 16) == [(8, 15)]
    assert gaps([], 4) == [(0, 4)] and overlaps([], 0, 4) == []
    assert gaps(overlaps([(0, a)], 0, 10), 10) == []


@pytest.mark.parametrize("numel, limit", [(10, 4), (50_356_224, 1 << 24), (7, 7), (1, 5), (3 * (1 << 24), 1 << 24)])
def test_the_swap_cuts_a_tail_into_the_fewest_nearly_equal_chunks(numel, limit):
    from mist_ds.runtime.mistpipe.swapadam import even_chunk

    size = even_chunk(numel, limit)
    sizes = [min(size, numel - start) for start in range(0, numel, size)]
    assert sum(sizes) == numel and max(sizes) <= limit
    assert len(sizes) == -(-numel // limit)  # as few as the limit allows
    assert max(sizes) - min(sizes) < len(sizes)  # no tiny last chunk


@pytest.mark.parametrize("path", ["gpu_swap", "cpu_adam"])
def test_taking_an_fp32_chunk_leaves_the_reduced_gradient_as_it_was(path):
    # grad_accum_dtype fp32: the chunk is the accumulation buffer itself, which the late d2h (cpu_adam) and
    # the swap (gpu_swap) read again, averaging it then: averaging it here too would scale it twice
    from mist_ds.runtime.mistpipe.optimizer import ShardedAdam
    from mist_ds.runtime.mistpipe.unit import FlatUnit

    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.float32, dp_group=None,
                  dp_world=2, dp_rank=0, opt_world=1, pinned=False)
    unit = FlatUnit("u", [torch.nn.Parameter(torch.randn(40))], env)
    numel = unit.initial_shard.numel()
    adam = ShardedAdam([unit], env, HYPER, offload_ratio=0.5, clip=0.0, counted=[[(0, numel)]], host_path=path)
    chunk = torch.randn(numel)
    reduced = chunk.clone()
    adam.take_chunk(0, 0, chunk, kept=True)
    assert torch.equal(chunk, reduced)
    assert adam.shards[0].grad_dev.tolist() == pytest.approx((reduced[: numel // 2] / 2).tolist())
    assert adam.grad_numel_to_host == 0  # sent after the norm (cpu_adam) or never (gpu_swap)


@pytest.mark.parametrize("path", ["gpu_swap", "cpu_adam"])
def test_a_kept_tail_is_squared_in_pieces_to_the_norm_a_whole_copy_gave(path, monkeypatch):
    """_add_kept_square upcasts a kept 16-bit tail NORM_PIECE_NUMEL elements at a time (a whole-chunk fp32 copy
    was a 3.9 GiB transient on Llama-3-8B's vocabulary unit: bench/results/runtime/frag_growth_S57/): the pieces
    never exceed it, and the counted squares (ranges that cross piece borders, one left out) sum as before."""
    from mist_ds.runtime.mistpipe import optimizer
    from mist_ds.runtime.mistpipe.optimizer import ShardedAdam
    from mist_ds.runtime.mistpipe.unit import FlatUnit

    monkeypatch.setattr(optimizer, "NORM_PIECE_NUMEL", 7)
    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.bfloat16, dp_group=None,
                  dp_world=2, dp_rank=0, opt_world=1, pinned=False)
    unit = FlatUnit("u", [torch.nn.Parameter(torch.randn(64))], env)
    numel = unit.initial_shard.numel()
    counted = [(0, 20), (23, 45), (50, numel)]  # tail from 32: two host ranges, a gap of 5 between them
    adam = ShardedAdam([unit], env, HYPER, offload_ratio=0.5, clip=0.0, counted=[counted], host_path=path)
    head = adam.shards[0].head
    pieces = []
    square = adam._add_tail_square
    monkeypatch.setattr(adam, "_add_tail_square", lambda shard, start, tail: (pieces.append(tail.numel()),
                                                                              square(shard, start, tail)))
    chunk = torch.randn(numel).to(torch.bfloat16)
    adam.take_chunk(0, 0, chunk, kept=True)
    assert pieces and max(pieces) <= 7 and sum(pieces) == numel - head
    upcast = chunk.float() / 2
    expected = sum(float(upcast[max(a, head):b].square().sum()) for a, b in counted if b > head)
    assert float(adam._tail_square) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("grad_offload", [0.0, 0.5, 1.0])
def test_only_weights_wholly_in_the_device_section_get_a_gradient_sink(grad_offload):
    """stage.py _sink_for: a weight whose gradient ends in the host section keeps autograd's linear (the
    sink would only add a custom Function's cost to the same separate add); the recomputed block's final
    linear never gets one (wgrad.py fuse_weight_gradients)."""
    from tests.helpers import tiny_model

    spec = tiny_model(hidden_size=32, num_heads=4, ffn_hidden_size=64, num_layers=2)
    model = torch.nn.Sequential(TransformerBlock(spec, layer_index=0),
                                TransformerBlock(spec, layer_index=1, recompute=True))
    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.float32, dp_group=None,
                  dp_world=1, dp_rank=0, opt_world=1, pinned=False)
    memory = StageMemory(offload_gradients_ratio=grad_offload)
    rt = StageRuntime(model, memory, env, hyper=HYPER, clip=CLIP, mp_group=None, tp_rank=0,
                      is_block=lambda m: isinstance(m, TransformerBlock), min_offload_numel=64)
    for u, block in enumerate(rt.blocks):
        unit = rt.units[u]
        for i, param in enumerate(unit.params):
            linear = param.dim() == 2 and not (block.recompute and param is block.final_linear().weight)
            assert hasattr(param, "wgrad_sink") == (linear and unit.fusable(i)), (u, i)
    if grad_offload == 1.0:
        assert not any(hasattr(p, "wgrad_sink") for p in model.parameters())
    if grad_offload == 0.0:
        assert sum(hasattr(p, "wgrad_sink") for p in model.parameters()) == 4 + 3
    rt.release()
