# Session 68 (nvidia-h100-x1; timeout_s 600, carry .whl); issue 10. One call instead of s67_next_h100_phases.sh's two
# (two calls' machine starts did not fit the session's budget after three refused starts): the profiler's writeback
# section and its GPU test, CPU Adam at the step's scale (3.2e9 parameters, the 3B plans' offloaded count), then the
# device-way phased split of q3-4b and l321b (the model's split is in s67_next_h100_phases.sh's header).
source bench/calls/prefix.sh
export HWP=h100-1gpu-node LIMIT=${LIMIT:-590}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
wbsection
timeout 100 python3 bench/runtime/cpu_adam_scale_probe.py --total 3.2e9 --out $R/cpu_adam_scale.json \
  > $R/cpu_adam_scale.log 2>&1; echo "rc $?" >> $R/cpu_adam_scale.log; pack
phase() {  # phase CASE PORT LIMIT: phase_train.py, device way, 7 steps (2 warm-up), into $R/CASE/, if LIMIT is left
  local left=$(( LIMIT - 5 - SECONDS )); [ $left -lt 60 ] && { echo "$1 skipped: $left s left" >> $R/windows.log; return; }
  [ $left -lt $3 ] && set -- $1 $2 $left
  MIST_DS_PHASE_OUT=$R/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan bench/results/accuracy/$1.plan.json \
    --steps 7 --warmup 2 --report $R/$1/run.json --hardware $HWP > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log; pack
}
phase h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk 29794 130
phase h100n-auto-q3-4b-1g-c24-s4096-b16-ds 29791 190
echo "done $SECONDS s" >> $R/machine.txt; pack
