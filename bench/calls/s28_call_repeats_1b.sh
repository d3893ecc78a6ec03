# Session 28, S28-3 (nvidia-h200, 1 GPU; timeout_s 480, the session's last device time): issue 10.
# The Llama 3.2 1B 40 GiB workload's seven plans, first measured in two calls (S26-2 06:49 UTC, S27-2 09:33 UTC),
# now all in one call: is its rank correlation of 0.89 (three plans within 3.7% of each other swap order) the
# model's or the two calls'? Predicted on h200-1gpu-node (session 28, after the attention samples and the open
# reduce bucket), s/iter: z3-mb8-rc16-blk 1.304, z1-mb4-rc16 1.332, z3-mb4-rc16-blk 1.349, z1-mb1 1.248,
# z2-mb2 1.147, auto (ZeRO-0 mb2) 1.123, z3-off0125-mb2-rc15-blk 1.694.
# Commit with python bench/accuracy/repeats.py add $FILES_AT/r/rep/<bundle>.json S28-3.
source bench/calls/prefix.sh
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": 4, \"warmup\": 2}"; }
L=l321b-1g-c40-s4096-b16
{ echo "[$(job $L-z3-mb8-rc16-blk), $(job $L-z1-mb4-rc16), $(job $L-z3-mb4-rc16-blk), $(job $L-z1-mb1),"
  echo " $(job $L-z2-mb2), $(job auto-l321b-1g-c40-s4096-b16), $(job $L-z3-off0125-mb2-rc15-blk)]"
} > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/rep --gpus 1 --budget-s $((430 - SECONDS)) > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
pack
