# Next session, nvidia-h200 (1 GPU, ~4 min): the gpu-marked tests that failed in S14-3/S14-4 (bench/results/engine/
# README.md, session 14), with tracebacks: the saved-tensor tests now pin the eager kernels they price; the loss
# test failed for chunked, liger and auto (chunked_compile passed) with no traceback captured.
source bench/calls/prefix.sh
prebuild
timeout 200 python3 -m pytest -v --tb=short -m gpu tests/cost/test_gpu_memory.py::test_saved_bytes_on_cuda \
  tests/cost/test_saved_calls.py tests/runtime/test_gpu_block.py::test_loss_matches_fp32_reference_and_holds_no_fp32_logits \
  --basetemp=/tmp/ptgpu -p no:cacheprovider > $R/gpu_tests.log 2>&1
echo "rc $?" >> $R/gpu_tests.log
pack
