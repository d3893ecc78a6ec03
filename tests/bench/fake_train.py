"""Stand-in for launch/train.py in the runner's tests: rank 1 dies by SIGKILL (as the kernel's OOM
killer does), rank 0 waits to be killed by DeepSpeed's launcher."""

import os
import signal
import time

if os.environ.get("RANK") == "1":
    time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60.0)
