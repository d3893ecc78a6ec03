# Session 20, call 3 (nvidia-h200, 1 GPU, ~9 min; timeout_s 595): issue 10. Call 1 (s20_call_kernels_host.sh) again
# with 6 timed steps a run instead of 2-3 (call 1: the core speed moved the runs more than the kernels did).
# Question, as call 1: do the fused kernels shorten a host-bound ZeRO-3 step? The model says yes, by a lot: it prices the host path of a ZeRO-3 block pass per kernel
# launch (config/hardware.py host_launch_overhead_s), and the fused set issues ~35% fewer launches, so
# l27-1g-c78-b4-z3-mb2-rc16 is predicted 1.238 s/iter eager and 0.819 fused (l13b-1g-c40-s2048-z3-mb4-rc24:
# 1.052 / 0.688). Measured so far only in different calls (eager 1.108 / 1.111 on 11-30, fused 1.036 on 12-01).
# Here both sets alternate in one call (kernel_picks.AUTO_USES_FASTEST flipped between batches, as
# s7_call_1g_trace.sh did): eager, fused, eager, fused, each batch both plans. Commit with
# python bench/accuracy/repeats.py add $FILES_AT/r/<batch>/bundle.json S20-3-<batch>.
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
KP=mist_ds/config/kernel_picks.py
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
batch() {  # batch LABEL FASTEST(True|False) BUDGET
  sed -i "s/^AUTO_USES_FASTEST = .*/AUTO_USES_FASTEST = $2/" $KP
  { echo "[$(job l27-1g-c78-b4-z3-mb2-rc16 8), $(job l13b-1g-c40-s2048-z3-mb4-rc24 8)]"; } > $R/jobs-$1.json
  python3 bench/accuracy/run_batch.py --jobs $R/jobs-$1.json --out $R/$1 --gpus 1 --budget-s $3 --no-build > $R/$1.log 2>&1
  echo "rc $?" >> $R/$1.log
}
batch eager-a False 120
batch fused-a True 135
batch eager-b False 120
batch fused-b True 135
sed -i "s/^AUTO_USES_FASTEST = .*/AUTO_USES_FASTEST = True/" $KP
kill %1 2>/dev/null
pack
