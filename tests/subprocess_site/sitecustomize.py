"""Imported at start-up by every Python process the test suite launches (this folder is on their
PYTHONPATH, tests/helpers.py:child_pythonpath): py-cpuinfo's get_cpu_info() runs a fresh Python
subprocess that sleeps 1 s to time the clock, on every call, and DeepSpeed calls it for each
DeepSpeedCPUAdam it builds and twice per process for its op builder (a 2-rank mistpipe run spent
11 of its 16 s there). The pytest session reads the CPU's info once (tests/conftest.py) into the
JSON file named by $MIST_DS_TEST_CPUINFO; these processes return that dict instead of asking
again. Same machine, same session: the same answer, so the same compiler flags and code paths.
And DeepSpeed's launch.py polls its ranks every 0.1 s instead of every second (below).
"""

from __future__ import annotations

import json
import os
import sys

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

# DeepSpeed's launch.py (the per-node process `deepspeed` starts, `python -u -m deepspeed.launcher.launch`)
# polls its ranks with time.sleep(1) and sleeps once more after the last one exits: 1.6 s of idle wall
# time per launch (2.9 -> 1.2 s from the ranks' exit to the launcher's, measured). Launched by the
# suite, it polls every 0.1 s; what it does when a rank exits (wait for the others, or kill them all and
# exit with the failed rank's code) is unchanged; that poll is launch.py's only sleep.
LAUNCH_POLL_S = 0.1
_ARGV = getattr(sys, "orig_argv", [])

if "-m" in _ARGV[:-1] and _ARGV[_ARGV.index("-m") + 1] == "deepspeed.launcher.launch":
    import time as _time

    _sleep = _time.sleep
    _time.sleep = lambda seconds: _sleep(min(seconds, LAUNCH_POLL_S))
