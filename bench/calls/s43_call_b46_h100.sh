# Session 43 (nvidia-h100-x1; timeout_s ~590, carry .whl); issue 10. The first H100 training runs: batch
# b46-1gpu-h100, the search's winners on make tune's default profile h100-sxm-80gb (no run-derived terms: it prices
# no host-thread time), 1 GPU, generated before the call. Predicted (h100-sxm-80gb, as committed with this script):
#   h100-auto-l321b-1g-c78-s4096-b16         ZeRO-0, mb 1, ga 16                                  1.153 s
#   h100-auto-l27-1g-c78-s4096-b16           ZeRO-0, mb 2, ga 8                                   2.452 s
#   h100-auto-g13-1g-c40-s2048-b16           ZeRO-0, mb 4, ga 4                                   0.572 s
#   h100-auto-l13b-1g-c24-s4096-b16          mistpipe ZeRO-0, mb 1, ga 16, optimizer offloaded    1.429 s
#   h100-auto-l323b-1g-c40-s4096-b16         mistpipe ZeRO-0, mb 1, ga 16, optimizer offloaded    3.566 s
#   h100-auto-l321b-1g-c24-s4096-b16-ds      ZeRO-3 (whole-block fetch), mb 1, ga 16 (stock only) 1.391 s
# Without host terms the model should price them short (the H200 node's fitted terms add time to every one).
# Afterwards: unpack, make accuracy (scored on h100-sxm-80gb); calibrate h100-sxm-80gb on part of them, hold the rest out.
source bench/calls/prefix.sh
prebuild
hostmemlog
python3 bench/accuracy/run_batch.py --batch b46-1gpu-h100 --skip-existing --out $R/b46 --gpus 1 \
  --budget-s $((585 - SECONDS)) --no-build > $R/b46.log 2>&1; echo "rc $?" >> $R/b46.log; pack
