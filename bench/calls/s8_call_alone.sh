# Next session (nvidia-h200-x2, ~9 min): issue 10. bench/accuracy/ZERO3_DP1.md section 8: the 1-GPU accuracy runs
# were measured two at a time on a 2-GPU host; run alone (S7-2, 1-GPU host) two of them took 0.82 s/iter where the
# suite has 0.95 and 1.09. 1. the five 1-GPU ZeRO-3 plans and a GPU-bound ZeRO-2 control alone (--gpus 1 runs them
# one after another), 2. the same list two at a time as the suite ran it. Then the 1-GPU host alone (same list,
# kind nvidia-h200, `--out $R/alone1`) sizes the machines. Unpack each bundle into a folder of its own; the alone
# runs replace the paired ones as the suite's measurements only after both calls are in.
source bench/calls/prefix.sh
prebuild
lscpu > $R/lscpu.txt
cat > /tmp/z3dp1.json <<'J'
[{"name": "g27-1g-c78-s2048-z3-mb4-rc24", "plan": "bench/results/accuracy/g27-1g-c78-s2048-z3-mb4-rc24.plan.json"},
 {"name": "g13-1g-c40-s2048-z3-mb2", "plan": "bench/results/accuracy/g13-1g-c40-s2048-z3-mb2.plan.json"},
 {"name": "g13-1g-c40-s2048-z3-mb4-rc24", "plan": "bench/results/accuracy/g13-1g-c40-s2048-z3-mb4-rc24.plan.json"},
 {"name": "l13b-1g-c40-s2048-z3-mb4-rc24", "plan": "bench/results/accuracy/l13b-1g-c40-s2048-z3-mb4-rc24.plan.json"},
 {"name": "l27-1g-c78-b4-z3-mb2-rc16", "plan": "bench/results/accuracy/l27-1g-c78-b4-z3-mb2-rc16.plan.json"},
 {"name": "g27-1g-c78-s2048-z2-mb4-rc0", "plan": "bench/results/accuracy/g27-1g-c78-s2048-z2-mb4-rc0.plan.json"}]
J
python3 bench/accuracy/run_batch.py --jobs /tmp/z3dp1.json --out $R/alone --gpus 1 --budget-s 270 --no-build > $R/alone.log 2>&1
echo "rc $?" >> $R/alone.log
pack
python3 bench/accuracy/run_batch.py --jobs /tmp/z3dp1.json --out $R/paired --budget-s 200 --no-build > $R/paired.log 2>&1
echo "rc $?" >> $R/paired.log
pack
