"""mistpipe: DESIGN NOTE PLACEHOLDER (written below once the phases land)."""

from mist_ds.runtime.mistpipe.memory import StageMemory

__all__ = ["StageMemory", "build_mistpipe_engine"]


def __getattr__(name):
    if name == "build_mistpipe_engine":  # lazy: importing the package must not import deepspeed
        from mist_ds.runtime.mistpipe.engine import build_mistpipe_engine

        return build_mistpipe_engine
    raise AttributeError(name)
