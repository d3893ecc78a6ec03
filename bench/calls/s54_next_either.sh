# Session 54 prepared this for a later session (nvidia-h200 or nvidia-h100-x1, whichever comes; timeout_s ~570,
# LIMIT=560, carry .whl); issue 10. H200 node: batch b55 (bench/calls/s53_next_b55_h200_node.sh, predictions committed
# in session 53). H100 node: the start-up copy probe's check (bench/calls/s54_next_copy_probe.sh). Each names what to
# run after. The Qwen2-0.5B retry check (bench/calls/s54_next_qw05b_cap.sh, ~300 s) is a separate H100 call.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  source bench/calls/s53_next_b55_h200_node.sh
else
  source bench/calls/s54_next_copy_probe.sh
fi
