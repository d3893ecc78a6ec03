# Session 21, call 2 (nvidia-h200, 1 GPU, ~9 min; timeout_s 590): the rest of llama2.7b-1g-c24-s4096-b16's baseline
# grid after S21-1 (which ran mist_ds's winner at 3.081 s/iter, predicted 3.065, and ZeRO-2 + offload mb 1 / 2 at
# 10.591 / 6.968): ZeRO-2 + offload mb 4 and 8, with mist_ds's winner run again first so that the pair compares
# within one call (S21-1 took 100 s to build the ops and ~120 s a baseline point). ZeRO-3 + offload is call 3's.
# Unpack as s21_call_pq_1g_c24.sh says.
source bench/calls/prefix.sh
prebuild
clocklog
echo '[{"name": "llama2.7b-1g-c24-s4096-b16", "plan": "bench/results/plan_quality/llama2.7b-1g-c24-s4096-b16.plan.json", "steps": 8, "warmup": 2}]' > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/pq --gpus 1 --budget-s 130 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
python3 bench/baseline/grid.py run --workload llama2.7b-1g-c24-s4096-b16 --out $R --budget-s 250 --no-build --steps 4 --warmup 1 --zero-stages 2 --micro-batches 4,8 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
kill %1 2>/dev/null
pack
