# Session 68 prepared this for a later session (nvidia-h100-x1; timeout_s 600, LIMIT=590, carry .whl); issue 10.
# On the H100 node the phased ZeRO-3 optimizer-offload micro-batches ran at about the model's GPU compute alone
# (0.96-1.06 at micro-batch 4 and 8) while the model adds 5-11% of copy chain, coupling and host time; the H200 node
# shows those terms (bench/accuracy/ZERO3_OFFLOAD.md, session 68). Before the boundary and the micro-batch are re-priced
# together: (1) the same node's ZeRO-0 winners phased, no offload, whose micro-batch is compute and host only, to see
# whether the H100 profile prices compute long; (2) traces of two micro-batch-4 offload plans' last backward
# (the Llama 3.2 1B and Qwen3-4B plans phased in session 68), whose boundary copies hid in a third of the model's slack.
# The model before the call (h100-1gpu-node, session 68's last commit; fwd/bwd/compute alone per micro-batch):
#   h100-auto-l323b-1g-c78-s4096-b16   ZeRO-0 mb 1 ga 16: fwd 58 ms, bwd 124, compute alone 167 (ran 2.837 s/iter, 2.983)
#   h100-auto-l27-1g-c78-s4096-b16     ZeRO-0 mb 2 ga 8:  fwd 95 ms, bwd 211, compute alone 292 (ran 2.469 s/iter, 2.512)
# Read with python bench/accuracy/phase_vs_model.py DIR/rank0.phases.json --hardware h100-1gpu-node (last columns:
# compute alone) and bench/runtime/phase_train.py --summary.
source bench/calls/prefix.sh
export HWP=h100-1gpu-node LIMIT=${LIMIT:-590} CALL_LIMIT=${LIMIT:-590}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
phased h100-auto-l27-1g-c78-s4096-b16 29801 90 7
phased h100-auto-l323b-1g-c78-s4096-b16 29802 100 7
DIGEST_LIMIT=60 traced l321b-mb4 bench/results/accuracy/h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk.plan.json 29803 110 h100-1gpu-node; pack
left=$(( LIMIT - 5 - SECONDS ))
[ $left -gt 110 ] && DIGEST_LIMIT=40 traced q3-4b-mb4 bench/results/accuracy/h100n-auto-q3-4b-1g-c24-s4096-b16-ds.plan.json 29804 $left h100-1gpu-node
echo "done $SECONDS s" >> $R/machine.txt; pack
