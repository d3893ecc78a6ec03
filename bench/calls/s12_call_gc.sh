# Session 12, call 1 (nvidia-h200, 1 GPU, ~8 min): issues 10 and 14. Do Python garbage-collection pauses explain the
# 1-GPU ZeRO-3 plans' spread between and within runs (bench/accuracy/ZERO3_DP1.md section 10)? Three host-bound suite
# plans, each under `launch/train.py --gc auto` and `--gc manual` (mist_ds/runtime/host_clock.py), one after another,
# 15 timed steps; every RunReport records each step's collector pause (gc_pause_s) and the host's probe speed.
source bench/calls/prefix.sh
prebuild
lscpu > $R/lscpu.txt
python3 -c "from mist_ds.runtime.host_clock import host_probe_s; print('host_probe_s', host_probe_s())" >> $R/machine.txt 2>&1
A=bench/results/accuracy
job() { echo "{\"name\": \"$1-$2\", \"plan\": \"$A/$3.plan.json\", \"steps\": 17, \"warmup\": 2, \"train_args\": [\"--gc\", \"$2\"]}"; }
{ echo "["; for p in l13b-1g-c40-s2048-z3-mb4-rc24 g13-1g-c40-s2048-z3-mb2 g27-1g-c78-s2048-z3-mb4-rc24; do
    job $p auto $p; echo ","; job $p manual $p; [ $p = g27-1g-c78-s2048-z3-mb4-rc24 ] || echo ","; done; echo "]"; } > $R/gc_jobs.json
clocklog
python3 bench/accuracy/run_batch.py --jobs $R/gc_jobs.json --out $R/gc --gpus 1 --budget-s 470 --no-build > $R/gc.log 2>&1
echo "rc $?" >> $R/gc.log
kill %1 2>/dev/null
pack
