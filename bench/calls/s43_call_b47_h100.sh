# Session 43 (nvidia-h100-x1; timeout_s ~590, carry .whl); issue 10. Batch b47-1gpu-h100: six more winners on
# h100-sxm-80gb (the default profile), run as b46 was. After b46 (6 H100 runs) a candidate calibration was chosen:
# h100-sxm-80gb carrying the run-derived terms of the same node kind, h200-1gpu-node (16 cores, one GPU):
# bench/results/runtime/h100_b46_S43/h100-node-candidate.json. These runs are its held-out check; predicted
# before the call, s/iter (shipped h100-sxm-80gb / candidate):
#   h100-auto-l13b-1g-c40-s2048-b16          ZeRO-0, mb 4, ga 4                                  0.577 / 0.615
#   h100-auto-g27-1g-c40-s2048-b16           mistpipe ZeRO-0, mb 1, ga 16, optimizer offloaded   1.557 / 1.710
#   h100-auto-l323b-1g-c78-s4096-b16         ZeRO-0, mb 1, ga 16                                 2.718 / 2.871
#   h100-auto-l27-1g-c24-s4096-b16           mistpipe ZeRO-0, mb 1, ga 16, optimizer offloaded   3.309 / 3.309
#   h100-auto-g13-1g-c24-s2048-b32           mistpipe ZeRO-0, mb 1, ga 32, optimizer offloaded   1.342 / 1.866
#   h100-auto-l27-1g-c40-s4096-b16-ds        ZeRO-3, mb 4, ga 4, optimizer 0.375 offloaded       3.508 / 4.046
source bench/calls/prefix.sh
prebuild
hostmemlog
python3 bench/accuracy/run_batch.py --batch b47-1gpu-h100 --skip-existing --out $R/b47 --gpus 1 \
  --budget-s $((585 - SECONDS)) --no-build > $R/b47.log 2>&1; echo "rc $?" >> $R/b47.log; pack
