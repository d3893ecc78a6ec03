# Session 20, call 4 (nvidia-h200, 1 GPU, ~6 min; timeout_s 420): issue 10. A held-out check of the 1-GPU node's
# ZeRO-3 host terms refitted in session 20 (host_launch_overhead_s, zero3_param_overhead_s on 25 S12/S20 runs):
# plans none of those runs ran, predicted before this call on h200-1gpu-node with the default kernels:
# g13-1g-c40-s2048-z3-mb4-rc24 0.821 s/iter, g13-1g-c24-s2048-z3-w1-off1-mb2 1.711,
# l27-1g-c24-s2048-z3-w1-off1-mb2-live 2.645, the parity plan zero3-rc-l27-1g-S17 1.770.
# Commit the suite plans with python bench/accuracy/repeats.py add $FILES_AT/r/heldout/<bundle>.json S20-4.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$2\", \"steps\": $3, \"warmup\": 2}"; }
{ echo "[$(job g13-1g-c40-s2048-z3-mb4-rc24 $P/g13-1g-c40-s2048-z3-mb4-rc24.plan.json 8),"
  echo " $(job zero3-rc-l27-1g-S17 bench/results/runtime/parity/zero3-rc-l27-1g-S17.plan.json 7),"
  echo " $(job g13-1g-c24-s2048-z3-w1-off1-mb2 $P/g13-1g-c24-s2048-z3-w1-off1-mb2.plan.json 7),"
  echo " $(job l27-1g-c24-s2048-z3-w1-off1-mb2-live $P/l27-1g-c24-s2048-z3-w1-off1-mb2-live.plan.json 6)]"; } > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/heldout --gpus 1 --budget-s 300 --no-build > $R/heldout.log 2>&1
echo "rc $?" >> $R/heldout.log
pack
