# Session 24, S24-3 (nvidia-h200, 1 GPU; timeout_s 600): issue 10. Batch b17-1gpu-chain, held-out checks of the
# backward's copy chain (cost/stage_time.py copy_chain_s), plans no run had seen. Predicted on h200-1gpu-node
# before the call, with the chain / without it (the model before session 24), s/iter:
#   l13b-1g-c24-s2048-z3-w1-off1-mb2-live-blk  1.461 / 1.303
#   g27-1g-c24-s2048-z3-w1-off1-mb2-live-blk   2.792 / 2.454
#   g13-1g-c24-s2048-z3-w1-off1-mb4-live-blk   1.056 / 0.968
#   l27-1g-c40-s2048-z3-off05-mb2-blk          2.774 / 2.404
# Commit with python bench/accuracy/unpack.py $FILES_AT/r/b17/<bundle>.json.
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
{ echo "[$(job l13b-1g-c24-s2048-z3-w1-off1-mb2-live-blk 5), $(job l27-1g-c40-s2048-z3-off05-mb2-blk 5),"
  echo " $(job g13-1g-c24-s2048-z3-w1-off1-mb4-live-blk 5), $(job g27-1g-c24-s2048-z3-w1-off1-mb2-live-blk 5)]"
} > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/b17 --gpus 1 --budget-s 420 --no-build > $R/b17.log 2>&1
echo "rc $?" >> $R/b17.log
kill %1 2>/dev/null
pack
