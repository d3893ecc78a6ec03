"""Units, defined once. Memory sizes in mist_ds are bytes; people read GiB (2**30 bytes)."""

GIB = 2**30
"""Bytes in a gibibyte: every '--memory-gb' / 'GiB' in mist_ds means this."""


def gib(nbytes: float) -> float:
    """Bytes -> GiB."""
    return nbytes / GIB
