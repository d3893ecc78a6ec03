# Session 54 (nvidia-h200 or nvidia-h100-x1, whichever comes; timeout_s ~570, LIMIT=560, carry .whl); issue 10.
# H200 node: batch b55 (bench/calls/s53_next_b55_h200_node.sh); H100 node: its twin planned on the H100 node's profile
# (bench/calls/s54_b55h_h100_node.sh). Predictions in each script's header, committed before the call.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  source bench/calls/s53_next_b55_h200_node.sh
else
  source bench/calls/s54_b55h_h100_node.sh
fi
