"""Activation offload's bounded device memory (runtime/mistpipe/actpool.py, pure bookkeeping; and
reload_pool.py's ReloadPool and actoffload.py's copy forms on the CPU): where reloads lie in a slab, when a slab may
be written again, how the d2h queue lets sources go, and that every saved tensor comes back with
its values and strides out of one slab per block, with no allocation after the first pass."""

from __future__ import annotations

import pytest
import torch

from mist_ds.runtime.mistpipe.actoffload import ActivationOffloader, copy_span
from mist_ds.runtime.mistpipe.actpool import ALIGN_BYTES, CopyQueue, SlabRing, slab_layout
from mist_ds.runtime.mistpipe.streams import PinnedPool, Streams


def test_slab_layout_aligns_each_tensor_and_skips_what_does_not_fit():
    offsets, used = slab_layout([100, 600, 1], capacity=None)
    assert offsets == [0, ALIGN_BYTES, 2 * ALIGN_BYTES + 512] and used == 2 * ALIGN_BYTES + 513
    offsets, used = slab_layout([600, 5000, 10], capacity=2048)
    assert offsets == [0, None, 1024] and used == 1034  # the big one goes outside, the next still fits


def test_a_slab_is_lent_again_only_after_its_release_and_with_its_last_reads():
    ring = SlabRing(2)
    assert ring.acquire("a") == (0, None) and ring.acquire("b") == (1, None)
    assert ring.acquire("c") is None  # both lent: the caller loads outside the slabs
    assert ring.release("a", "reads of a") == 0 and ring.holder("a") is None
    assert ring.acquire("c") == (0, "reads of a")  # c's writer must wait for a's readers
    ring.release("b", "reads of b")
    ring.release("c", "reads of c")
    # the slab released first goes out first: its reads are the likeliest to be over
    assert ring.acquire("d") == (1, "reads of b") and ring.acquire("e") == (0, "reads of c")
    assert ring.release("never lent", "x") is None and ring.num_free == 0


def test_copy_queue_lets_done_copies_go_and_waits_only_beyond_its_limit():
    done: set[str] = set()
    waited: list[str] = []
    queue = CopyQueue(limit_bytes=100)
    queue.push("t1", 40, "e1")
    queue.push("t2", 40, "e2")
    assert queue.make_room(20, waited.append) == 0 and queue.held_bytes == 80  # 100 fits exactly
    assert queue.make_room(30, waited.append) == 1 and waited == ["e1"] and queue.held_bytes == 40
    queue.push("t3", 30, "e3")
    done.update({"e3"})  # later copies never finish first on one stream: e2 still blocks the head
    assert queue.settle(lambda e: e in done) == 0
    done.add("e2")
    assert queue.settle(lambda e: e in done) == 2 and len(queue) == 0 and queue.peak_bytes == 80
    unbounded = CopyQueue(None)
    unbounded.push(None, 10**12, "e")
    assert unbounded.make_room(10**12, waited.append) == 0 and queue.num_waits == 1


def offloader(**options) -> ActivationOffloader:
    streams = Streams(torch.device("cpu"))
    return ActivationOffloader(streams, PinnedPool(streams, pinned=False), min_numel=16, **options)


def saved_set(gen: torch.Generator) -> list[torch.Tensor]:
    """What a block saves, in the forms the copy distinguishes."""
    fused = torch.randn(2, 8, 64, generator=gen)          # gate|up output
    gate, up = fused.chunk(2, dim=-1)                      # strided halves: one storage copy
    attention = torch.randn(2, 8, 4, 8, generator=gen).transpose(1, 2)  # dense, permuted
    o_input = attention.transpose(1, 2).reshape(2, 8, 32)  # the same bytes as attention
    qkv = torch.randn(2, 8, 96, generator=gen)
    q_slice = qkv[..., :8]                                 # a small strided view of a big storage
    return [gate, up, attention, o_input, q_slice, torch.randn(4, 16, generator=gen)]


def round_trip(off: ActivationOffloader, key, tensors):
    handles = [off.pack(key, t) for t in tensors]
    off.seal()
    off.prefetch(key)
    return [off.unpack(h) for h in handles]


