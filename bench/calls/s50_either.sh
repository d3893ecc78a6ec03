# Session 50 (issue 10): whichever 1-GPU node the call lands on (timeout_s ~560, carry .whl). H100 node:
# bench/calls/s50_h100_host_trace.sh (three traced partial-offload steps, now with host buckets). H200 node:
# bench/calls/s48_next_h200_node.sh (its host step and interference, three runs each). Each names what to run after.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  source bench/calls/s48_next_h200_node.sh
else
  source bench/calls/s50_h100_host_trace.sh
fi
