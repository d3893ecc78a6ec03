# Session 6 call 5 (nvidia-h200-x2, <= 9.5 min): issue 10's plan quality. The gpt6.7b baseline grid's checkpointing
# half (S6-1 ran only its no-checkpointing configurations: best z3-mb1-nockpt 9.14 s), ZeRO 1 and 3, micro-batch
# 1-4; then the llama13b winner (the last plan-quality winner not yet run).
source bench/calls/prefix.sh
prebuild
python3 bench/baseline/grid.py run --workload gpt6.7b-2g-c78-s4096-b32 --out $R --budget-s 240 --no-build \
  --zero-stages 1,3 --checkpointing on --micro-batches 1,2,4 > $R/grid_gpt_ckpt.log 2>&1; echo "rc $?" >> $R/grid_gpt_ckpt.log
pack
python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --budget-s 200 --no-build \
  --skip-existing > $R/pq.log 2>&1; echo "rc $?" >> $R/pq.log
pack
