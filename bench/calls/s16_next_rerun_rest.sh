# Next session, nvidia-h200 (1 GPU, ~4 min; timeout_s 300): issue 10. The two pre-kernel 1-GPU suite plans that
# did not fit S16-3's budget (bench/calls/s16_call_rerun_1g.sh a), re-run under the current runtime as repeats:
# python bench/accuracy/repeats.py add $FILES_AT/r/rerun/accuracy_jobs.json S17-<call>, then make accuracy and
# add their rows to bench/accuracy/HOST_JITTER.md's session 16 table.
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
cat > $R/jobs.json <<JOBS
[{"name": "g13-1g-c24-s2048-z3-off05-mb2", "plan": "$P/g13-1g-c24-s2048-z3-off05-mb2.plan.json", "steps": 5, "warmup": 2},
 {"name": "g13-1g-c24-s2048-z3-off1-mb2", "plan": "$P/g13-1g-c24-s2048-z3-off1-mb2.plan.json", "steps": 5, "warmup": 2}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/rerun --gpus 1 --budget-s 200 --no-build > $R/rerun.log 2>&1
echo "rc $?" >> $R/rerun.log
kill %1 2>/dev/null
pack
