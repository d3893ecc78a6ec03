# Session 50 prepared this for a later session (issue 10): whichever 1-GPU node the call lands on (timeout_s ~420,
# carry .whl). H100 node: bench/calls/s50_next_h100.sh (ratio-1 steps with short forwards traced with host buckets,
# beside a ratio-0.5 one). H200 node: bench/calls/s48_next_h200_node.sh (its host step and interference, three runs
# each). Each names what to run after.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  source bench/calls/s48_next_h200_node.sh
else
  source bench/calls/s50_next_h100.sh
fi
