# Session 25, S25-2 (nvidia-h200, 1 GPU; timeout_s 600): issue 10. Batch b18-1gpu-writeback, held-out checks of the
# node's pageable write-back rate (3.909 GB/s from S24-4 / S25-1's unprofiled optimizer steps, bench/accuracy/
# writeback_rate.py; 2.447 before) on ZeRO-3 optimizer-offload plans no run had seen, then the phases of the two
# ratio-0.5 plans (S25-1: gpt-1.3b's ratio-0.5 micro-batches ran 198 ms against 172 modelled). Predicted on
# h200-1gpu-node before the call, at 3.909 / at 2.447 GB/s, s/iter:
#   g27-1g-c40-s2048-z3-off05-mb2-blk   2.293 / 2.678
#   l13b-1g-c24-s2048-z3-off1-mb2-blk   1.859 / 2.276
#   l13b-1g-c24-s2048-z3-off05-mb2-blk  1.299 / 1.527
#   l27-1g-c40-s2048-z3-off1-mb2-blk    3.510 / 4.335
#   g13-1g-c24-s2048-z3-off1-mb4-blk    1.537 / 1.939
# Commit with python bench/accuracy/unpack.py $FILES_AT/r/b18/<bundle>.json.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
{ echo "[$(job g27-1g-c40-s2048-z3-off05-mb2-blk 5), $(job l13b-1g-c24-s2048-z3-off1-mb2-blk 5),"
  echo " $(job l13b-1g-c24-s2048-z3-off05-mb2-blk 5), $(job l27-1g-c40-s2048-z3-off1-mb2-blk 5),"
  echo " $(job g13-1g-c24-s2048-z3-off1-mb4-blk 5)]"
} > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/b18 --gpus 1 --budget-s 400 --no-build > $R/b18.log 2>&1
echo "rc $?" >> $R/b18.log
phased() {  # NAME PORT LIMIT (as in s25_call_phases.sh)
  MIST_DS_PHASE_OUT=$R/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan $P/$1.plan.json --steps 6 \
    --warmup 2 --report $R/$1/run.json --hardware h200 > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
}
# each phase run only if it ends before the call's 600 s with room to pack ($SECONDS: since the script began)
[ $SECONDS -lt 440 ] && phased l13b-1g-c24-s2048-z3-off05-mb2-blk 29901 70
[ $SECONDS -lt 500 ] && phased g27-1g-c40-s2048-z3-off05-mb2-blk 29902 75
pack
