# Session 63 (nvidia-h200 with needs_h200, or nvidia-h100-x1; timeout_s ~600, carry .whl); issue 10.
# 1. The attention re-measure of bench/calls/s62_attention_h200n.sh on whichever node card this is (H200 ->
#    h200-1gpu-node, H100 -> h100-1gpu-node): 3 passes in one process, 2 in another (do passes within one process
#    disagree as much as between processes?).
# 2. One GPU-only launch trace each (prefix.sh launchtrace; profile of the card's node) of the weight-offload twins
#    l321b-1g-c78-s4096-b16-z3-w1-mb4 (optimizer on the GPU) and l321b-1g-c78-s4096-b16-z3-w1-off05-mb4 (half of it
#    offloaded): the weight-offload family is priced short in 26 of 31 runs; session 45's phases put this 1B's forward
#    at 115-134 ms a micro-batch against 86 priced and its backward at 163-166 against 182. Which of the forward's
#    kernels, copies or host gaps the model misses is what the trace shows (bench/accuracy/trace_compare.py).
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then HWP=h200-1gpu-node; else HWP=h100-1gpu-node; fi
export HW=$HWP; echo "profile $HWP" >> $R/machine.txt
ex="2,14,2,4096,64 1,14,2,8192,64 2,24,8,4096,128 1,24,8,4096,128 4,32,8,4096,64"
timeout 130 python3 bench/runtime/remeasure_attention.py $HWP --extra $ex --passes 3 > $R/attention_a.log 2>&1
echo "rc $?" >> $R/attention_a.log; pack
timeout 100 python3 bench/runtime/remeasure_attention.py $HWP --extra $ex --passes 2 > $R/attention_b.log 2>&1
echo "rc $?" >> $R/attention_b.log; pack
prebuild; pack
launchtrace w1mb4 l321b-1g-c78-s4096-b16-z3-w1-mb4 $(( ${LIMIT:-590} - 130 - SECONDS > 150 ? 150 : ${LIMIT:-590} - 130 - SECONDS )) 29711
left=$(( ${LIMIT:-590} - 5 - SECONDS ))
# on an H100 the third trace is Qwen3-4B's mistpipe winner instead (priced 1.6-4.7% slow on the H100 node only)
third=l321b-1g-c78-s4096-b16-z3-w1-off05-mb4; [ $HWP = h100-1gpu-node ] && third=h100n-auto-q3-4b-1g-c78-s4096-b16
[ $left -gt 90 ] && launchtrace third $third $left 29712
pack
