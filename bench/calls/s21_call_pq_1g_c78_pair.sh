# Session 21, call 5 (nvidia-h200, 1 GPU, ~3.5 min; timeout_s 220): llama2.7b-1g-c78-s4096-b16's plan-quality pair in
# one call. Its committed pair ran in different calls: mist_ds's winner (ZeRO-0 mb 2, 2.471 s/iter, 2026-11-30)
# and the baseline grid's best (ZeRO-2 mb 2 without checkpointing, 3.210 s/iter, 2026-12-01): 1.30x. Here both run
# again, the winner first. Only FusedAdam is built (neither run offloads). The baseline point runs against an empty
# results folder so that the grid does not skip it as done; it is a repeat (bench/results/baseline/repeats/).
source bench/calls/prefix.sh
timeout 150 python3 -c "from deepspeed.ops.op_builder import FusedAdamBuilder; FusedAdamBuilder().load()" > $R/build.log 2>&1
echo '[{"name": "llama2.7b-1g-c78-s4096-b16", "plan": "bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json", "steps": 6, "warmup": 2}]' > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/pq --gpus 1 --budget-s 80 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
mkdir -p /tmp/none
python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R --budget-s 100 --no-build --steps 4 --warmup 1 --zero-stages 2 --micro-batches 2 --checkpointing off --results /tmp/none > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
