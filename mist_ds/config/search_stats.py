"""SearchStats: how much a search looked at. Produced by the search (mist_ds/search/driver.py), read by
emit (report.md's "Search" section) and the CLIs; it lives below both so emit needs no search import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchStats:
    """How much the search looked at (report.md's "Search" section)."""

    num_layouts: int
    """Engine-wide settings enumerated (pipeline depth x mesh x micro-batch x ZeRO/offload); a mistpipe layout the
    search weighs with both head losses (search/driver.py head_loss_passes) counts once per head."""
    num_strategies: int
    """Stage strategies screened by the cost model (rows of the screening pass)."""
    memory_cap_bytes: int
    """Per-GPU memory cap of the request (--memory-gb, else the card's memory)."""
    memory_margin_ratio: float = 0.0
    """Fraction of the cap kept free: every plan fits in memory_cap_bytes x (1 - this)."""

    @property
    def usable_bytes(self) -> int:
        """The per-GPU memory plans had to fit: the cap less the margin."""
        return int(self.memory_cap_bytes * (1.0 - self.memory_margin_ratio))
