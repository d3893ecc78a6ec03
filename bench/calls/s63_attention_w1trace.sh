# Session 63 (nvidia-h200 with needs_h200, or nvidia-h100-x1; timeout_s 600, carry .whl); issue 10.
# 1. Attention timing behind a GPU hold (mist_ds/profile/timing.py gate_s, compute.ATTENTION_GATE_S): the ungated
#    samples of the shipped profiles hold a 72-125 us (forward) / 201-344 us (backward) intercept of time against FLOPs,
#    the host's SDPA / autograd launch path timed with the kernels. On whichever node card this is (H200 ->
#    h200-1gpu-node, H100 -> h100-1gpu-node): every sample of its profile plus the suite's extra shapes, ungated once
#    (U, as every shipped profile was timed), gated 3 passes in one process (A) and 2 in another (B: do passes within
#    one process disagree as much as between processes?), for bench/runtime/median_attention_samples.py.
# (PA, PB: the passes of A and B, default 3 and 2; TRACES=0: no op build, no traces.)
# 1b. (added session 64) The memory-bound kernels (compute.memory_kernels, full grid) ungated and gated, 3 pass pairs
#    (bench/runtime/memory_gate.py; --read on CPU): does the launch path the ungated samples hold matter there too?
# 2. The GPU test of the gate (tests/profile/test_profile_gpu.py -k gated).
# 3. GPU-only launch traces (prefix.sh launchtrace, profile of the card's node) of the Llama 3.2 1B weight-offload twins
#    l321b-1g-c78-s4096-b16-z3-w1-mb4 and (H200) ...-w1-off05-mb4 / (H100) Qwen3-4B's winner: the family is priced
#    short in 26 of 31 runs (session 45's phases: the 1B's forward 115-134 ms a micro-batch against 86 priced, its
#    backward 163-166 against 182); the traces also give cuDNN's training kernels at (4, 32, 8, 4096, 64) to set beside
#    the gated and ungated samples of that shape.
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then HWP=h200-1gpu-node; else HWP=h100-1gpu-node; fi
export HW=$HWP; echo "profile $HWP" >> $R/machine.txt
ex="2,14,2,4096,64 1,14,2,8192,64 2,24,8,4096,128 1,24,8,4096,128 4,32,8,4096,64"
timeout 60 python3 bench/runtime/remeasure_attention.py $HWP --extra $ex --gate-s 0 > $R/attention_u.log 2>&1
echo "rc $? $SECONDS s" >> $R/attention_u.log; pack
build=; [ "${TRACES:-1}" = 1 ] && { prebuild & build=$!; }
timeout 140 python3 bench/runtime/remeasure_attention.py $HWP --extra $ex --passes ${PA:-3} > $R/attention_a.log 2>&1
echo "rc $? $SECONDS s" >> $R/attention_a.log; pack
timeout 90 python3 bench/runtime/remeasure_attention.py $HWP --extra $ex --passes ${PB:-2} > $R/attention_b.log 2>&1
echo "rc $? $SECONDS s" >> $R/attention_b.log; pack
timeout 60 python3 bench/runtime/memory_gate.py --passes 3 > $R/memory_gate.log 2>&1
echo "rc $? $SECONDS s" >> $R/memory_gate.log; pack
timeout 60 python3 -m pytest -q -m gpu tests/profile/test_profile_gpu.py -k gated -p no:cacheprovider > $R/gate_test.log 2>&1
echo "rc $? $SECONDS s" >> $R/gate_test.log; [ -n "$build" ] || exit 0; wait $build; echo "build done $SECONDS s" >> $R/machine.txt; pack
left=$(( ${LIMIT:-590} - 5 - SECONDS ))
[ $left -gt 90 ] && launchtrace w1mb4 l321b-1g-c78-s4096-b16-z3-w1-mb4 $(( left > 150 ? 150 : left )) 29711
third=l321b-1g-c78-s4096-b16-z3-w1-off05-mb4; [ $HWP = h100-1gpu-node ] && third=h100n-auto-q3-4b-1g-c78-s4096-b16
left=$(( ${LIMIT:-590} - 5 - SECONDS ))
[ $left -gt 90 ] && launchtrace third $third $left 29712
pack
