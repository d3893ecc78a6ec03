# Session 10, call 2 (nvidia-h200, 1 GPU). Issue 13: (a) the S9-5 plan's profiled step again (call 1's run ran out
# of its 110 s while the profiler wrote the trace: 170 s now, trace at step 3 of 4); (b) llama-2.7b on 1 GPU at a
# 24 GiB cap, global batch 16: stock vs mistpipe winners in one call (predicted 3.55 vs 3.72 s/iter; call 1 measured
# mistpipe 1.14x at 16 GiB where the model said 0.98x). Clocks logged. Unpack: bench/calls/README.md.
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/engine/l27_1g_actq/mistpipe_act6_q4.plan.json
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
echo "trace start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
MIST_DS_TRACE_DIR=$R/trace MIST_DS_TRACE_STEP=3 MIST_DS_TRACE_NAME=l27-actq timeout 170 $RUN --master_port 29873 \
  bench/runtime/traced_train.py --plan $P --steps 4 --warmup 2 --report $R/trace/run.json --hardware h200 \
  > $R/trace.log 2>&1; echo "rc $?" >> $R/trace.log
echo "trace end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
for t in $R/trace/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/trace.log 2>&1; rm -f "$t"; done
ls -la $R/trace >> $R/trace.log
pack
echo "compare start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
timeout 230 python3 bench/engine/executor_compare.py --out $R/l27_1g_c24 --model llama-2.7b --gpus 1 --global-batch 16 \
  --seq-len 4096 --memory-gb 24 --hardware h200 --steps 4 --warmup 1 --timeout-s 110 > $R/compare.log 2>&1
echo "compare end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
pack
