# Session 22, call 3 (nvidia-h200, 1 GPU, ~5 min; timeout_s 300): issue 10. A held-out check of the 1-GPU node's
# ZeRO-3 host terms refitted in session 22 on blocks fetched whole (zero3_fetch_overhead_s 0.285 ms,
# zero3_param_overhead_s 0.131 ms, host_launch_overhead_s 0). Predicted before this call on h200-1gpu-node:
# l27-1g-c78-b4-z3-mb2-rc16-blk 0.761 s/iter (never run; not in the fit), and, as repeats of fitted plans (how far
# a block-fetch plan moves between calls): l13b-1g-c40-s2048-z3-mb4-rc24-blk 0.418, g13-1g-c40-s2048-z3-mb2-blk
# 0.628, g27-1g-c78-s2048-z3-mb4-rc24-blk 0.789, g13-1g-c24-s2048-z3-off1-mb2-blk 2.187,
# g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk 1.323 (peak 8.76 GiB). Commit with
# python bench/accuracy/unpack.py $FILES_AT/r/new/<bundle>.json and
# python bench/accuracy/repeats.py add $FILES_AT/r/rep/<bundle>.json S22-3.
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
echo "[$(job l27-1g-c78-b4-z3-mb2-rc16-blk 6)]" > $R/jobs-new.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs-new.json --out $R/new --gpus 1 --budget-s 70 --no-build > $R/new.log 2>&1
echo "rc $?" >> $R/new.log
# (the offload plans' repeats did not fit the session's device time left: dropped before the call)
# (nor did g27's: dropped too)
echo "[$(job l13b-1g-c40-s2048-z3-mb4-rc24-blk 6), $(job g13-1g-c40-s2048-z3-mb2-blk 6)]" > $R/jobs-rep.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs-rep.json --out $R/rep --gpus 1 --budget-s 100 --no-build > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
kill %1 2>/dev/null
pack
