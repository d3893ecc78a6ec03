# Session 73 (nvidia-h200 without needs_h200: whichever card comes; timeout_s 600, LIMIT=560, carry .whl); issue 10.
# On an H200: bench/calls/s73_h200_walk_attention.sh (the node's attention at 8k-32k tokens, the Liger padding probe,
# the ZeRO-0/1/2 step walk). On an H100: bench/calls/s73_liger_padding.sh (the probe and the GPT-2 XL A/B).
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  bash bench/calls/s73_h200_walk_attention.sh
else
  bash bench/calls/s73_liger_padding.sh
fi
