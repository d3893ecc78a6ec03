"""Plan search: layouts x exact per-stage partition, evaluated in bulk by the cost model. Pure."""

from mist_ds.search.driver import Candidate, MemoryFloor, SearchResult, SearchStats, search
from mist_ds.search.space import Layout, enumerate_layouts

__all__ = ["Candidate", "Layout", "MemoryFloor", "SearchResult", "SearchStats", "enumerate_layouts", "search"]
