# Next session, nvidia-h200 (1 GPU, ~6 min; timeout_s 420): issue 10 / plan quality. ZeRO-3's prefetcher keeps up
# to stage3_max_live_parameters (1e9 elements, 1.86 GiB in bf16) gathered into the backward (S17-5,
# bench/results/runtime/zero3_gathered_S17/). What a smaller bound saves in memory and costs in time, on the plan
# that showed it (gpt-1.3b ZeRO-3, weights and optimizer offloaded: its prefetch also hides the host-to-device
# weight copies): 1e9 / 4e8 / 2e8 / 1e9 again (bench/runtime/max_live_train.py). Out of the accuracy suite:
# bench/results/runtime/max_live_S18/.
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy/g13-1g-c24-s2048-z3-w1-off1-mb2.plan.json
job() { echo "{\"name\": \"live$1$2\", \"plan\": \"$P\", \"steps\": 5, \"warmup\": 2, \"train_script\": \"bench/runtime/max_live_train.py\", \"env\": {\"MIST_DS_MAX_LIVE\": \"$1\"}}"; }
echo "[$(job 1000000000), $(job 400000000), $(job 200000000), $(job 1000000000 -again)]" > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/runs --gpus 1 --budget-s 330 --no-build > $R/runs.log 2>&1
echo "rc $?" >> $R/runs.log
kill %1 2>/dev/null
pack
