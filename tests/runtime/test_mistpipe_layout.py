"""Flat-unit layout arithmetic and the StageMemory schema (pure)."""

from __future__ import annotations

import pytest

from mist_ds.runtime.mistpipe import StageMemory
from mist_ds.runtime.mistpipe.layout import split_point, unit_layout

SHAPES = [(1, 1, 0.0), (1000, 2, 0.0), (1000, 2, 0.5), (12345, 4, 0.25), (777, 8, 1.0), (64, 3, 0.9)]


@pytest.mark.parametrize("numel,world,host", SHAPES)
def test_sections_cover_the_padded_space_in_whole_granules(numel, world, host):
    layout = unit_layout(numel, world, host, align=16)
    assert layout.sections[0].start == 0 and layout.padded_numel >= numel
    for a, b in zip(layout.sections, layout.sections[1:]):
        assert a.end == b.start and not a.on_host and b.on_host
    for section in layout.sections:
        assert section.numel > 0 and section.numel % (world * 16) == 0
    host_numel = sum(s.numel for s in layout.sections if s.on_host)
    assert abs(host_numel - host * numel) <= world * 16 or host == 0 and host_numel == 0


@pytest.mark.parametrize("numel,world,host", SHAPES)
def test_the_ranks_own_every_element_exactly_once(numel, world, host):
    layout = unit_layout(numel, world, host, align=16)
    owned = []
    for rank in range(world):
        ranges = layout.owned_ranges(rank)
        assert sum(end - start for start, end, _ in ranges) == layout.shard_numel
        shard_starts = [s for _, _, s in ranges]
        assert shard_starts == sorted(shard_starts) and shard_starts[0] == 0
        owned += [i for start, end, _ in ranges for i in range(start, end)]
    assert sorted(owned) == list(range(layout.padded_numel))


@pytest.mark.parametrize("numel,world,host", SHAPES)
def test_host_shard_start_is_where_every_ranks_host_section_chunk_begins(numel, world, host):
    layout = unit_layout(numel, world, host, align=16)
    for rank in range(world):
        on_host = [shard for flat_start, flat_end, shard in layout.owned_ranges(rank)
                   if any(s.on_host and s.start <= flat_start < s.end for s in layout.sections)]
        assert on_host == ([layout.host_shard_start()] if host else [])
    assert layout.host_shard_start() == (layout.shard_numel if not host else
                                         layout.sections[0].numel // world if len(layout.sections) == 2 else 0)


def test_norm_spans_map_to_each_owner_once():
    layout = unit_layout(1000, 4, 0.5, align=16)
    spans = [(0, 100), (100, 300), (450, 999)]  # (300, 450) is not counted; 100 touches
    covered = []
    for rank in range(4):
        ranges = layout.shard_ranges(rank, spans)
        assert all(a < b for a, b in ranges)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(ranges, ranges[1:]))  # merged, sorted
        flat = {shard: flat_start + shard - shard_start
                for flat_start, flat_end, shard_start in layout.owned_ranges(rank)
                for shard in range(shard_start, shard_start + flat_end - flat_start)}
        covered += [flat[i] for a, b in ranges for i in range(a, b)]
    assert sorted(covered) == [i for a, b in spans for i in range(a, b)]


def test_split_point_and_bad_input():
    assert split_point(10, 0.0) == 10 and split_point(10, 1.0) == 0 and split_point(10, 0.25) == 8
    with pytest.raises(ValueError):
        split_point(10, 1.5)
    with pytest.raises(ValueError):
        unit_layout(0, 2)


def test_stage_memory_validates_and_copies_any_object_with_its_fields():
    with pytest.raises(ValueError, match="zero_stage"):
        StageMemory(zero_stage=4)
    with pytest.raises(ValueError, match="offload_gradients_ratio"):
        StageMemory(offload_gradients_ratio=-0.1)

    class Entry:
        zero_stage, offload_weights_ratio, offload_gradients_ratio = 3, 0.5, 0.25
        offload_optimizer_ratio, num_offloaded_layers, dp = 0.75, 2, 4

    memory = StageMemory.of(Entry())
    assert memory == StageMemory(3, 0.5, 0.25, 0.75, 2) and memory.shards_weights


def test_stage_memory_from_a_plan_takes_the_stage_setting_and_its_offloaded_blocks():
    from mist_ds.config.plan import MemoryStrategy
    from mist_ds.runtime.model import block_roles

    from .plans import GPT, make_plan

    own = MemoryStrategy(zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.25)
    plan = make_plan(GPT, [{"end": 3, "num_recompute_layers": 1, "num_offloaded_layers": 2, "memory": own},
                           {"end": 4}], executor="mistpipe", zero_stage=1, offload_optimizer=0.5)
    first, second = StageMemory.from_plan(plan, 0), StageMemory.from_plan(plan, 1)
    assert first == StageMemory(3, 0.5, 0.25, 0.0, 2)
    assert second == StageMemory(1, 0.0, 0.5, 0.5, 0)  # the plan's setting (gradients follow in make_plan)
    roles = block_roles(0, 3, 1, first.num_offloaded_layers)
    assert list(roles.values()) == ["recompute", "offload", "offload"]
