# Session 18, call 4 (nvidia-h200, 1 GPU, ~8 min; timeout_s 560): issue 10. Accuracy batch b13-1gpu-live: the two
# 1-GPU ZeRO-3 weight-offload plans with stage3_max_live_parameters bounded to the reuse set (Plan.zero3_max_live
# = 'reuse_set', what the search now writes), then their DeepSpeed-default twins again in the same call
# (repeats), so the bound's memory and time compare within one machine call.
source bench/calls/prefix.sh
prebuild
clocklog
python3 bench/accuracy/run_batch.py --batch b13-1gpu-live --out $R/b13 --budget-s 260 --no-build > $R/b13.log 2>&1
echo "rc $?" >> $R/b13.log
pack
P=bench/results/accuracy
echo "[{\"name\": \"g13-1g-c24-s2048-z3-w1-off1-mb2\", \"plan\": \"$P/g13-1g-c24-s2048-z3-w1-off1-mb2.plan.json\"}, {\"name\": \"l27-1g-c24-s2048-z3-w1-off1-mb2\", \"plan\": \"$P/l27-1g-c24-s2048-z3-w1-off1-mb2.plan.json\"}]" > $R/twins.json
python3 bench/accuracy/run_batch.py --jobs $R/twins.json --out $R/twins --gpus 1 --budget-s 210 --no-build > $R/twins.log 2>&1
echo "rc $?" >> $R/twins.log
kill %1 2>/dev/null
pack
