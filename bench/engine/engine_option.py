"""What the A/B side scripts under bench/engine/ share: build every mistpipe engine launch/train.py builds with
one build_mistpipe_engine keyword changed, and have the run report record it (where runtime/build.py and
runtime/reporting.py look them up, so the runtime sees the patch: tests/bench/test_ab_sides.py)."""

from __future__ import annotations

import functools


def build_engines_with(option: str, value, record: str, recorded) -> None:
    """build_mistpipe_engine(..., option=value) for every engine; RunReport.<record> says `recorded` for a
    mistpipe plan (runtime/reporting.py recorded_<record>; other plans keep None)."""
    import mist_ds.runtime.mistpipe.engine as engine
    import mist_ds.runtime.reporting as reporting

    engine.build_mistpipe_engine = functools.partial(engine.build_mistpipe_engine, **{option: value})
    before = getattr(reporting, f"recorded_{record}")
    setattr(reporting, f"recorded_{record}", lambda plan: recorded if before(plan) is not None else None)
