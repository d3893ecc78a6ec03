# Session 67 prepared this for a later session (nvidia-h100-x1; two calls on one warm machine: PART=a then PART=b,
# timeout_s 600 each, carry .whl); issue 10.
# Session 67's phased device-way runs of the Llama 3.2 3B optimizer-1 plans (bench/results/runtime/step_phases_S67/)
# found the optimizer step 1.467 s where the model prices 1.004 (CPU Adam + staged upload) and the micro-batches
# 8-13% under the model: two opposite errors. Before re-pricing either, the same split on four more sizes, all
# device way (the runtime's default), 5 steps after 2 warm-up each (phase_train.py now keeps finished steps when
# killed). Part a also runs the profiler's new writeback section (profile/writeback.py) and its GPU test; part b
# first times CPU Adam over 3.2e9 parameters as the step runs it (bench/runtime/cpu_adam_scale_probe.py): the phased
# steps of big models run 29-32% over the model's step (Mistral 7B on the H200 node, the 3B here), small ones within
# ~10%, and the model's Adam rate is the profiler's 32M-parameter probe, which a large L3 may hold.
# Read the step side with bench/accuracy/phase_vs_model.py (it now prints the optimizer step and the boundary too).
# The model's split before the call (h100-1gpu-node, session 67's last commit; step_s includes the boundary term):
#   h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk          mb 2 ga 4: 2.394 s/iter; fwd 105 ms, bwd 348 ms, step 0.582 s
#   h100n-auto-q3-4b-1g-c24-s4096-b16-ds                    mb 4 ga 4: 6.243 s/iter; fwd 303 ms, bwd 937 ms, step 1.283 s
#   h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk    mb 4 ga 4: 7.825 s/iter; fwd 408 ms, bwd 1279 ms, step 1.079 s
#   h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk        mb 4 ga 4: 1.958 s/iter; fwd 99 ms, bwd 289 ms, step 0.407 s
# Read with bench/accuracy/phase_vs_model.py DIR/rank0.phases.json --hardware h100-1gpu-node and
# bench/runtime/phase_train.py --summary DIR/rank0.phases.json.
source bench/calls/prefix.sh
export HWP=h100-1gpu-node; echo "profile $HWP part ${PART:-a}" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
phase() {  # phase CASE PORT LIMIT: phase_train.py, device way, 7 steps (2 warm-up), into $R/CASE/
  MIST_DS_PHASE_OUT=$R/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan bench/results/accuracy/$1.plan.json \
    --steps 7 --warmup 2 --report $R/$1/run.json --hardware $HWP > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log; pack
}
if [ "${PART:-a}" = a ]; then
  timeout 120 python3 -m mist_ds.profile --sections writeback --quick --fallback $HWP --out $R/wb/wb.json \
    > $R/profile_wb.log 2>&1; echo "rc $?" >> $R/profile_wb.log
  timeout 120 python3 -m pytest -q -p no:cacheprovider tests/profile/test_profile_gpu.py -k writeback > $R/gpu_test.log 2>&1
  pack
  phase h100n-auto-q3-4b-1g-c24-s4096-b16-ds 29791 190
  phase h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk 29792 150
else
  # CPU Adam at the step's scale (3.2e9 parameters in 100M sub-groups, masters pinned) against the profiler's 32M probe
  timeout 120 python3 bench/runtime/cpu_adam_scale_probe.py --total 3.2e9 --out $R/cpu_adam_scale.json \
    > $R/cpu_adam_scale.log 2>&1; echo "rc $?" >> $R/cpu_adam_scale.log; pack
  phase h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk 29793 230
  phase h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk 29794 130
fi
echo "done $SECONDS s" >> $R/machine.txt; pack
