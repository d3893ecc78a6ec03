# Session 49 prepared this for a later session (issue 10): whichever 1-GPU node the call lands on (timeout_s ~595,
# LIMIT=585, carry .whl). H100 node: bench/calls/s48_next_h100.sh (b46's partial-offload plan traced with host buckets,
# repeats of four partial plans). H200 node: bench/calls/s48_next_h200_node.sh (its host step and interference,
# three runs each). Each names what to run on its results.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  source bench/calls/s48_next_h200_node.sh
else
  source bench/calls/s48_next_h100.sh
fi
