# Session 28, S28-1 (nvidia-h200, 1 GPU; timeout_s 600): issue 10.
# (1) phases (bench/runtime/phase_train.py) of the Llama 3.2 1B ZeRO-3 plan at optimizer ratio 0.125 (-13.0% in
#     make accuracy: 1.669 predicted, 1.918 measured) and of its ratio-0 neighbour at mb4 (+1.0%) as control.
# (2) bench/runtime/gemm_duty.py: the 1B block GEMMs back to back, in sequence, between element-wise kernels, with
#     idle gaps, at the runtime's init scale; SM clock and power logged (clocklog, 200 ms) to test whether the
#     in-situ GEMMs run faster than the profile's back-to-back timing for their clock.
# (3) batch b23-1gpu-new-workloads (held out; predicted on h200-1gpu-node before the call, model of 220bc6e):
#   auto-l7-1g-c78-s4096-b16      6.09 s/iter, peak 68.9 GiB, host 58 GiB (mistpipe, optimizer ratio 0.75)
#   auto-l321b-1g-c40-s8192-b16   2.65 s/iter, peak 30.8 GiB (ZeRO-0 mb1)
#   auto-l323b-1g-c40-s8192-b8    3.72 s/iter, peak 36.7 GiB, host 43 GiB (mistpipe, weights + optimizer offloaded)
#   auto-l27-1g-c16-s4096-b16     3.61 s/iter, peak 15.3 GiB, host 34 GiB (mistpipe, weights 0.5, 18 recomputed)
#   what does not fit this call's budget runs in S28-2 (--skip-existing after this call's runs are committed).
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/accuracy
phased() {  # NAME PORT LIMIT
  MIST_DS_PHASE_OUT=$R/phases/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan $P/$1.plan.json --steps 6 \
    --warmup 2 --report $R/phases/$1/run.json --hardware h200 > $R/phases/$1.log 2>&1; echo "rc $?" >> $R/phases/$1.log
}
mkdir -p $R/phases
phased l321b-1g-c40-s4096-b16-z3-off0125-mb2-rc15-blk 29911 110
phased l321b-1g-c40-s4096-b16-z3-mb4-rc16-blk 29912 90
pack
timeout 100 python3 bench/runtime/gemm_duty.py --out $R/gemm_duty.json > $R/gemm_duty.log 2>&1; echo "rc $?" >> $R/gemm_duty.log
pack
python3 bench/accuracy/run_batch.py --batch b23-1gpu-new-workloads --out $R/b23 --gpus 1 --budget-s $((580 - SECONDS)) --no-build > $R/b23.log 2>&1
echo "rc $?" >> $R/b23.log
pack
