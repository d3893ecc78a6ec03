# Session 48 (issue 10): whichever 1-GPU node the call lands on (timeout_s ~580, carry .whl).
# H100 node: bench/calls/s48_call_h100_swap_trace.sh (the profiler's host step once, a traced swap-path step of b51's
# GPT-2.7B, the profile package's GPU tests). H200 node: its host step measured twice for h200-1gpu-node
# (bench/calls/s47_call_cpu_step.sh with NODE_PROFILE=h200-1gpu-node), then the same GPU tests.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  NODE_PROFILE=h200-1gpu-node source bench/calls/s47_call_cpu_step.sh
  timeout 150 python3 -m pytest -q -rfE --tb=short -m gpu tests/profile --basetemp=/tmp/pt_profile -p no:cacheprovider \
    > $R/gpu_tests_profile.log 2>&1; echo "rc $?" >> $R/gpu_tests_profile.log
  pack
else
  source bench/calls/s48_call_h100_swap_trace.sh
fi