def test_saved_tensors_come_back_equal_with_their_strides_from_one_slab():
    off, gen = offloader(), torch.Generator().manual_seed(0)
    tensors = saved_set(gen)
    forms = [copy_span(t) for t in tensors]
    assert [f.staged for f in forms] == [False, False, False, False, True, False]
    assert forms[0].ident == forms[1].ident and forms[2].ident == forms[3].ident
    back = round_trip(off, (1, 0), tensors)
    for original, restored, form in zip(tensors, back, forms):
        assert torch.equal(original, restored)  # the staged view comes back contiguous
        assert restored.stride() == (original.contiguous().stride() if form.staged else original.stride())
    # gate|up copied once as one storage, attention and o-projection input once: 4 copies
    assert (off.num_saved, off.num_packed, off.num_staged) == (6, 4, 1)
    slab = off.reloads.slabs[0].untyped_storage()
    assert all(t.untyped_storage().data_ptr() == slab.data_ptr() for t in back)
    assert off.num_reload_allocations == 0


def one_pass(off: ActivationOffloader, step: int, gen: torch.Generator) -> None:
    """Forward of two offloaded blocks, then their backward top-down as the stage runs it: block 1's
    start fetches block 0's too, and a block retires when the next backward begins."""
    saved = {}
    for block in (0, 1):
        tensors = saved_set(gen)
        saved[block] = (tensors, [off.pack((step, block), t) for t in tensors])
        off.seal()
    for block in (1, 0):
        off.retire()
        off.prefetch((step, block))
        if block:
            off.prefetch((step, 0))
        tensors, handles = saved[block]
        assert all(torch.equal(t, off.unpack(h)) for t, h in zip(tensors, handles))
        off.finish((step, block))


def test_no_reload_allocation_after_the_first_pass():
    off, gen = offloader(), torch.Generator().manual_seed(0)
    counts = []
    for step in range(1, 4):
        one_pass(off, step, gen)
        counts.append((off.reloads.num_allocations, off.num_reload_allocations, off.pool.num_allocations))
    assert counts[0] == counts[-1] and counts[0][:2] == (2, 0)
    assert off.reloads.num_escapes == 0


def test_a_view_that_outlives_its_block_keeps_its_values():
    off, gen = offloader(num_slabs=1), torch.Generator().manual_seed(0)
    first = saved_set(gen)
    kept = round_trip(off, (1, 0), first)[0]  # held past the block's backward
    off.finish((1, 0))
    off.retire()
    assert off.reloads.num_escapes == 1 and off.reloads.num_allocations == 2
    round_trip(off, (2, 0), saved_set(gen))  # writes the slab that replaced the escaped one
    assert torch.equal(kept, first[0])


def test_tensors_that_do_not_fit_the_slab_are_loaded_on_their_own():
    off, gen = offloader(num_slabs=1), torch.Generator().manual_seed(0)
    round_trip(off, (1, 0), [torch.randn(64, generator=gen)])  # sizes the slab: 256 bytes
    off.finish((1, 0))
    off.retire()
    big = [torch.randn(32, generator=gen), torch.randn(4096, generator=gen)]
    assert all(torch.equal(t, r) for t, r in zip(big, round_trip(off, (2, 0), big)))
    assert off.num_reload_allocations == 1  # the small one still went into the slab


def test_the_cost_model_keeps_the_slabs_through_the_optimizer_step():
    """The slabs are allocated at the first backward and never freed (ReloadPool.reserve), so a
    stage whose peak is its optimizer step (a short sequence, states on the device) holds them
    there too: min(na, 2) blocks of saved bytes (cost/mistpipe.py _states). The engine before session 57
    (norm_in_pieces False) squared a whole unit shard at the step, which made the step the peak here; today's
    holds at most one swap chunk of fp32 (none with the states on the device)."""
    from mist_ds.config import get_preset
    from mist_ds.config.profiles import load_hardware
    from mist_ds.cost.conditions import RunConditions
    from mist_ds.cost.mistpipe import MistpipeStageCostModel
    from mist_ds.cost.stage_args import stage_args

    hw = load_hardware("h200")
    old_engine = RunConditions(norm_in_pieces=False)
    model = MistpipeStageCostModel(get_preset("llama-7b"), hw, seq_len=128, conditions=old_engine)
    costs = [model.evaluate(stage_args(stage_index=1, num_stages=2, num_layers=16, micro_batch=1, dp=1, tp=1,
                                       grad_accum=8, zero_stage=0, offload_weights=0.0, offload_gradients=0.0,
                                       offload_optimizer=0.0, num_recompute=0, num_offloaded=na))
             for na in (0, 1, 2, 5)]
    slabs = [float(c.activations_bytes) for c in costs]  # at the step, the only activations
    assert slabs[0] == 0 < slabs[1] and slabs[2] == slabs[3] == 2 * slabs[1]
    peaks = [float(c.peak_memory_bytes) for c in costs]
    assert peaks[2] - peaks[0] == pytest.approx(slabs[2] * (1 + hw.allocator_overhead_fraction))
