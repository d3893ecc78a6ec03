# Session 13, call 3 (nvidia-h200, 1 GPU, ~5 min): issue 10/13 diagnostics of two b12 outliers (S13-2).
# (a) g27-1g-c24-s2048-mp-mb2-w1-og1-off1-rc32 reserved 14.85 GB for 7.86 GB allocated (reserved predicted -43.5%):
#     bench/engine/alloc_frag.py's allocator history (pending-free bytes per stream, the snapshot at the peak);
# (b) g13-1g-c16-s2048-mp-mb2-off1 measured 0.679 s/iter, predicted 0.632 (-6.9%, the three gpt-1.3b b12 plans
#     -7..-8%): one profiled step (bench/runtime/traced_train.py, digested by bench/engine/trace_digest.py).
source bench/calls/prefix.sh
clocklog
prebuild
A=bench/results/accuracy
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
timeout 150 $RUN --master_port 29871 bench/engine/alloc_frag.py --out $R/frag --plan $A/g27-1g-c24-s2048-mp-mb2-w1-og1-off1-rc32.plan.json \
  --steps 3 --warmup 1 --report $R/frag/run.json --hardware h200 > $R/frag.log 2>&1; echo "rc $?" >> $R/frag.log
pack
MIST_DS_TRACE_DIR=$R/trace MIST_DS_TRACE_STEP=4 MIST_DS_TRACE_NAME=g13-mp-off1 timeout 120 $RUN --master_port 29872 \
  bench/runtime/traced_train.py --plan $A/g13-1g-c16-s2048-mp-mb2-off1.plan.json --steps 6 --warmup 2 --report $R/trace/run.json \
  --hardware h200 > $R/trace.log 2>&1; echo "rc $?" >> $R/trace.log
for t in $R/trace/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/trace.log 2>&1; rm -f "$t"; done
kill %1 2>/dev/null
pack
