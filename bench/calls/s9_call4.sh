# Session 9, call 4 (nvidia-h200, 1 GPU; 2-GPU kinds no longer lent): FUSED_CREDIT.md "Session 9" asks whether the
# GEMMs/attention run 2-12% slower beside the compiled kernels because of SM clocks or power. The llama2.7b-1g
# plan-quality winner runs four times, fastest / eager / fastest / eager (AUTO_USES_FASTEST flipped between runs),
# with nvidia-smi logging SM clock, power and throttle reasons every 200 ms ($R/clocks.csv); each run's log
# carries its wall-clock start so the clock samples split by run.
# Unpack: bench/runtime/clocks.py $X/r (table per run); RunReports from $X/r/<label>/accuracy_*.json.
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json
echo "[{\"name\": \"llama2.7b-1g-c78-s4096-b16\", \"plan\": \"$P\"}]" > /tmp/l27.json
one() {  # label setting
  sed -i "s/^AUTO_USES_FASTEST = .*/AUTO_USES_FASTEST = $2/" mist_ds/config/kernel_picks.py
  echo "$1 start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
  python3 bench/accuracy/run_batch.py --jobs /tmp/l27.json --out $R/$1 --budget-s 110 --no-build > $R/$1.log 2>&1
  echo "$1 end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
}
one fastest-a True
one eager-a False
one fastest-b True
one eager-b False
sed -i "s/^AUTO_USES_FASTEST = .*/AUTO_USES_FASTEST = True/" mist_ds/config/kernel_picks.py
pack
