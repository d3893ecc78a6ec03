# Next session, nvidia-h200 (1 GPU, ~6 min): issue 14. Where the 4 device-to-host copies per micro-batch of the
# profiled 1-GPU steps come from (bench/results/runtime/zero1_trace_S15/; on CPU ranks no site runs per
# micro-batch: bench/results/runtime/sync_sites_cpu/). Step 3 of two plans, sites by caller.
source bench/calls/prefix.sh
prebuild
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
for c in "l27-1g-c78-b4-z1-mb1 29891" "g13-1g-c40-s2048-z3-mb2 29892"; do set -- $c
  MIST_DS_SYNC_STEP=3 MIST_DS_SYNC_OUT=$R/$1.sites.json timeout 120 $RUN --master_port $2 \
    bench/runtime/host_sync_sites.py --plan bench/results/accuracy/$1.plan.json --steps 4 --warmup 2 \
    --hardware h200 > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  pack
done
# The loss section of gpu_bench (session 15 rewrote chunked_compile's kernels; its time rate is the old one:
# bench/runtime/README.md), ~2 min.
timeout 200 python3 bench/runtime/gpu_bench.py --sections loss --budget-s 150 --out $R/gpu_bench_loss.json > $R/gpu_bench_loss.log 2>&1
echo "rc $?" >> $R/gpu_bench_loss.log
pack
