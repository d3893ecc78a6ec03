# Next session, nvidia-h200-x2 (2 GPUs, ~7 min; timeout_s 480): issue 10. Whole-block ZeRO-3 fetching at dp 2
# (Plan.zero3_fetch_unit = 'block'), which the search writes only where nothing is gathered until this is measured
# (config/plan.py gathers_nothing): batch b16-2gpu-block, then its per-submodule twin l27-2g-c40-z3-mb2-rc16 in
# the same call (a repeat: `python bench/accuracy/repeats.py add ... S23-x`). If block fetching is faster there
# and its peak is as predicted (the larger reuse set of cost/memory.py reuse_set_elements), lift the restriction.
source bench/calls/prefix.sh
prebuild
clocklog
python3 bench/accuracy/run_batch.py --batch b16-2gpu-block --out $R/b16 --budget-s 220 --no-build > $R/b16.log 2>&1
echo "rc $?" >> $R/b16.log
pack
P=bench/results/accuracy
echo "[{\"name\": \"l27-2g-c40-z3-mb2-rc16\", \"plan\": \"$P/l27-2g-c40-z3-mb2-rc16.plan.json\"}]" > $R/twins.json
python3 bench/accuracy/run_batch.py --jobs $R/twins.json --out $R/twins --gpus 2 --budget-s 120 --no-build > $R/twins.log 2>&1
echo "rc $?" >> $R/twins.log
kill %1 2>/dev/null
pack
