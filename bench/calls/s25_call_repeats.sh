# Session 25, S25-3 (nvidia-h200, 1 GPU; timeout_s 560, the session's last ~700 s of device time): issue 10.
# Repeats of the seven 1-GPU ZeRO-3 optimizer-offload block plans without weight offload (b15's two gpt-1.3b plans,
# b18's five) in one call: are the ratio-0.5 plans of the 1.3B models short by 10-12% (g13 -12.5%, l13b -10.4% after
# session 25) every time, or was it their calls? Predicted on h200-1gpu-node (session 25), s/iter:
#   g13-1g-c24-s2048-z3-off05-mb2-blk 1.248, g13-1g-c24-s2048-z3-off1-mb2-blk 1.889,
#   l13b-1g-c24-s2048-z3-off05-mb2-blk 1.313, l13b-1g-c24-s2048-z3-off1-mb2-blk 1.871,
#   g27-1g-c40-s2048-z3-off05-mb2-blk 2.321, l27-1g-c40-s2048-z3-off1-mb2-blk 3.534, g13-1g-c24-s2048-z3-off1-mb4-blk 1.549
# Commit with python bench/accuracy/repeats.py add $FILES_AT/r/rep/<bundle>.json S25-3.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
{ echo "[$(job g13-1g-c24-s2048-z3-off05-mb2-blk 4), $(job l13b-1g-c24-s2048-z3-off05-mb2-blk 4),"
  echo " $(job g13-1g-c24-s2048-z3-off1-mb2-blk 4), $(job l13b-1g-c24-s2048-z3-off1-mb2-blk 4),"
  echo " $(job g27-1g-c40-s2048-z3-off05-mb2-blk 4), $(job g13-1g-c24-s2048-z3-off1-mb4-blk 4),"
  echo " $(job l27-1g-c40-s2048-z3-off1-mb2-blk 4)]"
} > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/rep --gpus 1 --budget-s 400 --no-build > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
pack
