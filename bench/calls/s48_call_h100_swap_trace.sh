# Session 48 (nvidia-h100-x1; timeout_s ~560, carry .whl); issue 10. Session 47's prepared call
# (bench/calls/s47_call_h100_swap_trace.sh: the profiler's host step once, a traced swap-path step of b51's GPT-2.7B)
# plus the profile package's GPU-marked tests (test_the_host_step_beside_every_gpus_d2h has not yet run on a GPU).
source bench/calls/s47_call_h100_swap_trace.sh
timeout 150 python3 -m pytest -q -rfE --tb=short -m gpu tests/profile --basetemp=/tmp/pt_profile -p no:cacheprovider \
  > $R/gpu_tests_profile.log 2>&1; echo "rc $?" >> $R/gpu_tests_profile.log
pack
