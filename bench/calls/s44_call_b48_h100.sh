# Session 44 (nvidia-h100-x1; timeout_s ~595, carry .whl; LIMIT=S for a shorter call); issue 10. No H200 could be started that session.
# 1. A full mist_ds.profile of the H100 node (1 GPU, 16 cores), for an H100 profile of the node the H100 runs use
#    (h100-sxm-80gb describes a 2-GPU 32-core node; b46/b47 ran on this one).
# 2. Batch b48-1gpu-h100-writeback: batch b45's Llama 3.2 1B twins (ZeRO-3, weights offloaded; the optimizer on the
#    GPU, half offloaded, all offloaded) planned on h100-sxm-80gb. Predicted before the call, s/iter:
#      h100-l321b-1g-c78-s4096-b16-z3-w1-mb4        h100-sxm-80gb 1.380   h200-1gpu-node 5.238 (write-back priced)
#      h100-l321b-1g-c78-s4096-b16-z3-w1-off05-mb4  h100-sxm-80gb 1.652   h200-1gpu-node 3.913
#      h100-l321b-1g-c78-s4096-b16-z3-w1-off1-mb4   h100-sxm-80gb 1.885   h200-1gpu-node 1.799
#    h100-sxm-80gb prices no pageable write-back (pageable_d2h_bandwidth_gbps unset) and no host-thread time. The
#    mechanism holds if the optimizer-on-GPU twin is the slowest of the three (seconds, not ~1.4 s); it is refuted if
#    it is the fastest.
# SKIP_PROFILE=1 leaves step 1 out (a short call).
# 3. If time is left: that twin phased (forward, backward, engine.step apart; 4 steps).
source bench/calls/prefix.sh
prebuild
hostmemlog
[ -z "${SKIP_PROFILE:-}" ] && timeout 200 python3 -m mist_ds.profile --out $R/h100-1gpu-node.json --raw-out $R/h100-1gpu-node.raw.json \
  --fallback h100-sxm-80gb > $R/profile.log 2>&1; echo "rc $?" >> $R/profile.log; pack
python3 bench/accuracy/run_batch.py --batch b48-1gpu-h100-writeback --skip-existing --out $R/b48 --gpus 1 \
  --budget-s $((${LIMIT:-585} - 85 - SECONDS)) --no-build > $R/b48.log 2>&1; echo "rc $?" >> $R/b48.log; pack
[ $SECONDS -lt $((${LIMIT:-585} - 105)) ] && phased h100-l321b-1g-c78-s4096-b16-z3-w1-mb4 29641 $((${LIMIT:-585} - SECONDS)) 4
pack
