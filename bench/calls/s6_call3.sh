# Session 6 call 3 (nvidia-h200-x2, <= 10 min): issue 13 - why the llama-7b 24 GiB mistpipe plan runs 12.70 s where
# the model says 8.08 (S5-3): the same plan at global batch 8 (grad accum 8, so the trace stays small;
# bench/results/engine/l7c24_ga8/), untraced, then without the cap, then with a profiled step. Then issue 10's two plan-quality winners
# not yet run, then issue 14's fastest-kernel ZeRO-1 parity pair (cut first).
source bench/calls/prefix.sh
prebuild
P=bench/results/engine/l7c24_ga8/mistpipe_ga8.plan.json
timeout 120 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29831 \
  launch/train.py --plan $P --steps 4 --warmup 1 --report $R/l7c24_ga8/run.json --hardware h200 > $R/l7c24_ga8.log 2>&1; echo "rc $?" >> $R/l7c24_ga8.log
pack
# the same plan without the 24 GiB cap (predicted 3.36 s): near its prediction means the cap (allocator retries:
# RunReport.alloc_retries) is what the capped run loses; as slow as the capped run means the copies themselves
timeout 100 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29833 \
  launch/train.py --plan bench/results/engine/l7c24_ga8/mistpipe_ga8_nocap.plan.json --steps 4 --warmup 1 \
  --report $R/l7c24_ga8_nocap/run.json --hardware h200 > $R/l7c24_ga8_nocap.log 2>&1; echo "rc $?" >> $R/l7c24_ga8_nocap.log
pack
MIST_DS_TRACE_DIR=$R/l7c24_ga8_trace MIST_DS_TRACE_STEP=2 MIST_DS_TRACE_NAME=l7c24-ga8 timeout 170 python3 -m deepspeed.launcher.runner \
  --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29832 bench/runtime/traced_train.py \
  --plan $P --steps 3 --warmup 1 --report $R/l7c24_ga8_trace/run.json --hardware h200 > $R/l7c24_ga8_trace.log 2>&1; echo "rc $?" >> $R/l7c24_ga8_trace.log
for t in $R/l7c24_ga8_trace/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/l7c24_ga8_trace.log 2>&1; done
pack
python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --budget-s 200 > $R/pq.log 2>&1; echo "rc $?" >> $R/pq.log
pack
sed -i 's/^AUTO_USES_FASTEST = False/AUTO_USES_FASTEST = True/' mist_ds/config/kernel_picks.py
python3 bench/runtime/parity.py run --out $R/parity --budget-s 110 --configs zero1 --trace --no-build > $R/parity.log 2>&1
pack
