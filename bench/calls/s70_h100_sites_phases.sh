# Session 70 (nvidia-h100-x1; timeout_s 600, LIMIT=590, carry .whl); issue 10.
# 1. Where the held-out Phi-3.5-mini ZeRO-3 plan's allocated peak is (bench/engine/alloc_frag.py): the model says
#    20.90 GiB, the run measured 19.08 (+9.5%, the suite's allocated max; session 69).
# 2. The H100 node's per-micro-batch host time by ZeRO stage, phased (bench/runtime/phase_train.py): the ZeRO-0 winner
#    the model prices 13% long (l321b), two ZeRO-1 optimizer-offload winners it prices 9-11% long (b69h), one ZeRO-3
#    weight-offload plan it prices 6% short. Session 69 phased the l27 / l323b ZeRO-0 winners (fwd+bwd = compute).
source bench/calls/prefix.sh
export HWP=h100-1gpu-node LIMIT=${LIMIT:-590} CALL_LIMIT=${LIMIT:-590}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
peaksites auto-phi35m-1g-c24-s4096-b16-ds 29701 140 h100-1gpu-node; echo "sites done $SECONDS s" >> $R/machine.txt; pack
phased h100-auto-l321b-1g-c78-s4096-b16 29702 80 7
phased h100n-auto-l321b-1g-c16-s2048-b32-ds 29703 90 7
phased h100n-auto-qw15b-1g-c24-s4096-b16-ds 29704 90 7
phased h100-l321b-1g-c78-s4096-b16-z3-w1-off1-mb4 29705 90 5
echo "done $SECONDS s" >> $R/machine.txt; pack
