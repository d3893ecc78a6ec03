# Session 13, call 5 (nvidia-h200, 1 GPU, ~2 min): the engine's GPU tests after the ring and even swap chunks
# (copies on side streams under compute, with half the gradients in host sections; deferred steps) and hostmem's.
source bench/calls/prefix.sh
timeout 120 python3 -m pytest -q -m gpu tests/runtime/test_mistpipe_gpu.py tests/runtime/test_hostmem.py --basetemp=/tmp/ptgpu \
  > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
pack
