# Session 7, call 1 (nvidia-h200: only the 1-GPU kind was lent at the session's start), issue 14 with 10:
# the fastest kernel set (kernel_picks.AUTO_USES_FASTEST, flipped here only) measured in situ on one GPU.
# 1. the llama2.7b-1g plan-quality winner (ZeRO-0, mb 2, ga 8; committed 2.886 s/iter, predicted 2.83) again with
#    the default kernels, and 2. the baseline grid's best point (HF + DeepSpeed ZeRO-0 mb 1, committed 3.301 s),
#    so speedups compare within this call; 3. the traced ZeRO-1 parity pair at 1 GPU (llama-2.7b, seq 4096,
#    global batch 8) with the fastest kernels: the traced '-fastest' step bench/accuracy/FUSED_CREDIT.md asks for
#    (compiled kernels' in-situ time, idle GPU between them); 4. the winner with the fastest kernels.
# Timeouts sum to 580 s (prebuild 200 included; it takes ~80).
source bench/calls/prefix.sh
prebuild
cat > /tmp/pq_l27.json <<'J'
[{"name": "llama2.7b-1g-c78-s4096-b16", "plan": "bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json"}]
J
timeout 80 python3 bench/accuracy/run_batch.py --jobs /tmp/pq_l27.json --out $R/pq_eager --budget-s 75 --no-build > $R/pq_eager.log 2>&1
echo "rc $?" >> $R/pq_eager.log
pack
mkdir -p /tmp/noresults
timeout 90 python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --results /tmp/noresults --out $R/base \
  --zero-stages 0 --micro-batches 1 --checkpointing off --budget-s 85 --no-build --steps 5 --warmup 2 > $R/base.log 2>&1
echo "rc $?" >> $R/base.log
pack
sed -i 's/^AUTO_USES_FASTEST = False/AUTO_USES_FASTEST = True/' mist_ds/config/kernel_picks.py
grep -n '^AUTO_USES_FASTEST' mist_ds/config/kernel_picks.py > $R/fastest_flag.txt
timeout 120 python3 bench/runtime/parity.py run --out $R/parity --budget-s 110 --configs zero1 --trace --no-build \
  --model llama-2.7b --num-gpus 1 --seq-len 4096 --global-batch 8 > $R/parity.log 2>&1
echo "rc $?" >> $R/parity.log
pack
timeout 90 python3 bench/accuracy/run_batch.py --jobs /tmp/pq_l27.json --out $R/pq_fastest --budget-s 85 --no-build > $R/pq_fastest.log 2>&1
echo "rc $?" >> $R/pq_fastest.log
pack
