# Session 66 (nvidia-h100-x1 or nvidia-h200; timeout_s 600, carry .whl); issue 10, runtime speed.
# The ZeRO-3 write-back under offload_param, DeepSpeed's way ('host') against runtime/writeback_cast.py ('device'),
# same machine, same plans, interleaved (mist_ds/config/writeback.py; bench/accuracy/WEIGHT_OFFLOAD.md section 9):
# 1. the gpu tests of the cast (tests/runtime/test_writeback_cast.py -m gpu: bit-equal to DeepSpeed's copy_);
# 2. Llama 3.2 1B, every weight offloaded, optimizer on the GPU (l321b-1g-c78-s4096-b16-z3-w1-mb4; the H100 suite's
#    h100- twin on an H100): host, device, device, host; then the plan with half the optimizer offloaded (-off05-):
#    host, device. 6 steps each, 2 warm-up (--steps 6 --warmup 2), profile of the card's node. Same seed and data:
#    the losses of the two ways must be equal (both round fp32 to bf16 to nearest even).
# LIMIT: the call's seconds (default 590); a run starts only with its limit left.
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then HWP=h200-1gpu-node; P=; else HWP=h100-1gpu-node; P=h100-; fi
echo "profile $HWP" >> $R/machine.txt
prebuild & build=$!
timeout 60 python3 -m pytest -q -m gpu tests/runtime/test_writeback_cast.py -p no:cacheprovider > $R/cast_test.log 2>&1
echo "rc $? $SECONDS s" >> $R/cast_test.log
wait $build; echo "build done $SECONDS s" >> $R/machine.txt; pack
W=${P}l321b-1g-c78-s4096-b16-z3-w1-mb4
H=${P}l321b-1g-c78-s4096-b16-z3-w1-off05-mb4
abrun w1-host-a $W host 110 29721
abrun w1-device-a $W device 80 29722
abrun w1-device-b $W device 80 29723
abrun w1-host-b $W host 110 29724
abrun off05-host $H host 100 29725
abrun off05-device $H device 80 29726
pack
