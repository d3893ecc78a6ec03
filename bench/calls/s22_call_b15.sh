# Session 22, call 2 (nvidia-h200, 1 GPU, ~9 min; timeout_s 590): issue 10. Batch b15-1gpu-block: the 1-GPU ZeRO-3
# suite plans with Plan.zero3_fetch_unit = 'block' (each transformer block one ZeRO-3 fetch unit), so the cost
# model's block-fetch host path has runs to be fitted and checked on. Weight- and optimizer-offload plans first
# (their module-fetch twins miss by -15%), the host-bound ones S22-1 measured last. Commit with
# python bench/accuracy/unpack.py $FILES_AT/r/b15/<bundle>.json (suite runs beside their plans).
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
{ echo "[$(job l27-1g-c24-s2048-z3-w1-off1-mb2-live-blk 5), $(job g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk 5),"
  echo " $(job g13-1g-c24-s2048-z3-off1-mb2-blk 5), $(job g13-1g-c24-s2048-z3-off05-mb2-blk 5),"
  echo " $(job g13-1g-c40-s2048-z3-mb2-blk 6), $(job g27-1g-c78-s2048-z3-mb4-rc24-blk 6),"
  echo " $(job g13-1g-c40-s2048-z3-mb4-rc24-blk 6), $(job l13b-1g-c40-s2048-z3-mb4-rc24-blk 6),"
  echo " $(job l27-1g-c78-b4-z3-mb2-rc16-blk 6)]"; } > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/b15 --gpus 1 --budget-s 460 --no-build > $R/b15.log 2>&1
echo "rc $?" >> $R/b15.log
kill %1 2>/dev/null
pack
