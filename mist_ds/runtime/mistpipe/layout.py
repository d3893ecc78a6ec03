"""Flat-buffer arithmetic of one unit (a block, or a stage's resident parameters): padding,
sections, shards and offload split points. Pure: no torch, testable without processes.

A unit's parameters are laid out back to back in one flat space [0, padded_numel). The space is cut
into at most two *sections* (device-resident gradients first, host-resident gradients last, by the
stage's `offload_gradients_ratio`); each section's length is a multiple of `world * align`, so every
collective (reduce-scatter of gradients, all-gather of weights) runs on whole, contiguous,
equal-sized chunks of one section. Rank r owns chunk r of every section; its *shard* is the
concatenation of those chunks (shard_numel = padded_numel / world). Optimizer states and sharded
weights are vectors in this shard space; their own offload split (a fraction of the shard kept on
the host) needs no alignment, so `split_point` cuts anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.config.executors import MISTPIPE

# elements per shard granule: 128-byte aligned 16-bit chunks, and a whole vector width
ALIGN = MISTPIPE.constants.align_elements


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= value."""
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class Section:
    """A contiguous range [start, end) of the padded flat space; `on_host`: its accumulated
    gradients live in pinned host memory between micro-batches."""

    start: int
    end: int
    on_host: bool

    @property
    def numel(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class UnitLayout:
    """The padded flat space of one unit, its sections and the shard of every rank."""

    numel: int
    world: int
    sections: tuple[Section, ...]

    @property
    def padded_numel(self) -> int:
        return self.sections[-1].end

    @property
    def shard_numel(self) -> int:
        return self.padded_numel // self.world

    def section_chunks(self) -> list[tuple[Section, int, int]]:
        """(section, offset in the shard, chunk length) for every section, in order."""
        out, offset = [], 0
        for section in self.sections:
            chunk = section.numel // self.world
            out.append((section, offset, chunk))
            offset += chunk
        return out

    def host_shard_start(self) -> int:
        """Where the host gradient section's chunk begins in every rank's shard (shard_numel: none):
        the host section is the last, so shard positions from here on take their gradients from it."""
        return sum(chunk for section, _, chunk in self.section_chunks() if not section.on_host)

    def owned_ranges(self, rank: int) -> list[tuple[int, int, int]]:
        """(flat_start, flat_end, shard_start) of every flat range rank `rank` owns."""
        return [(s.start + rank * chunk, s.start + (rank + 1) * chunk, offset)
                for s, offset, chunk in self.section_chunks()]

    def shard_ranges(self, rank: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The parts of flat `spans` ([start, end) pairs) that rank `rank` owns, in shard
        coordinates (what its share of a gradient-norm sum runs over)."""
        out = []
        for flat_start, flat_end, shard_start in self.owned_ranges(rank):
            for start, end in spans:
                lo, hi = max(start, flat_start), min(end, flat_end)
                if lo < hi:
                    out.append((shard_start + lo - flat_start, shard_start + hi - flat_start))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(out):  # touching ranges become one (fewer norm kernels)
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged


def unit_layout(numel: int, world: int, host_fraction: float = 0.0, align: int = ALIGN) -> UnitLayout:
    """Layout of `numel` elements sharded over `world` ranks, the last `host_fraction` of them
    (rounded to whole granules of world * align elements) in a host-gradient section."""
    if numel <= 0 or world <= 0:
        raise ValueError(f"a unit needs numel > 0 and world > 0, got {numel}, {world}")
    if not 0.0 <= host_fraction <= 1.0:
        raise ValueError(f"host_fraction must be in [0, 1], got {host_fraction}")
    granule = world * align
    padded = round_up(numel, granule)
    host = min(padded, round_up(round(host_fraction * numel), granule)) if host_fraction > 0 else 0
    device = padded - host
    sections = [Section(0, device, False)] if device else []
    if host:
        sections.append(Section(device, padded, True))
    return UnitLayout(numel=numel, world=world, sections=tuple(sections))


def split_point(length: int, offload_fraction: float) -> int:
    """Where a vector of `length` elements splits into a device head and an offloaded tail of
    round(offload_fraction * length) elements."""
    if not 0.0 <= offload_fraction <= 1.0:
        raise ValueError(f"offload fraction must be in [0, 1], got {offload_fraction}")
    return length - round(offload_fraction * length)
