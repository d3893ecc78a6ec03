# Session 37, call 4 (nvidia-h200, 1 GPU; timeout_s 170): the GPU tests of the two RoPE variants this session added
# (tests/helpers.py ARCHITECTURE_VARIANTS 'phi3-partial-rope', run in S37-2, and 'yarn': cos / sin tables scaled by
# YaRN's attention factor, which the Liger and compiled rotations must take as they are, backward included): the fused
# kernels against the torch block, a block's saved storages per RoPE kernel, and the CUDA saves call by call.
source bench/calls/prefix.sh
timeout 150 python3 -m pytest -q -m gpu tests/runtime/test_gpu_block.py tests/cost/test_saved_calls.py -k "yarn or phi3" \
  -p no:cacheprovider > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
pack
