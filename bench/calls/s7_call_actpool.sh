# Session 7, issue 13 (nvidia-h200-x2, timeouts sum to 545 s): the llama-7b 24 GiB mistpipe plan at grad accum 8
# (bench/results/engine/l7c24_ga8/) after the activation reload pool (actoffload.py ReloadPool: two slabs per stage,
# no per-reload allocation; byte-span copies, no device temporary in the d2h path). S6-2 measured 3.29 s/iter
# uncapped (reserved 43.2 / 32.7 GB for 21.6 / 24.0 GB allocated) and 4.4-5.5 s capped (alloc_retries 22 / 3).
# 1. capped, 2. uncapped through launch/train.py (RunReport: alloc_retries, peak reserved); 3. capped under
# bench/engine/alloc_frag.py (allocator history: pending-free bytes per stream = blocks a side stream still used,
# record_stream, vs free holes); 4. the same with the opt-in bounded d2h queue (engine d2h_queue_bytes = 2 GiB: the
# offloader holds forward sources itself, the compute stream waits beyond 2 GiB). No prebuild: this plan's engine
# uses torch's AdamW and the gpu_swap path, no DeepSpeed op.
source bench/calls/prefix.sh
P=bench/results/engine/l7c24_ga8/mistpipe_ga8.plan.json
NOCAP=bench/results/engine/l7c24_ga8/mistpipe_ga8_nocap.plan.json
RUN="python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1"
timeout 170 $RUN --master_port 29841 launch/train.py --plan $P --steps 4 --warmup 1 \
  --report $R/l7c24_ga8_pool/run.json --hardware h200 > $R/l7c24_ga8_pool.log 2>&1; echo "rc $?" >> $R/l7c24_ga8_pool.log
pack
timeout 110 $RUN --master_port 29842 launch/train.py --plan $NOCAP --steps 4 --warmup 1 \
  --report $R/l7c24_ga8_pool_nocap/run.json --hardware h200 > $R/l7c24_ga8_pool_nocap.log 2>&1; echo "rc $?" >> $R/l7c24_ga8_pool_nocap.log
pack
timeout 140 $RUN --master_port 29843 bench/engine/alloc_frag.py --out $R/frag_pool --plan $P --steps 3 --warmup 1 \
  --report $R/frag_pool/run.json --hardware h200 > $R/frag_pool.log 2>&1; echo "rc $?" >> $R/frag_pool.log
pack
timeout 125 $RUN --master_port 29844 bench/engine/alloc_frag.py --out $R/frag_queue2g --d2h-queue-gib 2 --plan $P \
  --steps 3 --warmup 1 --report $R/frag_queue2g/run.json --hardware h200 > $R/frag_queue2g.log 2>&1; echo "rc $?" >> $R/frag_queue2g.log
pack
