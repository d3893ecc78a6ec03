# Session 53 prepared this for a later session (issue 10): whichever 1-GPU node the call lands on (timeout_s ~590,
# LIMIT=580, carry .whl). H100 node: bench/calls/s53_h100_pcie.sh (the machine's both-ways copy rate beside the ratio-1
# swap plan's time, ~250 s). H200 node: bench/calls/s53_next_b55_h200_node.sh (five held-out winners, ~460 s). Each
# names what to run after.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  source bench/calls/s53_next_b55_h200_node.sh
else
  source bench/calls/s53_h100_pcie.sh
fi
