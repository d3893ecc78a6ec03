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
# abrun NAME CASE WAY LIMIT PORT: one 1-GPU launch/train.py run of bench/results/accuracy/CASE.plan.json with
# --writeback-cast WAY, into $R/NAME.run.json and $R/NAME.log; skipped (logged) when less than LIMIT is left.
abrun() {
  local left=$(( ${LIMIT:-590} - 5 - SECONDS ))
  if [ $left -lt $4 ]; then echo "$1 skipped: $left s left" >> $R/windows.log; return; fi
  echo "$1 start $(date +%s.%N)" >> $R/windows.log
  timeout $4 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $5 launch/train.py --plan bench/results/accuracy/$2.plan.json --steps 6 --warmup 2 \
    --writeback-cast $3 --report $R/$1.run.json --hardware $HWP > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  echo "$1 end $(date +%s.%N)" >> $R/windows.log
  pack
}
W=${P}l321b-1g-c78-s4096-b16-z3-w1-mb4
H=${P}l321b-1g-c78-s4096-b16-z3-w1-off05-mb4
abrun w1-host-a $W host 110 29721
abrun w1-device-a $W device 80 29722
abrun w1-device-b $W device 80 29723
abrun w1-host-b $W host 110 29724
abrun off05-host $H host 100 29725
abrun off05-device $H device 80 29726
pack
