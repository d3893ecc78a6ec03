# Session 10, call 1 (nvidia-h200, 1 GPU; only the 1-GPU kind lent). Issue 13: (a) the S9-5 plan
# (bench/results/engine/l27_1g_actq/, 1-GPU llama-2.7b mistpipe, 6 offloaded blocks, 18 GiB cap, predicted 2.916,
# measured 2.624 s/iter) again with a profiled step, to see what the model over-prices (the gpu_swap step is the
# suspect); (b) llama-2.7b on 1 GPU at a 16 GiB cap, global batch 16: the stock and mistpipe winners in one call
# (predicted 4.03 vs 4.11 s/iter: new 1-GPU points of both families for the accuracy suite); (c) the S9-5 plan with
# the d2h bound off (alloc_frag.py --d2h-queue-blocks 0), same call as (a), for the bound's time cost.
# Clocks logged throughout ($R/clocks.csv). Unpack: see bench/calls/README.md.
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/engine/l27_1g_actq/mistpipe_act6_q4.plan.json
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
echo "trace start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
MIST_DS_TRACE_DIR=$R/trace MIST_DS_TRACE_STEP=3 MIST_DS_TRACE_NAME=l27-actq timeout 110 $RUN --master_port 29871 \
  bench/runtime/traced_train.py --plan $P --steps 4 --warmup 2 --report $R/trace/run.json --hardware h200 \
  > $R/trace.log 2>&1; echo "rc $?" >> $R/trace.log
echo "trace end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
for t in $R/trace/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/trace.log 2>&1; rm -f "$t"; done
pack
echo "compare start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
timeout 250 python3 bench/engine/executor_compare.py --out $R/l27_1g_c16 --model llama-2.7b --gpus 1 --global-batch 16 \
  --seq-len 4096 --memory-gb 16 --hardware h200 --steps 4 --warmup 1 --timeout-s 120 > $R/compare.log 2>&1
echo "compare end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
pack
echo "q0 start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
timeout 100 $RUN --master_port 29872 bench/engine/alloc_frag.py --out $R/frag_q0 --d2h-queue-blocks 0 --plan $P \
  --steps 4 --warmup 2 --report $R/frag_q0/run.json --hardware h200 > $R/frag_q0.log 2>&1; echo "rc $?" >> $R/frag_q0.log
echo "q0 end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
pack
