# Session 5 call 2 (nvidia-h200-x2, <= 9.5 min): mist_ds's winners for the plan-quality workloads (issue 10), the
# plans still to run in bench/results/plan_quality/jobs.json (`python bench/plan_quality.py plans --refresh`).
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --budget-s 480 > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
pack
