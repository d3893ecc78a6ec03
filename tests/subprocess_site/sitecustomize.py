"""Imported at start-up by every Python process the test suite launches (this folder is on their
PYTHONPATH, tests/helpers.py:child_pythonpath): py-cpuinfo's get_cpu_info() runs a fresh Python
subprocess that sleeps 1 s to time the clock, on every call, and DeepSpeed calls it for each
DeepSpeedCPUAdam it builds and twice per process for its op builder (a 2-rank mistpipe run spent
11 of its 16 s there). The pytest session reads the CPU's info once (tests/conftest.py) into the
JSON file named by $MIST_DS_TEST_CPUINFO; these processes return that dict instead of asking
again. Same machine, same session: the same answer, so the same compiler flags and code paths.
"""

from __future__ import annotations

import json
import os

_PATH = os.environ.get("MIST_DS_TEST_CPUINFO")

if _PATH and os.path.isfile(_PATH):
    try:
        import cpuinfo
    except ImportError:  # no py-cpuinfo (DeepSpeed falls back to lscpu): nothing to cache
        cpuinfo = None
    if cpuinfo is not None:
        with open(_PATH) as _file:
            _INFO = json.load(_file)
        cpuinfo.get_cpu_info = lambda: dict(_INFO)
