# Next session, nvidia-h200-x2 (2 GPUs, ~9 min; timeout_s 600): issue 10 / plan safety. ZeRO-3 with
# stage3_max_live_parameters bounded to the reuse set (Plan.zero3_max_live = 'reuse_set', which the search now
# writes for every stock-DeepSpeed ZeRO-3 plan) where it all-gathers (dp 2): batch b14-2gpu-live, then the
# DeepSpeed-default twins in the same call (repeats: `python bench/accuracy/repeats.py add ... S19-x`). Measured so
# far only at dp 1 (bench/results/runtime/max_live_S18/: 0.8 GiB less, no slower); at dp 2 the backward's first
# fetches after the reuse set are no longer prefetched during the forward.
source bench/calls/prefix.sh
prebuild
clocklog
python3 bench/accuracy/run_batch.py --batch b14-2gpu-live --out $R/b14 --budget-s 250 --no-build > $R/b14.log 2>&1
echo "rc $?" >> $R/b14.log
pack
P=bench/results/accuracy
echo "[{\"name\": \"l7-2g-c78-z3-mb2-rc32\", \"plan\": \"$P/l7-2g-c78-z3-mb2-rc32.plan.json\"}, {\"name\": \"l7-2g-c24-s2048-b4-z3-w1-off1-rc32\", \"plan\": \"$P/l7-2g-c24-s2048-b4-z3-w1-off1-rc32.plan.json\"}]" > $R/twins.json
python3 bench/accuracy/run_batch.py --jobs $R/twins.json --out $R/twins --gpus 2 --budget-s 240 --no-build > $R/twins.log 2>&1
echo "rc $?" >> $R/twins.log
kill %1 2>/dev/null
pack
