# Session 8 (nvidia-h200-x2, <= 5 min of device time left): issue 10's plan-quality winners after AUTO_USES_FASTEST
# became True (the search now costs the fastest kernel set): gpt6.7b's winner moved one layer (stage split 17/15 ->
# 16/16, the Liger loss lightens the last stage), then the next jobs while the budget lasts.
# Unpack: python bench/accuracy/unpack.py $X/pq/accuracy_jobs.json --results bench/results/plan_quality
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --budget-s 190 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
pack
