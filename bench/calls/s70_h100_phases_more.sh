# Session 70, call 3 (nvidia-h100-x1, the warm machine of calls 1-2; timeout_s 340, carry .whl); issue 10. Four more
# plans phased (bench/runtime/phase_train.py) for the H100 node's host time by ZeRO stage: two ZeRO-0 winners (GPT and
# Llama at 1.3B: parameter tensors 292 and 147) and two ZeRO-1/2 optimizer-offload winners.
# Ran as one command line: source bench/calls/prefix.sh; export HWP=h100-1gpu-node CALL_LIMIT=330; phased ...
source bench/calls/prefix.sh
export HWP=h100-1gpu-node CALL_LIMIT=${CALL_LIMIT:-330}
phased h100-auto-l13b-1g-c40-s2048-b16 29711 70 7
phased h100n-auto-q3-17b-1g-c24-s2048-b32-ds 29712 90 7
phased h100n-auto-l323b-1g-c24-s4096-b16-ds-s46 29713 100 5
phased h100-auto-g13-1g-c40-s2048-b16 29714 60 7
echo "done $SECONDS" >> $R/machine.txt; pack
