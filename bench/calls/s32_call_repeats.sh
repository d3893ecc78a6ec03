# Session 32, S32-3 (nvidia-h200, 1 GPU; timeout_s 480, the session's last device time): issue 10. Repeats, in a
# fresh call, of the three b26/b27 winners furthest from their predictions, with the SM clock logged: is
# auto-g13-1g-c24-s2048-b32's +12.3% (1.392 predicted, 1.240 in S32-2 at a median SM clock of 1725 MHz) the plan's
# or its call's? Predicted on h200-1gpu-node (b58ca08), s/iter: auto-g13-1g-c24-s2048-b32 1.392,
# auto-l13b-1g-c16-s4096-b16 1.624 (S32-1: 1.506, +7.8%), auto-l323b-1g-c78-s8192-b8 2.895 (S32-2: 3.055, -5.2%).
# Commit with python bench/accuracy/repeats.py add $FILES_AT/r/rep/<bundle>.json S32-3; clocks with
# bench/runtime/clocks.py (runs.txt from the run reports' times).
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
echo "[$(job auto-g13-1g-c24-s2048-b32 5), $(job auto-l13b-1g-c16-s4096-b16 5), $(job auto-l323b-1g-c78-s8192-b8 4)]" > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/rep --gpus 1 --budget-s $((440 - SECONDS)) --no-build > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
kill $(jobs -p) 2>/dev/null; pack
