# Session 46 (nvidia-h100-x1; timeout_s ~440, LIMIT=430, carry .whl); issue 10.
# Batch b50-1gpu-h100-writeback: the held-out check of h100-1gpu-node's pageable write-back rate (3.909 GB/s a rank,
# carried over from h200-1gpu-node after b49b). Predicted before the call on h100-1gpu-node with that rate (s/iter):
#   h100n-auto-q3-4b-1g-c24-s4096-b16-ds-s46          stock ZeRO-3 mb8 ga2, weights+optimizer offloaded, 35 recomputed  5.911
#       (b49b's winner of this workload, ZeRO-3 optimizer offload, ran 7.764; re-priced 7.93)
#   h100n-auto-l323b-1g-c24-s4096-b16-ds-s46          stock ZeRO-1 mb1 ga16, optimizer offloaded, 8 recomputed        4.360
#       (b49b's winner of this workload ran 6.215; re-priced 5.95)
#   h100-l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk  ZeRO-3 mb2 ga8, optimizer offloaded (ratio 1), 28 recomputed   7.011
#   h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk    ZeRO-3 mb2 ga4, optimizer half offloaded, 32 recomputed         3.021
#   (the last two at the pinned rate, as h100-1gpu-node priced them before session 46: 5.489 and 2.353)
source bench/calls/prefix.sh
prebuild
hostmemlog
python3 bench/accuracy/run_batch.py --batch b50-1gpu-h100-writeback --skip-existing --out $R/b50 --gpus 1 \
  --budget-s $((${LIMIT:-585} - 10 - SECONDS)) --no-build > $R/b50.log 2>&1; echo "rc $?" >> $R/b50.log
pack
