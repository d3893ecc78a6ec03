# Session 12, call 2 (nvidia-h200, 1 GPU, ~8 min): issues 10 and 14. S12-1 found the 1-GPU ZeRO-3 plans' step spread
# is not Python GC (one 0.42 s full collection in 45 auto steps; manual runs spread as much): does the hypervisor take
# the host's cores (RunReport.host_steal_s, now recorded per step)? g13 under both GC modes and g27 under manual, 15
# timed steps each. Then the 1-GPU baseline grid's two untried points (ZeRO-3 + checkpointing, mb 4 and 8).
source bench/calls/prefix.sh
prebuild
python3 -c "from mist_ds.runtime.host_clock import host_probe_s; print('host_probe_s', host_probe_s())" >> $R/machine.txt 2>&1
A=bench/results/accuracy
job() { echo "{\"name\": \"$1-$2-S12-2\", \"plan\": \"$A/$1.plan.json\", \"steps\": 17, \"warmup\": 2, \"train_args\": [\"--gc\", \"$2\"]}"; }
{ echo "["; job g13-1g-c40-s2048-z3-mb2 auto; echo ","; job g13-1g-c40-s2048-z3-mb2 manual; echo ",";
  job g27-1g-c78-s2048-z3-mb4-rc24 manual; echo "]"; } > $R/steal_jobs.json
clocklog
python3 bench/accuracy/run_batch.py --jobs $R/steal_jobs.json --out $R/steal --gpus 1 --budget-s 230 --no-build > $R/steal.log 2>&1
echo "rc $?" >> $R/steal.log
pack
timeout 230 python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R/grid --budget-s 215 \
  --zero-stages 3 --micro-batches 4,8 --checkpointing on --steps 4 --warmup 1 --no-build > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
kill %1 2>/dev/null
pack
